package updater

// Attacks by the log (or a tile mirror) on an updater that has checked
// before: found by the outside review of the updater.

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/translog"
)

// TestAttackLogGoesBackAfterCheck: a log (or tile mirror) goes back to an
// older checkpoint, still fresh, after a --check saw a newer one. It is
// refused as a security event, with a report, and deleting the index (a
// cache) does not make the updater forget: the state remembers the newest
// checkpoint every check saw.
func TestAttackLogGoesBackAfterCheck(t *testing.T) {
	p := newProject(t, 1)
	p.publish("1.0.0", 1, "app 1.0.0")
	if _, err := p.updater().Update(context.Background()); err != nil {
		t.Fatal(err)
	}
	old, err := p.Client.Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p.publish("1.1.0", 2, "app 1.1.0")
	if st, err := p.updater().Check(context.Background()); err != nil || st.Newest == nil {
		t.Fatalf("check: %v %+v", err, st)
	}
	// The frozen tile mirror: everything from the log but the old checkpoint.
	frozen := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/checkpoint" {
			w.Write(old.Raw)
			return
		}
		resp, err := http.Get(p.URL + r.URL.Path)
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		buf := make([]byte, 32<<10)
		for {
			n, err := resp.Body.Read(buf)
			w.Write(buf[:n])
			if err != nil {
				break
			}
		}
	}))
	defer frozen.Close()
	u := p.updater()
	lc, err := translog.NewClient(frozen.URL, p.Client.VKey)
	if err != nil {
		t.Fatal(err)
	}
	u.Log = lc
	_, err = u.Update(context.Background())
	t.Logf("frozen log: %v", err)
	var ref *RefusedError
	if !errors.As(err, &ref) {
		t.Errorf("a log that went back from the checkpoint the last check saw is not refused as a security event (no report): %v", err)
	}
	os.RemoveAll(filepath.Join(p.state, "index")) // as the hint says
	st, err := u.Update(context.Background())
	if err == nil && st.Newest == nil {
		t.Errorf("after deleting the index as told, the frozen view is accepted: up to date at size %d", st.Checkpoint.Size)
	}
}

func copyDir(t *testing.T, from, to string) {
	err := filepath.Walk(from, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if fi.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		if !fi.Mode().IsRegular() || fi.Name() == ".lock" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, fi.Mode())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// forkAt copies the fixture's log as it is now and serves the copy: the
// same key, a history that will diverge from here.
func forkAt(t *testing.T, p *project) (*translog.Sequencer, *translog.Client) {
	dir := filepath.Join(t.TempDir(), "fork")
	copyDir(t, filepath.Dir(p.Store.CheckpointPath()), dir)
	st, err := translog.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	seq := translog.NewSequencer(st, 1<<16, 4096)
	h := translog.NewServer(st, seq, translog.AdmitFunc(func([]byte) error { return nil })).Handler()
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); seq.Close(); st.Close() })
	c, err := translog.NewClient(srv.URL, p.Client.VKey)
	if err != nil {
		t.Fatal(err)
	}
	return seq, c
}

func addTo(t *testing.T, seq *translog.Sequencer, env *manifest.Envelope) {
	b, _ := env.Marshal()
	if _, _, err := seq.Add(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

// TestAttackForkAfterLastCheck: the log forks after the checkpoint the
// last check saw (state.json used to move only on installs): refused as a
// fork, with evidence saved.
func TestAttackForkAfterLastCheck(t *testing.T) {
	p := newProject(t, 1)
	p.publish("1.0.0", 1, "app 1.0.0")
	if _, err := p.updater().Update(context.Background()); err != nil {
		t.Fatal(err)
	}
	forkSeq, forkClient := forkAt(t, p)
	p.publish("1.1.0", 2, "app 1.1.0") // the real history: +3 entries
	if _, err := p.updater().Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The fork: 4 other entries, so it is larger than what the check saw.
	for i := 0; i < 4; i++ {
		addTo(t, forkSeq, p.Release(manifest.TypeRelease, "1.1.0", 2, "evil "+string(rune('a'+i)), "alice", "bob"))
	}
	u := p.updater()
	u.Log = forkClient
	_, err := u.Update(context.Background())
	t.Logf("forked log: %v", err)
	var ref *RefusedError
	if !errors.As(err, &ref) || ref.Check != "fork" || ref.Evidence == "" {
		t.Errorf("a log that forked after the last check's checkpoint is not refused as a fork with evidence: %v", err)
	}
}
