package server

import (
	"bufio"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"ssms.dev/ssms/smp"
)

func startText(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	s := New(cfg)
	return s, serveOn(t, s)
}

// serveOn serves s's text transport on a loopback port.
func serveOn(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go s.ServeText(ln)
	return ln.Addr().String()
}

// party is a test client speaking raw SMP text, signing with its key.
type party struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
	sign func([]byte) []byte
	pub  string // base64 DER SPKI
	eol  string
}

func dial(t *testing.T, addr string) *party {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return newParty(t, conn)
}

func newParty(t *testing.T, conn net.Conn) *party {
	t.Helper()
	t.Cleanup(func() { conn.Close() })
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(pub)
	return &party{t: t, conn: conn, r: bufio.NewReader(conn), eol: "\n",
		sign: func(m []byte) []byte { return ed25519.Sign(priv, m) }, pub: base64.StdEncoding.EncodeToString(der)}
}

func useRSA(p *party) {
	priv, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	p.pub = base64.StdEncoding.EncodeToString(der)
	p.sign = func(m []byte) []byte {
		h := sha256.Sum256(m)
		s, _ := rsa.SignPSS(rand.Reader, priv, crypto.SHA256, h[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		return s
	}
}

// raw writes a transmission; signed says whether to sign it.
func (p *party) raw(signed bool, connID, cmd string) {
	p.t.Helper()
	body := connID + p.eol + cmd
	sig := ""
	if signed {
		sig = base64.StdEncoding.EncodeToString(p.sign([]byte(body)))
	}
	if _, err := fmt.Fprint(p.conn, sig+p.eol+body+p.eol); err != nil {
		p.t.Fatal(err)
	}
}

// read returns the next server transmission as "connId command".
func (p *party) read() string {
	p.t.Helper()
	p.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var lines []string
	for range 3 {
		l, err := p.r.ReadString('\n')
		if err != nil {
			p.t.Fatalf("reading a response: %v (so far %q)", err, lines)
		}
		lines = append(lines, strings.TrimSuffix(l, "\n"))
	}
	if lines[0] != "" {
		p.t.Fatalf("server transmission with a signature: %q", lines)
	}
	if rest, ok := strings.CutPrefix(lines[2], "MSG "); ok {
		ts, body, _ := strings.Cut(rest, " ")
		if tm, err := time.Parse(time.RFC3339Nano, ts); err != nil || !strings.HasSuffix(ts, "Z") || tm.IsZero() {
			p.t.Fatalf("MSG timestamp %q is not RFC 3339 UTC", ts)
		}
		lines[2] = "MSG T " + body
		if !strings.HasPrefix(body, ":") {
			var n int
			fmt.Sscanf(body, "%d", &n)
			b := make([]byte, n+1)
			if _, err := io.ReadFull(p.r, b); err != nil {
				p.t.Fatal(err)
			}
			lines[2] += " <" + strings.TrimSuffix(string(b), "\n") + ">"
		}
	}
	return lines[1] + " " + lines[2]
}

func (p *party) expect(want string) {
	p.t.Helper()
	if got := p.read(); got != want {
		p.t.Fatalf("got %q, want %q", got, want)
	}
}

// create makes a queue and returns its recipient and sender IDs.
func (p *party) create() (string, string) {
	p.t.Helper()
	p.raw(false, "", "CONN "+p.pub)
	got := p.read()
	var rid, sid string
	if _, err := fmt.Sscanf(got, " IDS %s %s", &rid, &sid); err != nil {
		p.t.Fatalf("CONN answered %q", got)
	}
	return rid, sid
}

func TestConformanceFlow(t *testing.T) {
	_, addr := startText(t, Config{})
	flow(t, func() *party { return dial(t, addr) })
}

// flow runs the life of a queue through parties from connect.
func flow(t *testing.T, connect func() *party) {
	r, s := connect(), connect()
	rid, sid := r.create()
	if rid == sid {
		t.Fatal("recipient and sender IDs are equal")
	}
	if b, _ := base64.StdEncoding.DecodeString(rid); len(b) != 16 {
		t.Fatalf("queue ID of %d bytes, want 16", len(b))
	}
	// The confirmation: unsigned, before KEY.
	s.raw(false, sid, "SEND :KEY "+s.pub)
	s.expect(sid + " OK")
	r.expect(rid + " MSG T :KEY " + s.pub)
	r.raw(true, rid, "KEY "+s.pub)
	r.expect(rid + " OK")
	r.raw(true, rid, "ACK")
	r.expect(rid + " OK")
	// Secured: only signed SENDs; binary bodies keep their bytes.
	s.raw(false, sid, "SEND :unsigned")
	s.expect(sid + " ERR AUTH")
	s.raw(true, sid, "SEND 11"+s.eol+"hello\nworld")
	s.expect(sid + " OK")
	s.raw(true, sid, "SEND :second")
	s.expect(sid + " OK")
	// The next message waits for the ACK of the one in flight.
	r.expect(rid + " MSG T 11 <hello\nworld>")
	r.raw(true, rid, "ACK")
	r.expect(rid + " OK")
	r.expect(rid + " MSG T :second")
	r.raw(true, rid, "ACK")
	r.expect(rid + " OK")
	// HOLD: OK, then every SEND is refused; DEL drops the queue.
	r.raw(true, rid, "HOLD")
	r.expect(rid + " OK")
	r.raw(true, rid, "HOLD") // again: still OK
	r.expect(rid + " OK")
	s.raw(true, sid, "SEND :too late")
	s.expect(sid + " ERR AUTH")
	r.raw(true, rid, "DEL")
	r.expect(rid + " OK")
	r.raw(true, rid, "SUB")
	r.expect(rid + " ERR AUTH")
}

func TestConformanceErrors(t *testing.T) {
	_, addr := startText(t, Config{})
	errorsSuite(t, func() *party { return dial(t, addr) })
}

func errorsSuite(t *testing.T, connect func() *party) {
	r, s := connect(), connect()
	rid, sid := r.create()
	bad := base64.StdEncoding.EncodeToString([]byte("no such queue 16"))
	tests := []struct {
		p      *party
		signed bool
		conn   string
		cmd    string
		want   string
	}{
		{r, true, rid, "NOPE", rid + " ERR UNKNOWN"},
		{r, false, "", "OK", " ERR PROHIBITED"},
		{r, false, "", "IDS a b", " ERR PROHIBITED"},
		{r, true, "!!!!", "SUB", " ERR SYNTAX 2"},
		{r, true, rid, "SUB now", rid + " ERR SYNTAX 2"},
		{r, false, "", "CONN not-base64!", " ERR SYNTAX 2"},
		{r, false, "", "CONN " + base64.StdEncoding.EncodeToString([]byte("not a key")), " ERR SYNTAX 2"},
		{r, false, "", "CONN", " ERR SYNTAX 2"},
		{r, false, rid, "SUB", rid + " ERR SYNTAX 3"},
		{r, true, "", "ACK", " ERR SYNTAX 3"},
		{r, false, rid, "CONN " + r.pub, rid + " ERR SYNTAX 4"},
		{r, true, "", "CONN " + r.pub, " ERR SYNTAX 4"},
		{s, false, "", "SEND :hi", " ERR SYNTAX 5"},
		{s, false, sid, "SEND hello", sid + " ERR SYNTAX 6"},
		{s, false, sid, "SEND", sid + " ERR SYNTAX 6"},
		{s, false, sid, "SEND :" + strings.Repeat("x", smp.MaxBody+1), sid + " ERR SIZE"},
		{r, true, bad, "SUB", bad + " ERR AUTH"},          // unknown queue
		{r, true, sid, "SUB", sid + " ERR AUTH"},          // sender ID for a recipient command
		{s, false, rid, "SEND :hi", rid + " ERR AUTH"},    // recipient ID for SEND
		{s, true, sid, "SEND :signed", sid + " ERR AUTH"}, // signed before KEY
		{s, true, rid, "ACK", rid + " ERR AUTH"},          // another key's signature
	}
	for _, tt := range tests {
		tt.p.raw(tt.signed, tt.conn, tt.cmd)
		if got := tt.p.read(); got != tt.want {
			t.Errorf("%.40q: got %q, want %q", tt.cmd, got, tt.want)
		}
	}
	// A binary body over the limit is read, dropped and answered ERR SIZE;
	// the stream stays in step.
	fmt.Fprintf(s.conn, "\n%s\nSEND %d\n%s\n", sid, smp.MaxBody+1, strings.Repeat("y", smp.MaxBody+1))
	s.expect(sid + " ERR SIZE")
	s.raw(false, sid, "SEND :still in step")
	s.expect(sid + " OK")
	r.expect(rid + " MSG T :still in step") // delivered while r was idle
	// KEY only once.
	r.raw(true, rid, "KEY "+s.pub)
	r.expect(rid + " OK")
	r.raw(true, rid, "KEY "+s.pub)
	r.expect(rid + " ERR AUTH")
}

func TestConformanceSubscriptions(t *testing.T) {
	_, addr := startText(t, Config{})
	subscriptionsSuite(t, func() *party { return dial(t, addr) })
}

func subscriptionsSuite(t *testing.T, connect func() *party) {
	r1, r2, s := connect(), connect(), connect()
	r2.sign, r2.pub = r1.sign, r1.pub // the same recipient on a second connection
	rid, sid := r1.create()
	s.raw(false, sid, "SEND :one")
	s.expect(sid + " OK")
	r1.expect(rid + " MSG T :one")
	// SUB from another connection moves the subscription: END to the old one,
	// and the unacknowledged message to the new one.
	r2.raw(true, rid, "SUB")
	r2.expect(rid + " OK")
	r1.expect(rid + " END")
	r2.expect(rid + " MSG T :one")
	s.raw(false, sid, "SEND :two")
	s.expect(sid + " OK")
	r2.raw(true, rid, "ACK")
	r2.expect(rid + " OK")
	r2.expect(rid + " MSG T :two")
	// A dropped connection: the message in flight comes again after SUB.
	r2.conn.Close()
	r3 := connect()
	r3.sign, r3.pub = r1.sign, r1.pub
	r3.raw(true, rid, "SUB")
	r3.expect(rid + " OK")
	r3.expect(rid + " MSG T :two")
}

func TestConformanceCRLFAndRSA(t *testing.T) {
	_, addr := startText(t, Config{})
	crlfRSASuite(t, func() *party { return dial(t, addr) })
}

func crlfRSASuite(t *testing.T, connect func() *party) {
	r, s := connect(), connect()
	useRSA(r)
	useRSA(s)
	r.eol, s.eol = "\r\n", "\r\n"
	rid, sid := r.create()
	s.raw(false, sid, "SEND :over CRLF")
	s.expect(sid + " OK")
	r.expect(rid + " MSG T :over CRLF")
	r.raw(true, rid, "KEY "+s.pub) // RSA-PSS over the signed part with its CRs
	r.expect(rid + " OK")
	s.raw(true, sid, "SEND 3"+s.eol+"a\rb")
	s.expect(sid + " OK")
	r.raw(true, rid, "ACK")
	r.expect(rid + " OK")
	r.expect(rid + " MSG T 3 <a\rb>")
}

func TestQuotaAndTTL(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv, addr := startText(t, Config{QueueQuota: 2, MessageTTL: time.Hour, Now: clock})
	r, s := dial(t, addr), dial(t, addr)
	rid, sid := r.create()
	r.conn.Close() // nobody subscribed: messages stay queued
	waitUnsubscribed(t, srv)
	s.raw(false, sid, "SEND :1")
	s.expect(sid + " OK")
	s.raw(false, sid, "SEND :2")
	s.expect(sid + " OK")
	s.raw(false, sid, "SEND :3")
	s.expect(sid + " ERR SIZE") // over the queue's quota
	// An hour later both have expired: they no longer fill the quota, and a
	// new subscriber gets only what is new.
	mu.Lock()
	now = now.Add(time.Hour + time.Second)
	mu.Unlock()
	s.raw(false, sid, "SEND :after expiry")
	s.expect(sid + " OK")
	mu.Lock()
	now = now.Add(time.Hour + time.Second)
	mu.Unlock()
	r2 := dial(t, addr)
	r2.sign, r2.pub = r.sign, r.pub
	r2.raw(true, rid, "SUB")
	r2.expect(rid + " OK")
	s.raw(false, sid, "SEND :fresh")
	s.expect(sid + " OK")
	r2.expect(rid + " MSG T :fresh")
}

func TestSuspendedQueuesRemoved(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv, addr := startText(t, Config{HoldGrace: time.Hour, Now: clock})
	r := dial(t, addr)
	rid, _ := r.create()
	keep, _ := r.create()
	r.raw(true, rid, "HOLD")
	r.expect(rid + " OK")
	if n := srv.Sweep(); n != 0 {
		t.Fatalf("removed %d queues within the grace period", n)
	}
	mu.Lock()
	now = now.Add(time.Hour + time.Second)
	mu.Unlock()
	if n := srv.Sweep(); n != 1 {
		t.Fatalf("removed %d queues after the grace period, want 1", n)
	}
	r.raw(true, rid, "SUB")
	r.expect(rid + " ERR AUTH")
	r.raw(true, keep, "SUB")
	r.expect(keep + " OK")
}
