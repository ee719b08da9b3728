package server

import (
	"crypto/tls"
	"net"
	"strconv"
	"testing"
	"time"

	"ssms.dev/ssms/smp"
)

// closedWithin says whether the server closes c within d while the client
// trickles a byte of a transmission every few milliseconds.
func closedWithin(c net.Conn, d time.Duration) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		c.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := c.Write([]byte("A")); err != nil {
			return true
		}
	}
	return false
}

// TestAttackSlowloris: a transmission trickled a byte at a time, never
// finished, used to hold its connection's place until the idle timeout,
// renewed by finishing one now and then. Now its first byte starts
// TxTimeout; an honest client that is only idle is not affected.
func TestAttackSlowloris(t *testing.T) {
	cfg := Config{TxTimeout: 200 * time.Millisecond, IdleTimeout: time.Minute}
	_, addr := startText(t, cfg)
	p := dial(t, addr)
	p.create()
	time.Sleep(300 * time.Millisecond) // idle past TxTimeout: kept
	p.create()
	slow := dial(t, addr)
	slow.conn.Write([]byte("\n"))
	if !closedWithin(slow.conn, 3*time.Second) {
		t.Fatal("text: a trickled transmission kept its connection past TxTimeout")
	}

	a := startTLSConfig(t, cfg)
	tc, err := tls.Dial("tcp", net.JoinHostPort(a.Host, strconv.Itoa(a.Port)), smp.ClientTLS(a.Fingerprint))
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	if !closedWithin(tc, 3*time.Second) { // pieces of a block that never completes
		t.Fatal("TLS: a trickled block kept its connection past TxTimeout")
	}
}

// TestAttackConnectionsPerSource: one address cannot take every place;
// a place given back can be taken again.
func TestAttackConnectionsPerSource(t *testing.T) {
	_, addr := startText(t, Config{MaxPerSource: 2})
	a, b := dial(t, addr), dial(t, addr)
	a.create()
	b.create()
	c := dial(t, addr)
	c.raw(false, "", "CONN "+c.pub)
	c.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.r.ReadString('\n'); err == nil {
		t.Fatal("a third connection from one address was served")
	}
	a.conn.Close()
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		d := dial(t, addr)
		d.raw(false, "", "CONN "+d.pub)
		d.conn.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := d.r.ReadString('\n'); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatal("the place a closed connection left was not given back")
		}
	}
}
