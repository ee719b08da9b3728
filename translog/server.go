package translog

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"ssms.dev/ssms/internal/httpserver"
)

// ErrNotAdmitted is returned by an Admitter for an entry the log refuses.
var ErrNotAdmitted = errors.New("entry not admitted")

// ErrBadRequest marks a request that is malformed.
var ErrBadRequest = errors.New("bad request")

// Server serves a log over HTTP: POST /add, GET /checkpoint, the C2SP
// tlog-tiles resources, and inclusion and consistency proofs.
type Server struct {
	log   Backend
	admit Admitter
	// AddTimeout bounds how long POST /add waits for integration.
	AddTimeout time.Duration
	// KeyLimit is how many entries one key may add per KeyWindow (0: no
	// limit); beyond it POST /add answers 429. See [Claim].
	KeyLimit  int
	KeyWindow time.Duration
	// MaxBodies is how many POST /add bodies are read at once (default
	// DefaultMaxBodies), at most httpserver.DefaultBodiesPerSource from one
	// address and each within httpserver.DefaultBodyTimeout; beyond them
	// /add answers 503 before reading. It is read when Handler is called.
	MaxBodies int

	claims claims
	limits keyLimits
	now    func() time.Time
}

// DefaultMaxBodies bounds the /add bodies read at once: 64 of at most
// 65,535 bytes is 4 MiB, however many clients hold a body open.
const DefaultMaxBodies = 64

// NewServer serves store, appending through seq, admitting with admit.
func NewServer(store *Store, seq *Sequencer, admit Admitter) *Server {
	return NewBackendServer(Embedded{store, seq}, admit)
}

// NewBackendServer serves the log b, admitting with admit.
func NewBackendServer(b Backend, admit Admitter) *Server {
	s := &Server{log: b, admit: admit, AddTimeout: 30 * time.Second,
		KeyLimit: DefaultKeyLimit, KeyWindow: time.Hour, MaxBodies: DefaultMaxBodies, now: time.Now}
	go s.prime()
	return s
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	bodies := httpserver.NewBodies(s.MaxBodies, 0, 0)
	mux.HandleFunc("POST /add", func(w http.ResponseWriter, r *http.Request) {
		s.handle(func(r *http.Request) (*response, error) { return s.add(w, r, bodies) })(w, r)
	})
	mux.HandleFunc("GET /checkpoint", s.handle(s.checkpoint))
	mux.HandleFunc("GET /tile/entries/{path...}", s.handle(s.entries))
	mux.HandleFunc("GET /tile/{level}/{path...}", s.handle(s.tile))
	mux.HandleFunc("GET /proof/inclusion", s.handle(s.inclusion))
	mux.HandleFunc("GET /proof/consistency", s.handle(s.consistency))
	// Every answer but a 200 is no-store: a 404 for a tile or proof past
	// the tree is heuristically cacheable otherwise (RFC 9111 4.2.2), and
	// a CDN primed with future paths would keep serving it once they
	// exist. A 200 sets its own Cache-Control over this one.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		mux.ServeHTTP(w, r)
	})
}

type response struct {
	contentType string
	cache       string
	body        []byte
}

const immutable = "public, max-age=31536000, immutable"

func (s *Server) handle(f func(r *http.Request) (*response, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		resp, err := f(r)
		if err != nil {
			writeError(w, err)
			return
		}
		w.Header().Set("Content-Type", resp.contentType)
		w.Header().Set("Cache-Control", resp.cache)
		w.Write(resp.body)
	}
}

// writeError is the one place that maps errors to HTTP statuses.
func writeError(w http.ResponseWriter, err error) {
	var maxErr *http.MaxBytesError
	var rateErr *RateLimitError
	status := http.StatusInternalServerError
	msg := "internal error"
	switch {
	case errors.Is(err, ErrTooLarge), errors.As(err, &maxErr):
		status, msg = http.StatusRequestEntityTooLarge, fmt.Sprintf("entry larger than %d bytes", MaxEntrySize)
	case errors.As(err, &rateErr):
		status, msg = http.StatusTooManyRequests, err.Error()
		w.Header().Set("Retry-After", strconv.FormatInt(int64((rateErr.RetryAfter+time.Second-1)/time.Second), 10))
	case errors.Is(err, ErrNotAdmitted):
		status, msg = http.StatusForbidden, err.Error()
	case errors.Is(err, ErrBadRequest), errors.Is(err, errBadPath):
		status, msg = http.StatusBadRequest, err.Error()
	case errors.Is(err, ErrNotFound):
		status, msg = http.StatusNotFound, err.Error()
	case errors.Is(err, ErrOverloaded), errors.Is(err, ErrClosed), errors.Is(err, context.DeadlineExceeded):
		status, msg = http.StatusServiceUnavailable, err.Error()
		w.Header().Set("Retry-After", "1")
	}
	http.Error(w, msg, status)
}

