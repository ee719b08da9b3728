package server

import (
	"strings"
	"testing"
	"time"
)

// TestAttackOversizedSend: bodies too large are ERR SIZE, as the
// specification says. Before, a declared size over 1 MiB closed the
// connection with no answer, a size over an int was ERR SYNTAX 6, and a
// string SEND over 16 KiB reset the connection.
func TestAttackOversizedSend(t *testing.T) {
	_, addr := startText(t, Config{})
	r := dial(t, addr)
	_, sid := r.create()
	a := dial(t, addr)
	a.raw(false, sid, "SEND :"+strings.Repeat("x", 100<<10)) // skipped, and the connection still serves
	a.expect(sid + " ERR SIZE")
	a.raw(false, sid, "SEND 20000\n"+strings.Repeat("x", 20000)) // skipped too
	a.expect(sid + " ERR SIZE")
	a.raw(false, sid, "SEND :ok")
	a.expect(sid + " OK")

	for _, size := range []string{"2000000", "12345678901234567890"} {
		b := dial(t, addr)
		b.raw(false, sid, "SEND "+size+"\n")
		b.expect(sid + " ERR SIZE")
		// The body cannot be skipped: the connection is closed after the answer.
		b.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := b.r.ReadByte(); err == nil {
			t.Fatalf("SEND %s: the connection was kept", size)
		}
	}
}
