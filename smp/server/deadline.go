package server

import (
	"net"
	"time"
)

// arrival is a transport connection that starts the transmission deadline
// when the first byte of a transmission arrives. The idle timeout alone
// let a client hold its place for ever by sending a transmission a byte
// at a time: bytes arrive, the transmission never ends, and the deadline
// set before it is far off. It sits under TLS, so a block that arrives in
// pieces starts the deadline at its first piece.
type arrival struct {
	net.Conn
	armed   bool // the next bytes begin a transmission; only the reader touches it
	timeout time.Duration
	now     func() time.Time
}

func (a *arrival) Read(p []byte) (int, error) {
	n, err := a.Conn.Read(p)
	if n > 0 && a.armed {
		a.armed = false
		a.Conn.SetDeadline(a.now().Add(a.timeout))
	}
	return n, err
}

// wait sets the deadline for the next transmission: the idle timeout if
// none of it has arrived, else the transmission timeout. buffered is
// whether its start was already read with the last one.
func (s *Server) wait(f Framer, in *arrival, buffered bool) {
	if buffered {
		f.SetDeadline(s.cfg.Now().Add(s.cfg.TxTimeout))
		return
	}
	f.SetDeadline(s.cfg.Now().Add(s.cfg.IdleTimeout))
	if in != nil {
		in.armed = true
	}
}

func (s *Server) arrival(conn net.Conn) *arrival {
	return &arrival{Conn: conn, timeout: s.cfg.TxTimeout, now: s.cfg.Now}
}
