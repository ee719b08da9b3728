package server

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ssms.dev/ssms/signer"
	"ssms.dev/ssms/smp"
)

// loadConn is a lean SMP client over TLS for the load test. Like the
// server, it packs whatever transmissions are pending into as few blocks
// as they fill, so that a SEND and an ACK ready together share a block.
type loadConn struct {
	conn *smp.BlockConn
	r    *bufio.Reader
	priv ed25519.PrivateKey
	key  *smp.PublicKey

	mu   sync.Mutex
	out  [][]byte
	wake chan struct{}
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
	return &loadConn{conn: bc, r: bufio.NewReaderSize(bc, 64<<10), priv: priv, key: k, wake: make(chan struct{}, 1)}
}

// transmission signs (with the connection's own key) and frames a command.
func (c *loadConn) transmission(connID []byte, cmd smp.Command, signed bool) []byte {
	var sign func([]byte) []byte
	if signed {
		sign = func(m []byte) []byte { return ed25519.Sign(c.priv, m) }
	}
	return smp.AppendClientTransmission(nil, connID, cmd, sign)
}

// call writes one transmission and reads the answer: for setup only,
// before the writer runs.
func (c *loadConn) call(connID []byte, cmd smp.Command, signed bool) (string, error) {
	if _, err := c.conn.Write(c.transmission(connID, cmd, signed)); err != nil {
		return "", err
	}
	_, l, _, err := c.next()
	return l, err
}

