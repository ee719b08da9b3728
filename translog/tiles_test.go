package translog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestAttackTileIndexOverflow asks for tiles whose index, times 256, wraps
// around int64 into the tree (2^55 and 2^56 on a tree of 301 entries) or
// does not fit an int64 at all. Each must be 404 with Cache-Control:
// no-store, for hash tiles and entry bundles alike; malformed paths are
// 400. An index too long to be any tree's (8 groups) is past the tree: 404.
func TestAttackTileIndexOverflow(t *testing.T) {
	_, c, srv := newServer(t)
	addN(t, c, 301)
	for _, tt := range []struct {
		path   string
		status int
	}{
		{"/tile/0/001.p/45", 200},
		{"/tile/entries/001.p/45", 200},
		{"/tile/0/x036/x028/x797/x018/x963/968", 404},       // 2^55
		{"/tile/entries/x036/x028/x797/x018/x963/968", 404}, // 2^55
		{"/tile/0/x072/x057/x594/x037/x927/936", 404},       // 2^56: ·256 wraps to 0
		{"/tile/entries/x072/x057/x594/x037/x927/936.p/45", 404},
		{"/tile/1/x281/x474/x976/x710/656", 404}, // 2^48 at level 1
		{"/tile/7/000.p/1", 404},
		{"/tile/0/x009/x223/x372/x036/x854/x775/807", 404}, // 2^63-1
		{"/tile/0/x018/x446/x744/x073/x709/x551/615", 404}, // 2^64-1: past int64
		{"/tile/entries/x999/x999/x999/x999/x999/x999/999", 404},
		{"/tile/0/x001/x000/x000/x000/x000/x000/x000/000", 404}, // past uint64
		{"/tile/entries/x999/x999/x999/x999/x999/x999/x999/x999/999.p/3", 404},
		{"/tile/0/x000/x001/x000/x000/x000/x000/x000/x000/000", 400}, // leading x000
		{"/tile/0/x001/x000/x000/x000/x000/x000/x000/x000/0000", 400},
		{"/tile/0/x000/001", 400},
		{"/tile/64/000", 400},
		{"/tile/0/001.p/0", 400},
		{"/tile/0/001.p/256", 400},
	} {
		resp, err := http.Get(srv.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("GET %s: %d (%d bytes), want %d", tt.path, resp.StatusCode, len(b), tt.status)
		}
		if cc := resp.Header.Get("Cache-Control"); tt.status != 200 && cc != "no-store" {
			t.Errorf("GET %s: Cache-Control %q on an error, want no-store", tt.path, cc)
		}
	}
}

// TestAttackCacheable404: a 404 for a tile, bundle or proof past the tree
// is heuristically cacheable (RFC 9111 4.2.2) unless it says otherwise; a
// CDN primed with future paths would serve the 404 once they exist. Every
// answer other than 200 carries Cache-Control: no-store.
func TestAttackCacheable404(t *testing.T) {
	_, c, srv := newServer(t)
	addN(t, c, 3)
	for path, want := range map[string]int{
		"/tile/0/000.p/4":                 404,
		"/tile/0/001":                     404,
		"/tile/entries/000.p/4":           404,
		"/tile/1/000.p/1":                 404,
		"/proof/inclusion?index=0&size=4": 404,
		"/proof/consistency?old=1&new=4":  404,
		"/proof/consistency?old=2&new=1":  400,
		"/tile/0/0000":                    400,
		"/checkpoint/x":                   404,
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: %d Cache-Control %q, want %d no-store", path, resp.StatusCode, resp.Header.Get("Cache-Control"), want)
		}
	}
	resp, err := http.Post(srv.URL+"/add", "application/octet-stream", strings.NewReader("not admitted"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("POST /add refused: %d Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
}

// TestCheckTileBounds checks the store's own bound, below the HTTP parser,
// at the edges of a tree of 301 entries and near the int64 limit.
func TestCheckTileBounds(t *testing.T) {
	s, c, _ := newServer(t)
	addN(t, c, 301)
	for _, tt := range []struct {
		level, n int64
		w        int
		ok       bool
	}{
		{0, 0, 256, true},
		{0, 1, 45, true},
		{0, 1, 46, false},
		{0, 1, 256, false},
		{1, 0, 1, true},
		{1, 0, 2, false},
		{2, 0, 1, false},
		{0, 1 << 55, 256, false},
		{0, 1 << 56, 45, false},
		{0, 1<<63 - 1, 1, false},
		{1, 1 << 47, 1, false},
		{7, 0, 1, false},
	} {
		err := s.checkTile(tt.level, tt.n, tt.w)
		if (err == nil) != tt.ok {
			t.Errorf("checkTile(%d, %d, %d) = %v, want ok %v", tt.level, tt.n, tt.w, err, tt.ok)
		}
	}
}

// addN adds n entries concurrently, so that they share checkpoints.
func addN(t *testing.T, c *Client, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := c.Add(context.Background(), []byte(fmt.Sprintf("ok %d", i))); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

// tilePathGrammar is C2SP tlog-tiles' N[.p/W], written independently of
// parseTileIndex: at most 7 groups (2^64 has 20 digits), W from 1 to 255.
var tilePathGrammar = regexp.MustCompile(`^((x[0-9]{3}/){0,6})([0-9]{3})(\.p/([1-9][0-9]?|1[0-9][0-9]|2[0-4][0-9]|25[0-5]))?$`)

// FuzzParseTileIndexReference checks parseTileIndex against the grammar and
// math/big: a path parses if and only if it is canonical and its index fits
// an int64, is ErrNotFound if it is canonical and does not fit, and the
// index is the decimal number its digits spell.
func FuzzParseTileIndexReference(f *testing.F) {
	for _, s := range []string{"000", "x001/x234/067.p/12", "x036/x028/x797/x018/x963/968",
		"x009/x223/x372/x036/x854/x775/808", "x000/001", "001.p/0", "x999/x999/x999/x999/x999/x999/999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		n, w, err := parseTileIndex(path)
		m := tilePathGrammar.FindStringSubmatch(path)
		canonical := m != nil && !strings.HasPrefix(path, "x000/")
		if !canonical {
			if err == nil || errors.Is(err, ErrNotFound) {
				t.Fatalf("%q is not canonical: got %d, %d, %v", path, n, w, err)
			}
			return
		}
		digits := strings.NewReplacer("x", "", "/", "").Replace(m[1]) + m[3]
		want, _ := new(big.Int).SetString(digits, 10)
		if !want.IsInt64() {
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("%q is past int64: got %d, %d, %v", path, n, w, err)
			}
			return
		}
		wantW := 256
		if m[5] != "" {
			wantW, _ = strconv.Atoi(m[5])
		}
		if err != nil || n != want.Int64() || w != wantW {
			t.Fatalf("%q: got %d, %d, %v; want %v, %d", path, n, w, err, want, wantW)
		}
	})
}
