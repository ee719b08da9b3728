package slowhttp

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestTrickle: bytes keep coming, slowly, until the client goes away.
func TestTrickle(t *testing.T) {
	srv := httptest.NewServer(Trickle(10 * time.Millisecond))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n, _ := io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK || n < 3 || n > 40 {
		t.Errorf("status %d, %d bytes in 300 ms at one per 10 ms", resp.StatusCode, n)
	}
}
