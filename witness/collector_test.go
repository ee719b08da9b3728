package witness

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"ssms.dev/ssms/translog"
)

// honestWitnesses starts n witness servers for log and returns their URLs
// and vkeys.
func honestWitnesses(t *testing.T, log *testLog, names ...string) (urls, vkeys []string) {
	t.Helper()
	for _, name := range names {
		c, vkey := newCosigner(t, name)
		w, err := New(t.TempDir(), c, []string{log.vkey})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(w.Handler())
		t.Cleanup(srv.Close)
		urls, vkeys = append(urls, srv.URL), append(vkeys, vkey)
	}
	return urls, vkeys
}

// floodingWitness answers every add-checkpoint with n valid cosignatures of
// the checkpoint by its own key, each with another timestamp.
func floodingWitness(t *testing.T, name string, n int) (url, vkey string) {
	t.Helper()
	c, vkey := newCosigner(t, name)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_, signed, _ := strings.Cut(string(body), "\n\n")
		text, _, _ := strings.Cut(signed, "\n\n")
		for i := range n {
			c.now = func() time.Time { return time.Now().Add(-time.Duration(i) * time.Second) }
			sig, err := note.Sign(&note.Note{Text: text + "\n"}, c)
			if err != nil {
				t.Error(err)
				return
			}
			_, line, _ := bytes.Cut(sig, []byte("\n\n"))
			w.Write(line)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, vkey
}

func cosignedAdd(t *testing.T, log *testLog, col *Collector) *translog.SignedCheckpoint {
	t.Helper()
	col.Timeout = 2 * time.Second
	seq := translog.NewWitnessedSequencer(log.store, 1024, 1024, translog.WitnessOptions{Cosigner: col})
	t.Cleanup(seq.Close)
	_, cp, err := seq.Add(context.Background(), []byte("release"))
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

// TestAttackWitnessFloodsCosignatures: one listed witness answers with 101
// valid cosignature lines. The note would carry more signatures than
// sumdb/note opens, and the log would publish the checkpoint with none,
// the honest witnesses' included. The log keeps one line per witness key.
func TestAttackWitnessFloodsCosignatures(t *testing.T) {
	log := newLog(t, "log.example")
	urls, vkeys := honestWitnesses(t, log, "w1", "w2")
	badURL, badVKey := floodingWitness(t, "w3", 101)
	urls, vkeys = append(urls, badURL), append(vkeys, badVKey)
	col, err := NewCollector(urls, vkeys)
	if err != nil {
		t.Fatal(err)
	}
	cp := cosignedAdd(t, log, col)
	q, err := CheckQuorum(cp.Raw, vkeys, 3, time.Now(), time.Hour)
	if err != nil {
		t.Fatalf("checkpoint after a flooding witness: %v\n%s", err, cp.Raw)
	}
	if got := strings.Count(string(cp.Raw), "\n— "); got != 1+3 {
		t.Errorf("%d signature lines, want the log's and one per witness (%v)", got, q.Witnesses)
	}
	if newest := time.Since(q.Fresh); newest > time.Minute {
		t.Errorf("newest cosignature %v old", newest)
	}
}

// TestAttackRotationWitnessKeyTwice: a log serving the old and the new
// policy during a rotation lists each witness key twice. That is one key,
// and its cosignatures are attached; sumdb/note would refuse the verifier
// list as ambiguous and drop every cosignature.
func TestAttackRotationWitnessKeyTwice(t *testing.T) {
	log := newLog(t, "log.example")
	urls, vkeys := honestWitnesses(t, log, "w1", "w2")
	col, err := NewCollector(urls, append(vkeys, vkeys...))
	if err != nil {
		t.Fatal(err)
	}
	cp := cosignedAdd(t, log, col)
	if _, err := CheckQuorum(cp.Raw, vkeys, 2, time.Now(), time.Hour); err != nil {
		t.Fatalf("witness keys listed twice: %v\n%s", err, cp.Raw)
	}
	if got := strings.Count(string(cp.Raw), "\n— "); got != 1+2 {
		t.Errorf("%d signature lines, want 3", got)
	}
}

// TestCollectorNoteLimits: with more known witnesses than a note can carry,
// the log attaches what fits and its checkpoint still opens.
func TestCollectorNoteLimits(t *testing.T) {
	log := newLog(t, "log.example")
	cp := log.grow(t, 1)
	col := &Collector{}
	got := map[int]cosignature{}
	for i := range 150 {
		c, vkey := newCosigner(t, "w"+strings.Repeat("x", 40)+string(rune('a'+i%26))+string(rune('a'+i/26)))
		v, err := NewVerifier(vkey)
		if err != nil {
			t.Fatal(err)
		}
		col.known = append(col.known, v)
		sig, err := note.Sign(&note.Note{Text: cp.Note.Text}, c)
		if err != nil {
			t.Fatal(err)
		}
		_, line, _ := bytes.Cut(sig, []byte("\n\n"))
		got[i] = cosignature{key: i, line: string(line)}
	}
	out := col.attach(cp, got)
	if n := strings.Count(string(out), "\n— "); n < 90 || n > 100 {
		t.Errorf("%d signatures, want what fits in a note", n)
	}
	v, err := translog.NewVerifier(log.vkey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := translog.OpenCheckpoint(out, cp.Origin, v); err != nil {
		t.Fatalf("cosigned checkpoint does not open: %v", err)
	}
}
