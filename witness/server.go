package witness

import (
	"errors"
	"fmt"
	"net/http"

	"ssms.dev/ssms/internal/httpserver"
)

// DefaultMaxBodies bounds the add-checkpoint bodies read at once (see
// Witness.MaxBodies).
const DefaultMaxBodies = 64

// Handler serves POST /add-checkpoint (C2SP tlog-witness). It reads at
// most MaxBodies request bodies at once, httpserver.DefaultBodiesPerSource
// from one address, each within httpserver.DefaultBodyTimeout, and answers
// 503 with Retry-After beyond, before reading: a client that sends all but
// the last byte and waits holds its buffer, thousands of them would hold
// hundreds of megabytes, and a few addresses must not hold every slot.
func (w *Witness) Handler() http.Handler {
	mux := http.NewServeMux()
	n := w.MaxBodies
	if n <= 0 {
		n = DefaultMaxBodies
	}
	bodies := httpserver.NewBodies(n, 0, 0)
	mux.HandleFunc("POST /add-checkpoint", func(rw http.ResponseWriter, r *http.Request) {
		body, err := bodies.Read(rw, r, MaxRequest)
		var maxErr *http.MaxBytesError
		switch {
		case errors.Is(err, httpserver.ErrBusy):
			rw.Header().Set("Retry-After", "1")
			http.Error(rw, err.Error(), http.StatusServiceUnavailable)
			return
		case errors.As(err, &maxErr):
			http.Error(rw, "request too large", http.StatusRequestEntityTooLarge)
			return
		case err != nil:
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		sig, err := w.AddCheckpoint(body)
		if err != nil {
			if !errors.Is(err, ErrConflict) {
				w.warn("refused a checkpoint: %v", err)
			}
			writeError(rw, err)
			return
		}
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		rw.Write(sig)
	})
	return mux
}

// writeError is the one place that maps errors to statuses.
func writeError(rw http.ResponseWriter, err error) {
	var conflict *ConflictError
	switch {
	case errors.As(err, &conflict):
		rw.Header().Set("Content-Type", "text/x.tlog.size")
		rw.WriteHeader(http.StatusConflict)
		fmt.Fprintf(rw, "%d\n", conflict.Size)
	case errors.Is(err, ErrUnknownLog):
		http.Error(rw, err.Error(), http.StatusNotFound)
	case errors.Is(err, ErrBadSignature):
		http.Error(rw, err.Error(), http.StatusForbidden)
	case errors.Is(err, ErrMalformed):
		http.Error(rw, err.Error(), http.StatusBadRequest)
	case errors.Is(err, ErrBadProof):
		http.Error(rw, err.Error(), http.StatusUnprocessableEntity)
	default:
		http.Error(rw, "internal error", http.StatusInternalServerError)
	}
}
