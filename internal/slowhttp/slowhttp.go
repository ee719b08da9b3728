// Package slowhttp is a hostile HTTP server's behaviour for tests: a
// slow-loris answer that keeps a client busy without ever stalling long.
package slowhttp

import (
	"net/http"
	"time"
)

// Trickle answers 200 and then one byte every every, for as long as the
// client listens: each byte resets an idle timer, so only a deadline on
// the whole download ends it.
func Trickle(every time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		for {
			if _, err := w.Write([]byte(" ")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(every):
			}
		}
	}
}