// post queues a transmission for the writer.
func (c *loadConn) post(tx []byte) {
	c.mu.Lock()
	c.out = append(c.out, tx)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// writer sends what post queued until done is closed.
func (c *loadConn) writer(done chan struct{}) {
	for {
		select {
		case <-c.wake:
		case <-done:
			return
		}
		c.mu.Lock()
		batch := c.out
		c.out = nil
		c.mu.Unlock()
		if len(batch) > 0 && c.conn.WriteBlocks(batch) != nil {
			return
		}
	}
}

// next reads one server transmission: its connection ID, command line and
// binary body.
func (c *loadConn) next() (string, string, []byte, error) {
	var lines [3]string
	for i := range lines {
		l, err := c.r.ReadString('\n')
		if err != nil {
			return "", "", nil, err
		}
		lines[i] = strings.TrimSuffix(l, "\n")
	}
	if f := strings.Fields(lines[2]); len(f) == 3 && f[0] == "MSG" && !strings.HasPrefix(f[2], ":") {
		n, _ := strconv.Atoi(f[2])
		body := make([]byte, n+1)
		if _, err := io.ReadFull(c.r, body); err != nil {
			return "", "", nil, err
		}
		return lines[1], lines[2], body[:n], nil
	}
	return lines[1], lines[2], nil, nil
}

// newQueue creates a queue received on r and secured for sender s.
func newQueue(tb testing.TB, r, s *loadConn) (rid, sid []byte) {
	line, err := r.call(nil, smp.Conn{RecipientKey: r.key}, false)
	f := strings.Fields(line)
	if err != nil || len(f) != 3 || f[0] != "IDS" {
		tb.Fatalf("CONN: %q %v", line, err)
	}
	rid, _ = base64.StdEncoding.DecodeString(f[1])
	sid, _ = base64.StdEncoding.DecodeString(f[2])
	if l, err := r.call(rid, smp.Key{SenderKey: s.key}, true); l != "OK" {
		tb.Fatalf("KEY: %q %v", l, err)
	}
	return rid, sid
}

// loadFlow is one queue under load: a sender and a recipient, on their own
// connections or sharing one.
type loadFlow struct {
	s, r     *loadConn
	rid, sid []byte
	ack      []byte // the signed ACK: deterministic, so signed once
	window   chan struct{}
	got      chan time.Duration
}

// BenchmarkTLSLoad: 100 queue pairs over TLS on loopback, every message
// signed by its sender and acknowledged with a signed ACK (budget:
// ≥ 20,000 messages/s, p99 ≤ 20 ms); load generator and server share the
// machine's two cores.
//
//   - duplex: 100 conversations, each two parties with one connection each;
//     a party sends on its peer's queue and receives on its own over that
//     one connection, as SMP clients do (one connection per server);
//   - oneway: each of 100 queues has a sender connection and a recipient
//     connection of its own, so nothing shares a block: the worst case.
//
// Each sender keeps up to SSMS_BENCH_SMP_WINDOW (default 1) messages that
// its recipient has not read yet, so queues do not grow without bound and
// latency measures the server, not a backlog. Latency is from the SEND
// being queued to the MSG being read.
func BenchmarkTLSLoad(b *testing.B) {
	for _, topology := range []string{"duplex", "oneway"} {
		b.Run(topology, func(b *testing.B) {
			a := startTLS(b)
			const pairs = 100
			var flows []*loadFlow
			var conns []*loadConn
			for range pairs {
				x, y := dialLoad(b, a), dialLoad(b, a)
				conns = append(conns, x, y)
				if topology == "duplex" {
					flows = append(flows, &loadFlow{s: x, r: y}, &loadFlow{s: y, r: x})
				} else {
					flows = append(flows, &loadFlow{s: x, r: y})
				}
			}
			for _, f := range flows {
				f.rid, f.sid = newQueue(b, f.r, f.s)
				f.ack = f.r.transmission(f.rid, smp.Ack{}, true)
				f.window = make(chan struct{}, benchEnvInt("SSMS_BENCH_SMP_WINDOW", 1))
				f.got = make(chan time.Duration, 1024)
			}
			per := max(b.N/len(flows), 1)
			lat := runLoad(b, conns, flows, per)
			slices.Sort(lat)
			b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// runLoad sends per messages on every flow and returns their latencies.
func runLoad(b *testing.B, conns []*loadConn, flows []*loadFlow, per int) []time.Duration {
	done := make(chan struct{})
	defer close(done)
	byConn := map[*loadConn][]*loadFlow{}
	for _, f := range flows {
		byConn[f.s] = append(byConn[f.s], f)
		byConn[f.r] = append(byConn[f.r], f)
	}
	var wg sync.WaitGroup
	results := make(chan []time.Duration, len(flows))
	b.ResetTimer()
	for _, c := range conns {
		go c.writer(done)
		go readLoad(b, c, byConn[c], done)
	}
	for _, f := range flows {
		wg.Add(2)
		go func() { // sender: signed SENDs, each stamped with the time it was queued
			defer wg.Done()
			for range per {
				select {
				case f.window <- struct{}{}:
				case <-done:
					return
				}
				body := make([]byte, 256)
				binary.BigEndian.PutUint64(body, uint64(time.Now().UnixNano()))
				f.s.post(f.s.transmission(f.sid, smp.Send{Body: body, Binary: true}, true))
			}
		}()
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, per)
			for len(local) < per {
				local = append(local, <-f.got)
			}
			results <- local
		}()
	}
	wg.Wait()
	b.StopTimer()
	var lat []time.Duration
	for range flows {
		lat = append(lat, <-results...)
	}
	return lat
}

// readLoad reads one connection's transmissions: the OK of a SEND opens
// its flow's window, a MSG is timed and acknowledged.
func readLoad(b *testing.B, c *loadConn, flows []*loadFlow, done chan struct{}) {
	for {
		connID, l, body, err := c.next()
		if err != nil {
			select {
			case <-done:
			default:
				b.Error(err)
			}
			return
		}
		id, _ := base64.StdEncoding.DecodeString(connID)
		for _, f := range flows {
			switch {
			case f.s == c && bytes.Equal(id, f.sid):
				if l != "OK" {
					b.Errorf("SEND: %q", l)
					return
				}
			case f.r == c && bytes.Equal(id, f.rid) && strings.HasPrefix(l, "MSG "):
				f.got <- time.Since(time.Unix(0, int64(binary.BigEndian.Uint64(body))))
				c.post(f.ack)
				<-f.window
			case f.r == c && bytes.Equal(id, f.rid) && l != "OK":
				b.Errorf("recipient: %q", l)
				return
			}
		}
	}
}

// benchEnvInt reads a positive integer setting of a benchmark.
func benchEnvInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
