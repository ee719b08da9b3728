// Package server is the SMP server: queues, the command semantics of the
// seed specification, and its transports.
//
// Checks run in the specification's order: parse, party (a server message
// from a client is ERR PROHIBITED), credentials (ERR SYNTAX 3/4/5), body
// (ERR SIZE), authorisation (ERR AUTH). An unknown queue costs the same
// signature verification as a known one, against a dummy key. The server
// logs no commands, addresses or IDs.
package server

import (
	"sync"
	"time"

	"ssms.dev/ssms/internal/metrics"
	"ssms.dev/ssms/smp"
)

// Config sets the server's limits.
type Config struct {
	MessageTTL  time.Duration // undelivered messages expire (default 21 days)
	HoldGrace   time.Duration // suspended queues are removed after this (default 7 days)
	QueueQuota  int           // messages a queue holds (default 128)
	MaxClients  int           // transport connections at once (default 10,000)
	IdleTimeout time.Duration // a silent connection is closed (default 10 min)
	Now         func() time.Time
	// Metrics, if set, receives aggregate counters only: never an ID, a
	// key or an address.
	Metrics *metrics.Registry
}

func (c *Config) defaults() {
	if c.MessageTTL <= 0 {
		c.MessageTTL = 21 * 24 * time.Hour
	}
	if c.HoldGrace <= 0 {
		c.HoldGrace = 7 * 24 * time.Hour
	}
	if c.QueueQuota <= 0 {
		c.QueueQuota = 128
	}
	if c.MaxClients <= 0 {
		c.MaxClients = 10_000
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 10 * time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Metrics == nil {
		c.Metrics = metrics.NewRegistry()
	}
}

// Server holds the queues. Transports feed it transmissions.
type Server struct {
	cfg   Config
	mu    sync.Mutex
	byRID map[id]*queue
	bySID map[id]*queue
	slots chan struct{} // one per transport connection allowed
	log   *StoreLog     // nil: nothing survives a restart

	counters *counters
	// verify is smp.Verify; tests count the verifications each path does.
	verify func(k *smp.PublicKey, signed, sig []byte) bool
}

// persist records an event if there is a store log; the returned function
// waits until it is durable. s.mu is held.
func (s *Server) persist(fields ...string) func() error {
	if s.log == nil {
		return func() error { return nil }
	}
	return s.log.record(fields...)
}

// New returns a server with cfg's limits.
func New(cfg Config) *Server {
	cfg.defaults()
	return &Server{cfg: cfg, byRID: map[id]*queue{}, bySID: map[id]*queue{}, slots: make(chan struct{}, cfg.MaxClients),
		counters: newCounters(cfg.Metrics), verify: smp.Verify}
}
