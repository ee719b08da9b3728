// Package server is the SMP server: queues, the command semantics of the
// seed specification, and its transports.
//
// Checks run in the specification's order: parse, party (a server message
// from a client is ERR PROHIBITED), credentials (ERR SYNTAX 3/4/5), body
// (ERR SIZE), authorisation (ERR AUTH). Every refused signed transmission
// costs one verification whose work depends only on the signature's
// length (smp.Verify), whether the queue exists or not and whatever its
// key. The server logs no commands, addresses or IDs.
//
// Creating a queue and sending to one not yet secured need no key, so
// everything a client can make the server hold is bounded (Config): queues
// per connection and in total (past them CONN is ERR AUTH), messages and
// bytes per queue and in total (past them SEND is ERR SIZE), and answers
// waiting for a connection that does not read, per connection and in
// total (past them the connection answered is closed).
//
// Connections are bounded too: MaxClients at once and MaxPerSource from
// one IP address, counted from accept (a TLS handshake holds its place),
// so that a burst of connections cannot take every file descriptor or
// every place. A connection is closed when it is silent for IdleTimeout,
// or when a transmission whose first byte arrived is not whole within
// TxTimeout: bytes trickled one at a time do not keep a place. Counts by
// address are kept in memory while connections are open, never logged.
package server

import (
	"sync"
	"time"

	"ssms.dev/ssms/internal/metrics"
	"ssms.dev/ssms/smp"
)

// Config sets the server's limits. Every one bounds memory that a client
// could otherwise fill without any key: CONN and unsigned SEND need none.
type Config struct {
	MessageTTL   time.Duration // undelivered messages expire (default 21 days)
	HoldGrace    time.Duration // suspended queues are removed after this (default 7 days)
	QueueQuota   int           // messages a queue holds (default 128)
	QueueBytes   int           // body bytes a queue holds (default 1 MiB)
	MaxMessages  int           // messages the server holds (default 1,000,000)
	MaxBytes     int64         // body bytes the server holds (default 256 MiB)
	MaxQueues    int           // queues on the server (default 100,000)
	ConnQueues   int           // queues one transport connection may create (default 1,000)
	OutboxBytes  int           // unwritten bytes for one connection before it is closed (default 2 MiB)
	OutboxTotal  int64         // unwritten bytes for all connections: past it, the connection answered is closed (default 512 MiB)
	MaxClients   int           // transport connections at once (default 10,000)
	MaxPerSource int           // transport connections from one IP address at once (default 64)
	IdleTimeout  time.Duration // a silent connection is closed (default 10 min)
	TxTimeout    time.Duration // a transmission begun must arrive whole within it (default 30 s)
	Now          func() time.Time
	// Metrics, if set, receives aggregate counters only: never an ID, a
	// key or an address.
	Metrics *metrics.Registry
}

// Default limits. The load benchmark (100 queue pairs, up to 100 queues
// on a connection, 256-byte messages) stays far below each.
const (
	DefaultQueueQuota   = 128
	DefaultQueueBytes   = 1 << 20
	DefaultMaxMessages  = 1_000_000
	DefaultMaxBytes     = 256 << 20
	DefaultMaxQueues    = 100_000
	DefaultConnQueues   = 1_000
	DefaultOutboxBytes  = 2 << 20
	DefaultOutboxTotal  = 512 << 20
	DefaultMaxClients   = 10_000
	DefaultMaxPerSource = 64
	DefaultIdleTimeout  = 10 * time.Minute
	DefaultTxTimeout    = 30 * time.Second
)

func (c *Config) defaults() {
	if c.MessageTTL <= 0 {
		c.MessageTTL = 21 * 24 * time.Hour
	}
	if c.HoldGrace <= 0 {
		c.HoldGrace = 7 * 24 * time.Hour
	}
	setDefault(&c.QueueQuota, DefaultQueueQuota)
	setDefault(&c.QueueBytes, DefaultQueueBytes)
	setDefault(&c.MaxMessages, DefaultMaxMessages)
	setDefault(&c.MaxBytes, DefaultMaxBytes)
	setDefault(&c.MaxQueues, DefaultMaxQueues)
	setDefault(&c.ConnQueues, DefaultConnQueues)
	setDefault(&c.OutboxBytes, DefaultOutboxBytes)
	setDefault(&c.OutboxTotal, DefaultOutboxTotal)
	setDefault(&c.MaxClients, DefaultMaxClients)
	setDefault(&c.MaxPerSource, DefaultMaxPerSource)
	setDefault(&c.IdleTimeout, DefaultIdleTimeout)
	setDefault(&c.TxTimeout, DefaultTxTimeout)
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Metrics == nil {
		c.Metrics = metrics.NewRegistry()
	}
}

func setDefault[T int | int64 | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// Server holds the queues. Transports feed it transmissions.
type Server struct {
	cfg   Config
	mu    sync.Mutex
	byRID map[id]*queue
	bySID map[id]*queue
	gate  *gate     // admits transport connections
	log   *StoreLog // nil: nothing survives a restart
	held  held      // what the queues hold, against the limits
	// outboxes is what all connections' outboxes hold, against OutboxTotal.
	outboxes budget

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
	return &Server{cfg: cfg, byRID: map[id]*queue{}, bySID: map[id]*queue{}, gate: newGate(cfg.MaxClients, cfg.MaxPerSource),
		counters: newCounters(cfg.Metrics), verify: smp.Verify, outboxes: budget{max: cfg.OutboxTotal}}
}
