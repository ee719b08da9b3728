package server

import (
	"crypto/tls"
	"io"
	"net"
	"time"

	"ssms.dev/ssms/smp"
)

// blockFramer is the TLS transport: transmissions in fixed-size blocks.
type blockFramer struct{ b *smp.BlockConn }

func (f blockFramer) Reader() io.Reader             { return f.b }
func (f blockFramer) Write(tx [][]byte) error       { return f.b.WriteBlocks(tx) }
func (f blockFramer) SetDeadline(t time.Time) error { return f.b.SetDeadline(t) }
func (f blockFramer) Close() error                  { return f.b.Close() }

// ServeTLS accepts TLS 1.3 connections on ln until it is closed. A
// connection counts against the limits from accept, so those still in
// their handshake (10 s at most) are bounded too.
func (s *Server) ServeTLS(ln net.Listener, cfg *tls.Config) error {
	return s.accept(ln, func(conn net.Conn) {
		in := s.arrival(conn)
		tc := tls.Server(in, cfg)
		tc.SetDeadline(time.Now().Add(10 * time.Second))
		if err := tc.Handshake(); err != nil {
			conn.Close()
			return
		}
		s.serve(blockFramer{smp.NewBlockConn(tc)}, in)
	})
}
