package server

import (
	"context"
	"time"

	"ssms.dev/ssms/smp"
)

// Sweep removes queues suspended for longer than the grace period and
// drops expired messages from every queue. It returns how many queues it
// removed.
func (s *Server) Sweep() int {
	s.mu.Lock()
	now := s.cfg.Now()
	var waits []func() error
	removed := 0
	for _, q := range s.byRID {
		s.expire(q)
		if q.suspended && now.Sub(q.heldAt) > s.cfg.HoldGrace {
			s.remove(q)
			waits = append(waits, s.persist("DEL", smp.Encode(q.rid[:])))
			removed++
		}
	}
	s.mu.Unlock()
	for _, w := range waits {
		w()
	}
	return removed
}

// Janitor runs Sweep every interval until ctx is done.
func (s *Server) Janitor(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Sweep()
		}
	}
}
