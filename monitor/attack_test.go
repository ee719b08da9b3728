package monitor

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"ssms.dev/ssms/translog"
)

// TestAttackForkAtPowerOfTwo: a log that forks after the monitor verified
// size m must leave conclusive evidence whatever m is. When m is a power of
// two, the log's own RFC 6962 consistency proof omits the old root (it is
// the first node of the newer tree), so the proof alone proves nothing; the
// evidence carries that root, and a proof from it, read from the log's
// tiles and authenticated by the newer signed root.
//
// The forked log fights back: it answers every consistency proof request
// with an error, with a garbage proof, or with its true proof.
func TestAttackForkAtPowerOfTwo(t *testing.T) {
	fronts := map[string]func(http.Handler) http.Handler{
		"honest proof": nil,
		"no proof": func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(r.URL.Path, "/proof/consistency") {
					http.Error(w, "no proof for you", http.StatusInternalServerError)
					return
				}
				h.ServeHTTP(w, r)
			})
		},
		"garbage proof": func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(r.URL.Path, "/proof/consistency") {
					fmt.Fprintln(w, translog.EncodeHash(tlog.Hash{1}))
					return
				}
				h.ServeHTTP(w, r)
			})
		},
	}
	for front, wrap := range fronts {
		for _, sz := range [][2]int{{1, 4}, {2, 3}, {4, 5}, {4, 8}, {8, 13}, {3, 7}, {5, 5}} {
			t.Run(fmt.Sprintf("%s/%d-%d", front, sz[0], sz[1]), func(t *testing.T) {
				forkAndCheck(t, wrap, sz[0], sz[1])
			})
		}
	}
}

func forkAndCheck(t *testing.T, wrap func(http.Handler) http.Handler, m0, n int) {
	sz := [2]int{m0, n}
	{
		{
			f := newFixture(t)
			m := &Monitor{Log: f.client, Pinned: f.pol, Dir: t.TempDir()}
			appendN(t, f, "honest", sz[0])
			if _, err := m.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			f.srvStop()
			key, _ := os.ReadFile(filepath.Join(f.logDir, "log.key"))
			vkey, _ := os.ReadFile(filepath.Join(f.logDir, "log.vkey"))
			os.RemoveAll(f.logDir)
			translog.Init(f.logDir, "monitor.test")
			os.WriteFile(filepath.Join(f.logDir, "log.key"), key, 0o600)
			os.WriteFile(filepath.Join(f.logDir, "log.vkey"), vkey, 0o644)
			os.Remove(filepath.Join(f.logDir, "checkpoint"))
			f.wrap = wrap
			f.serve(strings.TrimSpace(string(vkey)))
			appendN(t, f, "forked", sz[1])
			m.Log = f.client
			pass, err := m.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var path string
			for _, fd := range pass.Findings {
				if fd.Kind == KindInconsistentLog {
					path = fd.Evidence
				}
			}
			if path == "" {
				t.Fatalf("no evidence written: %s", kinds(pass))
			}
			b, _ := os.ReadFile(path)
			e, err := translog.ParseEvidence(b)
			if err != nil {
				t.Fatal(err)
			}
			if what, err := e.Check(f.client.VKey); err != nil {
				t.Fatalf("fork %d→%d: evidence is not conclusive: %v", sz[0], sz[1], err)
			} else {
				t.Log(what)
			}
		}
	}
}

func appendN(t *testing.T, f *fixture, what string, n int) {
	t.Helper()
	var batch [][]byte
	for i := range n {
		batch = append(batch, []byte(fmt.Sprintf("%s entry %d", what, i)))
	}
	if _, err := f.store.Append(batch); err != nil {
		t.Fatal(err)
	}
}
