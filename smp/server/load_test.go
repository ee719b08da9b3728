package server

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
	"ssms.dev/ssms/smp"
)

// loadConn is a lean SMP client over TLS for the load test. Like the
// server, it packs whatever transmissions are pending into as few blocks
// as they fill, so that a SEND and an ACK ready together share a block.
type loadConn struct {
	conn *smp.BlockConn
	r    *bufio.Reader
	out  *outbox
}

func dialLoad(tb testing.TB, a smp.Address) *loadConn {
	c, err := tls.Dial("tcp", net.JoinHostPort(a.Host, strconv.Itoa(a.Port)), smp.ClientTLS(a.Fingerprint))
	if err != nil {
		tb.Fatal(err)
	}
	bc := smp.NewBlockConn(c)
	tb.Cleanup(func() { c.Close() })
	return &loadConn{conn: bc, r: bufio.NewReaderSize(bc, 64<<10), out: newOutbox()}
}

// transmission frames a command signed with key (nil: unsigned). The
// load generator shares the two cores with the server, so it signs with
// curve25519-voi, the faster of the two: Ed25519 signing is deterministic,
// and TestLoadSignaturesStandard holds the bytes to crypto/ed25519's.
func transmission(key ed25519.PrivateKey, connID []byte, cmd smp.Command) []byte {
	var sign func([]byte) []byte
	if key != nil {
		sign = func(m []byte) []byte { return voi.Sign(voi.PrivateKey(key), m) }
	}
	return smp.AppendClientTransmission(nil, connID, cmd, sign)
}

