package translog

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestAttackEndless503: a log that answers 503 forever used to hold a
// client (a monitor pass, a publish) for as long as its context lasted.
// The client now gives up after maxRetries waits and says so.
func TestAttackEndless503(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "0")
		http.Error(w, "busy", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	c := &Client{URL: srv.URL, HTTP: srv.Client()}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	_, err := c.do(ctx, http.MethodGet, "/checkpoint", nil, MaxCheckpointSize)
	var herr *HTTPError
	if !errors.As(err, &herr) || herr.Status != http.StatusServiceUnavailable {
		t.Fatalf("err = %v, want the log's 503", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("the client waited until its context ended (%v)", time.Since(start))
	}
	if got := calls.Load(); got != maxRetries+1 {
		t.Errorf("%d requests, want %d", got, maxRetries+1)
	}
}
