package translog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestAttackFullEntryBundle fills one entry bundle with 256 entries of the
// largest admissible size: the client must read it whole. A client that
// read at most 1 MiB failed on every later pass ("truncated entry"), so an
// attacker who could add 17 big entries blinded every monitor.
func TestAttackFullEntryBundle(t *testing.T) {
	s, c, _ := newServer(t)
	ctx := context.Background()
	batch := make([][]byte, 1<<TileHeight)
	for i := range batch {
		batch[i] = append([]byte(fmt.Sprintf("ok %03d ", i)), bytes.Repeat([]byte{'x'}, MaxEntrySize-7)...)
	}
	if _, err := s.Append(batch); err != nil {
		t.Fatal(err)
	}
	cp, err := c.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.EntryBundle(0, 1<<TileHeight)
	if err != nil || len(b) != MaxEntryBundleSize {
		t.Fatalf("bundle of %d bytes (%v), want MaxEntryBundleSize = %d", len(b), err, MaxEntryBundleSize)
	}
	got, err := c.Entries(ctx, 0, cp.Size, cp.Checkpoint)
	if err != nil {
		t.Fatalf("reading a full bundle of the largest entries: %v", err)
	}
	if len(got) != len(batch) || !bytes.Equal(got[255], batch[255]) {
		t.Fatalf("got %d entries", len(got))
	}
}

// TestClientRefusesOversizedResponses checks that each endpoint's limit is
// enforced as an error, not by silently cutting the answer.
func TestClientRefusesOversizedResponses(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	cp := Checkpoint{Origin: s.Origin(), Size: 2}
	for name, tt := range map[string]struct {
		size int
		call func(c *Client) error
	}{
		"checkpoint": {MaxCheckpointSize, func(c *Client) error { _, err := c.Checkpoint(ctx); return err }},
		"bundle":     {MaxEntryBundleSize, func(c *Client) error { _, err := c.Entries(ctx, 0, 1, cp); return err }},
		"inclusion":  {MaxHashLinesSize, func(c *Client) error { _, err := c.InclusionProof(ctx, 0, LeafHash(nil), cp); return err }},
		"consistency": {MaxHashLinesSize, func(c *Client) error {
			return c.CheckConsistency(ctx, Checkpoint{Origin: cp.Origin, Size: 1}, cp)
		}},
		"add": {MaxProofSize, func(c *Client) error { _, _, err := c.Add(ctx, []byte("ok")); return err }},
		"tile": {MaxTileSize, func(c *Client) error {
			_, err := c.do(ctx, http.MethodGet, "/tile/0/000", nil, MaxTileSize)
			return err
		}},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write(bytes.Repeat([]byte{'A'}, tt.size+1))
		}))
		c, err := NewClient(srv.URL, s.VerifierKey())
		if err != nil {
			t.Fatal(err)
		}
		if err := tt.call(c); !errors.Is(err, ErrResponseTooLarge) {
			t.Errorf("%s of %d bytes: %v, want ErrResponseTooLarge", name, tt.size+1, err)
		}
		srv.Close()
	}
}
