package witness

import (
	"errors"
	"fmt"
	"io"
	"net/http"
)

// DefaultMaxBodies bounds the add-checkpoint bodies read at once (see
// Witness.MaxBodies).
const DefaultMaxBodies = 64

// Handler serves POST /add-checkpoint (C2SP tlog-witness). It reads at
// most MaxBodies request bodies at once and answers 503 with Retry-After
// beyond, before reading: a client that sends all but the last byte and
// waits holds its buffer until the server's Read timeout, and thousands of
// them would hold hundreds of megabytes.
func (w *Witness) Handler() http.Handler {
	mux := http.NewServeMux()
	n := w.MaxBodies
	if n <= 0 {
		n = DefaultMaxBodies
	}
	bodies := make(chan struct{}, n)
	mux.HandleFunc("POST /add-checkpoint", func(rw http.ResponseWriter, r *http.Request) {
		select {
		case bodies <- struct{}{}:
		default:
			rw.Header().Set("Retry-After", "1")
			http.Error(rw, "too many requests being read", http.StatusServiceUnavailable)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, MaxRequest))
		<-bodies
		if err != nil {
			http.Error(rw, "request too large", http.StatusRequestEntityTooLarge)
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
