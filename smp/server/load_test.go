package server

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ssms.dev/ssms/signer"
	"ssms.dev/ssms/smp"
)

// loadConn is a lean SMP client over TLS for the load test.
type loadConn struct {
	conn *smp.BlockConn
	r    *bufio.Reader
	priv ed25519.PrivateKey
	key  *smp.PublicKey
	mu   sync.Mutex
}

func dialLoad(tb testing.TB, a smp.Address) *loadConn {
	c, err := tls.Dial("tcp", net.JoinHostPort(a.Host, strconv.Itoa(a.Port)), smp.ClientTLS(a.Fingerprint))
	if err != nil {
		tb.Fatal(err)
	}
	bc := smp.NewBlockConn(c)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	sk, _ := signer.NewPublicKey(pub)
	k, _ := smp.NewKey(sk)
	tb.Cleanup(func() { c.Close() })
	return &loadConn{conn: bc, r: bufio.NewReaderSize(bc, 64<<10), priv: priv, key: k}
}

func (c *loadConn) write(connID []byte, cmd smp.Command, signed bool) error {
	var sign func([]byte) []byte
	if signed {
		sign = func(m []byte) []byte { return ed25519.Sign(c.priv, m) }
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := c.conn.Write(smp.AppendClientTransmission(nil, connID, cmd, sign))
	return err
}

// next reads one server transmission: its command line and binary body.
func (c *loadConn) next() (string, []byte, error) {
	var lines [3]string
	for i := range lines {
		l, err := c.r.ReadString('\n')
		if err != nil {
			return "", nil, err
		}
		lines[i] = strings.TrimSuffix(l, "\n")
	}
	if f := strings.Fields(lines[2]); len(f) == 3 && f[0] == "MSG" && !strings.HasPrefix(f[2], ":") {
		n, _ := strconv.Atoi(f[2])
		body := make([]byte, n+1)
		if _, err := io.ReadFull(c.r, body); err != nil {
			return "", nil, err
		}
		return lines[2], body[:n], nil
	}
	return lines[2], nil, nil
}

// BenchmarkTLSLoad: 100 queue pairs over TLS on loopback, every message
// signed by its sender and acknowledged with a signed ACK (budget:
// ≥ 20,000 messages/s, p99 ≤ 20 ms). Load generator and server share the
// machine's two cores.
func BenchmarkTLSLoad(b *testing.B) {
	a := startTLS(b)
	const pairs = 100
	type pair struct {
		r, s     *loadConn
		rid, sid []byte
	}
	ps := make([]pair, pairs)
	for i := range ps {
		r, s := dialLoad(b, a), dialLoad(b, a)
		r.write(nil, smp.Conn{RecipientKey: r.key}, false)
		line, _, err := r.next()
		f := strings.Fields(line)
		if err != nil || len(f) != 3 {
			b.Fatalf("CONN: %q %v", line, err)
		}
		rid, _ := base64.StdEncoding.DecodeString(f[1])
		sid, _ := base64.StdEncoding.DecodeString(f[2])
		r.write(rid, smp.Key{SenderKey: s.key}, true)
		if l, _, _ := r.next(); l != "OK" {
			b.Fatalf("KEY: %q", l)
		}
		ps[i] = pair{r, s, rid, sid}
	}
	per := max(b.N/pairs, 1)
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for _, p := range ps {
		wg.Add(2)
		go func() { // sender: signed SENDs, each stamped with its send time
			defer wg.Done()
			for range per {
				body := make([]byte, 256)
				binary.BigEndian.PutUint64(body, uint64(time.Now().UnixNano()))
				if p.s.write(p.sid, smp.Send{Body: body, Binary: true}, true) != nil {
					return
				}
				if l, _, err := p.s.next(); err != nil || l != "OK" {
					b.Errorf("SEND: %q %v", l, err)
					return
				}
			}
		}()
		go func() { // recipient: receive, measure, ACK
			defer wg.Done()
			local := make([]time.Duration, 0, per)
			for len(local) < per {
				l, body, err := p.r.next()
				if err != nil {
					b.Error(err)
					return
				}
				if !strings.HasPrefix(l, "MSG") {
					continue // the OK of an ACK
				}
				local = append(local, time.Since(time.Unix(0, int64(binary.BigEndian.Uint64(body)))))
				p.r.write(p.rid, smp.Ack{}, true)
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "msgs/s")
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
}