// add reads the body only with one of the bodies slots (see
// httpserver.Bodies): a client that sends all but the last byte and waits
// holds its buffer, and thousands of them would hold hundreds of
// megabytes, while a few addresses must not hold every slot.
func (s *Server) add(w http.ResponseWriter, r *http.Request, bodies *httpserver.Bodies) (*response, error) {
	entry, err := bodies.Read(w, r, MaxEntrySize)
	var maxErr *http.MaxBytesError
	switch {
	case errors.Is(err, httpserver.ErrBusy):
		return nil, fmt.Errorf("%w: %v", ErrOverloaded, err)
	case errors.As(err, &maxErr):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	if len(entry) == 0 {
		return nil, fmt.Errorf("%w: empty body; POST the entry's bytes", ErrBadRequest)
	}
	claim, err := s.admit.Admit(entry)
	if err != nil {
		if !errors.Is(err, ErrNotAdmitted) {
			err = fmt.Errorf("%w: %v", ErrBadRequest, err)
		}
		return nil, err
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.AddTimeout)
	defer cancel()
	index, cp, err := s.addClaimed(ctx, entry, claim)
	if err != nil {
		return nil, err
	}
	hashes, err := s.log.InclusionProof(index, cp.Size)
	if err != nil {
		return nil, err
	}
	p := &Proof{Index: index, Hashes: hashes, Checkpoint: cp.Raw}
	return &response{"text/plain; charset=utf-8", "no-store", p.Marshal()}, nil
}

func (s *Server) checkpoint(*http.Request) (*response, error) {
	return &response{"text/plain; charset=utf-8", "no-cache", s.log.Checkpoint().Raw}, nil
}

func (s *Server) tile(r *http.Request) (*response, error) {
	// C2SP tlog-tiles: L is decimal, 0 to 63, without leading zeros.
	level, err := strconv.ParseInt(r.PathValue("level"), 10, 64)
	if err != nil || strconv.FormatInt(level, 10) != r.PathValue("level") || level < 0 || level > 63 {
		return nil, fmt.Errorf("%w: tile level %q", errBadPath, r.PathValue("level"))
	}
	n, w, err := parseTileIndex(r.PathValue("path"))
	if err != nil {
		return nil, err
	}
	b, err := s.log.Tile(level, n, w)
	if err != nil {
		return nil, err
	}
	return &response{"application/octet-stream", immutable, b}, nil
}

func (s *Server) entries(r *http.Request) (*response, error) {
	n, w, err := parseTileIndex(r.PathValue("path"))
	if err != nil {
		return nil, err
	}
	b, err := s.log.EntryBundle(n, w)
	if err != nil {
		return nil, err
	}
	return &response{"application/octet-stream", immutable, b}, nil
}

func (s *Server) inclusion(r *http.Request) (*response, error) {
	index, size, err := twoInts(r, "index", "size")
	if err != nil {
		return nil, err
	}
	if index < 0 || index >= size {
		return nil, fmt.Errorf("%w: index %d is not in a tree of size %d", ErrBadRequest, index, size)
	}
	p, err := s.log.InclusionProof(index, size)
	if err != nil {
		return nil, err
	}
	return &response{"text/plain; charset=utf-8", immutable, marshalHashes(p)}, nil
}

func (s *Server) consistency(r *http.Request) (*response, error) {
	old, new, err := twoInts(r, "old", "new")
	if err != nil {
		return nil, err
	}
	if old < 0 || old > new {
		return nil, fmt.Errorf("%w: old size %d is not between 0 and new size %d", ErrBadRequest, old, new)
	}
	p, err := s.log.ConsistencyProof(old, new)
	if err != nil {
		return nil, err
	}
	return &response{"text/plain; charset=utf-8", immutable, marshalHashes(p)}, nil
}

func twoInts(r *http.Request, a, b string) (int64, int64, error) {
	var out [2]int64
	for i, name := range []string{a, b} {
		v := r.URL.Query().Get(name)
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || strconv.FormatInt(n, 10) != v {
			return 0, 0, fmt.Errorf("%w: query parameter %s=%q is not a decimal number", ErrBadRequest, name, v)
		}
		out[i] = n
	}
	return out[0], out[1], nil
}

// marshalHashes writes a proof as one standard base64 hash per line, the
// same encoding as the hash lines of a tlog-proof.
func marshalHashes(hashes []tlog.Hash) []byte {
	var b strings.Builder
	for _, h := range hashes {
		b.WriteString(encodeHash(h) + "\n")
	}
	return []byte(b.String())
}