// call writes one transmission and reads the answer: for setup only,
// before the writer runs.
func (c *loadConn) call(tx []byte) (string, error) {
	if _, err := c.conn.Write(tx); err != nil {
		return "", err
	}
	_, l, _, err := c.next()
	return l, err
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

// newQueue creates a queue received on r with recipient key rkey, secured
// for sender key skey.
func newQueue(tb testing.TB, r *loadConn, rkey, skey ed25519.PrivateKey) (rid, sid []byte) {
	line, err := r.call(transmission(nil, nil, smp.Conn{RecipientKey: smpKey(tb, rkey)}))
	f := strings.Fields(line)
	if err != nil || len(f) != 3 || f[0] != "IDS" {
		tb.Fatalf("CONN: %q %v", line, err)
	}
	rid, _ = base64.StdEncoding.DecodeString(f[1])
	sid, _ = base64.StdEncoding.DecodeString(f[2])
	if l, err := r.call(transmission(rkey, rid, smp.Key{SenderKey: smpKey(tb, skey)})); l != "OK" {
		tb.Fatalf("KEY: %q %v", l, err)
	}
	return rid, sid
}

// loadFlow is one queue under load, with fresh keys as in real use: a
// sender and a recipient, on their own connections or sharing one.
type loadFlow struct {
	s, r       *loadConn
	rkey, skey ed25519.PrivateKey
	rid, sid   []byte
	ack        []byte // the signed ACK: deterministic, so signed once
	window     chan struct{}
	got        chan time.Duration
}

// BenchmarkTLSLoad: 100 queue pairs over TLS on loopback, every message
// signed by its sender and acknowledged with a signed ACK (budget:
// ≥ 20,000 messages/s, p99 ≤ 20 ms); load generator and server share the
// machine's two cores.
//
//   - duplex/conns=N: 100 conversations, each a pair of queues between
//     two parties; a party sends on its peer's queue and receives on its
//     own. As SMP clients do, a client has one connection to the server
//     for all its queues: the 200 parties are spread over N connections,
//     a party and its peer never on the same one. conns=200 is one
//     party per connection.
//   - oneway: each of 100 queues has a sender connection and a recipient
//     connection of its own.
//
// Every transmission inside TLS costs a 16 KiB block unless others are
// ready to share it, so how many queues a connection carries decides
// what a message costs.
//
// Each sender keeps up to SSMS_BENCH_SMP_WINDOW (default 1) messages that
// its recipient has not read yet, so queues do not grow without bound and
// latency measures the server, not a backlog. Latency is from the SEND
// being queued to the MSG being read.
func BenchmarkTLSLoad(b *testing.B) {
	const pairs = 100
	for _, conns := range []int{200, 20, 2} {
		b.Run(fmt.Sprintf("duplex/conns=%d", conns), func(b *testing.B) {
			a := startTLSConfig(b, Config{MaxPerSource: 1 << 20}) // every connection is from loopback
			cs := make([]*loadConn, conns)
			for i := range cs {
				cs[i] = dialLoad(b, a)
			}
			var flows []*loadFlow
			for i := range pairs {
				x, y := cs[(2*i)%conns], cs[(2*i+1)%conns]
				flows = append(flows, &loadFlow{s: x, r: y}, &loadFlow{s: y, r: x})
			}
			benchLoad(b, cs, flows)
		})
	}
	b.Run("oneway/conns=200", func(b *testing.B) {
		a := startTLSConfig(b, Config{MaxPerSource: 1 << 20}) // every connection is from loopback
		var cs []*loadConn
		var flows []*loadFlow
		for range pairs {
			x, y := dialLoad(b, a), dialLoad(b, a)
			cs = append(cs, x, y)
			flows = append(flows, &loadFlow{s: x, r: y})
		}
		benchLoad(b, cs, flows)
	})
}

func benchLoad(b *testing.B, conns []*loadConn, flows []*loadFlow) {
	for _, f := range flows {
		_, f.rkey, _ = ed25519.GenerateKey(rand.Reader)
		_, f.skey, _ = ed25519.GenerateKey(rand.Reader)
		f.rid, f.sid = newQueue(b, f.r, f.rkey, f.skey)
		f.ack = transmission(f.rkey, f.rid, smp.Ack{})
		f.window = make(chan struct{}, benchEnvInt("SSMS_BENCH_SMP_WINDOW", 1))
		f.got = make(chan time.Duration, 1024)
	}
	per := max(b.N/len(flows), 1)
	lat := runLoad(b, conns, flows, per)
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// runLoad sends per messages on every flow and returns their latencies.
// A failure on any connection ends the run.
func runLoad(b *testing.B, conns []*loadConn, flows []*loadFlow, per int) []time.Duration {
	stop := make(chan struct{})
	var once sync.Once
	fail := func(format string, args ...any) {
		once.Do(func() {
			b.Errorf(format, args...)
			close(stop)
		})
	}
	routes := map[*loadConn]map[string]route{}
	for _, f := range flows {
		for _, r := range []route{{f, true}, {f, false}} {
			c, id := f.r, f.rid
			if r.sender {
				c, id = f.s, f.sid
			}
			if routes[c] == nil {
				routes[c] = map[string]route{}
			}
			routes[c][base64.StdEncoding.EncodeToString(id)] = r
		}
	}
	var wg sync.WaitGroup
	results := make(chan []time.Duration, len(flows))
	b.ResetTimer()
	for _, c := range conns {
		go c.out.run(c.conn.WriteBlocks, stop)
		go readLoad(c, routes[c], stop, fail)
	}
	for _, f := range flows {
		wg.Add(2)
		go func() { // sender: signed SENDs, each stamped with the time it was queued
			defer wg.Done()
			for range per {
				select {
				case f.window <- struct{}{}:
				case <-stop:
					return
				}
				body := make([]byte, 256)
				binary.BigEndian.PutUint64(body, uint64(time.Now().UnixNano()))
				f.s.out.post(transmission(f.skey, f.sid, smp.Send{Body: body, Binary: true}))
			}
		}()
		go func() { // recipient's tally
			defer wg.Done()
			local := make([]time.Duration, 0, per)
			for len(local) < per {
				select {
				case d := <-f.got:
					local = append(local, d)
				case <-stop:
					return
				}
			}
			results <- local
		}()
	}
	wg.Wait()
	b.StopTimer()
	once.Do(func() { close(stop) })
	var lat []time.Duration
	for len(results) > 0 {
		lat = append(lat, <-results...)
	}
	if len(lat) == 0 {
		b.FailNow()
	}
	return lat
}

// route is what a connection ID names on one load connection: a flow's
// sender ID or its recipient ID.
type route struct {
	f      *loadFlow
	sender bool
}

// readLoad reads one connection's transmissions: the OK of a SEND is
// checked, a MSG is timed and acknowledged, and opens its flow's window.
func readLoad(c *loadConn, routes map[string]route, stop chan struct{}, fail func(string, ...any)) {
	for {
		connID, l, body, err := c.next()
		select {
		case <-stop:
			return
		default:
		}
		r, ok := routes[connID]
		switch {
		case err != nil:
			fail("read: %v", err)
		case !ok:
			fail("a transmission for no queue of this connection: %q", l)
		case r.sender && l != "OK":
			fail("SEND: %q", l)
		case !r.sender && strings.HasPrefix(l, "MSG "):
			r.f.got <- time.Since(time.Unix(0, int64(binary.BigEndian.Uint64(body))))
			c.out.post(r.f.ack)
			<-r.f.window
			continue
		case !r.sender && l != "OK":
			fail("recipient: %q", l)
		default:
			continue
		}
		return
	}
}

// benchEnvInt reads a positive integer setting of a benchmark.
func benchEnvInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func TestLoadSignaturesStandard(t *testing.T) {
	for i := range 64 {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		msg := make([]byte, i*7)
		rand.Read(msg)
		want := smp.AppendClientTransmission(nil, []byte("id"), smp.Send{Body: msg, Binary: true}, func(m []byte) []byte { return ed25519.Sign(priv, m) })
		if got := transmission(priv, []byte("id"), smp.Send{Body: msg, Binary: true}); !slices.Equal(got, want) {
			t.Fatalf("the load generator's signature differs from crypto/ed25519's:\n%q\n%q", got, want)
		}
	}
}
