package server

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"ssms.dev/ssms/smp"
)

func startTLS(t testing.TB) smp.Address { return startTLSConfig(t, Config{}) }

func startTLSConfig(t testing.TB, c Config) smp.Address {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "server")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	port := ln.Addr().(*net.TCPAddr).Port
	if _, err := Init(dir, "127.0.0.1", port); err != nil {
		t.Fatal(err)
	}
	if _, err := Init(dir, "127.0.0.1", port); err == nil {
		t.Fatal("a second Init over an identity succeeded")
	}
	cfg, addr, err := LoadTLS(dir)
	if err != nil {
		t.Fatal(err)
	}
	go New(c).ServeTLS(ln, cfg)
	return addr
}

func dialTLS(t *testing.T, a smp.Address, fingerprint string) (*party, error) {
	conn, err := tls.Dial("tcp", net.JoinHostPort(a.Host, strconv.Itoa(a.Port)), smp.ClientTLS(fingerprint))
	if err != nil {
		return nil, err
	}
	return newParty(t, smp.NewBlockConn(conn)), nil
}

// TestTLSConformance runs every conformance suite over TLS blocks.
func TestTLSConformance(t *testing.T) {
	a := startTLS(t)
	if _, err := smp.ParseAddress(a.String()); err != nil {
		t.Fatalf("the printed address does not parse: %v", err)
	}
	connect := func() *party {
		p, err := dialTLS(t, a, a.Fingerprint)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Run("flow", func(t *testing.T) { flow(t, connect) })
	t.Run("errors", func(t *testing.T) { errorsSuite(t, connect) })
	t.Run("subscriptions", func(t *testing.T) { subscriptionsSuite(t, connect) })
	t.Run("crlf-rsa", func(t *testing.T) { crlfRSASuite(t, connect) })
}

func TestTLSRefusesAnotherServer(t *testing.T) {
	a := startTLS(t)
	other := strings.Repeat("A", 43)
	if _, err := dialTLS(t, a, other); err == nil || !errors.Is(err, smp.ErrFingerprint) && !strings.Contains(err.Error(), "identity") {
		t.Fatalf("a server with another CA fingerprint was accepted: %v", err)
	}
}

// TestBlocksHideSizes sends a short and a long message and checks that the
// TLS records carrying them have the same size.
func TestBlocksHideSizes(t *testing.T) {
	a := startTLS(t)
	raw, err := net.Dial("tcp", net.JoinHostPort(a.Host, strconv.Itoa(a.Port)))
	if err != nil {
		t.Fatal(err)
	}
	counter := &countingConn{Conn: raw}
	tc := tls.Client(counter, smp.ClientTLS(a.Fingerprint))
	p := newParty(t, smp.NewBlockConn(tc))
	_, sid := p.create()
	for _, body := range []string{"x", strings.Repeat("y", 10000)} {
		before := counter.written
		p.raw(false, sid, "SEND :"+body)
		p.read() // OK, or the delivery: either is one block
		if sent := counter.written - before; sent != counter.firstRecord && counter.firstRecord != 0 {
			t.Fatalf("a %d-byte message took %d bytes on the wire, a %d-byte one %d", 1, counter.firstRecord, len(body), sent)
		}
		if counter.firstRecord == 0 {
			counter.firstRecord = counter.written - before
		}
	}
}

type countingConn struct {
	net.Conn
	written, firstRecord int
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.written += len(b)
	return c.Conn.Write(b)
}

// TestInitCertificateVerifies: what Init issues passes the client's
// check, until the online certificate expires after a year.
func TestInitCertificateVerifies(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "server")
	if _, err := Init(dir, "127.0.0.1", 5223); err != nil {
		t.Fatal(err)
	}
	cfg, a, err := LoadTLS(dir)
	if err != nil {
		t.Fatal(err)
	}
	chain := cfg.Certificates[0].Certificate
	if err := smp.VerifyChain(a.Fingerprint, chain, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := smp.VerifyChain(a.Fingerprint, chain, time.Now().AddDate(1, 1, 0)); err == nil {
		t.Fatal("the online certificate is still accepted after it expired")
	}
}

// TestRenew: a renewed online certificate has a new key, keeps the
// address, and passes the client's check.
func TestRenew(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "server")
	if _, err := Init(dir, "127.0.0.1", 5223); err != nil {
		t.Fatal(err)
	}
	old, a, err := LoadTLS(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := Renew(dir); err != nil {
		t.Fatal(err)
	}
	cfg, b, err := LoadTLS(dir)
	if err != nil {
		t.Fatal(err)
	}
	chain := cfg.Certificates[0].Certificate
	if a != b || bytes.Equal(chain[0], old.Certificates[0].Certificate[0]) {
		t.Fatal("renew kept the certificate or changed the address")
	}
	if err := smp.VerifyChain(b.Fingerprint, chain, time.Now()); err != nil {
		t.Fatal(err)
	}
}
