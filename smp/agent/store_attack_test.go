package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestAttackScryptCostCapped: a state file's header cannot make the
// reader spend more than 2^18 scrypt work. Before, 2^20 was read: 1 GiB
// and seconds before the passphrase was checked.
func TestAttackScryptCostCapped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	for _, n := range []int{1 << 19, 1 << 20} {
		f := sealedFile{Format: stateFormat, KDF: "scrypt", N: n, R: 8, P: 1, Salt: make([]byte, 32), Nonce: make([]byte, 24)}
		b, _ := json.Marshal(f)
		os.WriteFile(path, b, 0o600)
		start := time.Now()
		if _, _, err := OpenStore(path, []byte("p")); err == nil || errors.Is(err, ErrPassphrase) {
			t.Errorf("N=%d: %v; want the parameters refused", n, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("N=%d: refused after %v", n, d)
		}
	}
}

// TestAttackBlankPassphrase: a new state is not sealed with a passphrase
// of white space only; and an old (v1) state sealed with an empty one,
// which still opens, is not written again, upgraded but as readable as
// before, until it has a passphrase. Before, both happened.
func TestAttackBlankPassphrase(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{" ", "\t", "\n", " \r\n "} {
		if _, _, err := OpenStore(filepath.Join(dir, "new"), []byte(p)); !errors.Is(err, ErrEmptyPassphrase) {
			t.Errorf("new state, passphrase %q: %v", p, err)
		}
	}
	path := filepath.Join(dir, "v1")
	writeV1(t, path, nil, []byte(`{"clean":true,"contacts":{}}`))
	before, _ := os.ReadFile(path)
	store, st, err := OpenStore(path, nil)
	if err != nil {
		t.Fatalf("v1 state, empty passphrase: %v", err)
	}
	if !store.NeedsPassphrase() {
		t.Error("NeedsPassphrase is false")
	}
	if err := store.Save(st); !errors.Is(err, ErrEmptyPassphrase) {
		t.Errorf("save: %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("the file was written")
	}
	if err := store.Rekey([]byte("  "), st); !errors.Is(err, ErrEmptyPassphrase) {
		t.Errorf("rekey with a blank passphrase: %v", err)
	}
	if err := store.Rekey([]byte("a real one"), st); err != nil {
		t.Fatal(err)
	}
	store.Close()
	if h := header(t, path); h.Format != stateFormat || h.N != scryptN {
		t.Errorf("rekeyed as %s N=%d", h.Format, h.N)
	}
	if _, _, err := OpenStore(path, nil); !errors.Is(err, ErrPassphrase) {
		t.Errorf("empty passphrase after rekey: %v", err)
	}
	store, _, err = OpenStore(path, []byte("a real one"))
	if err != nil {
		t.Fatal(err)
	}
	store.Close()
}

// TestAttackStateGrowsPastReadLimit: what peers can make contacts hold
// (skipped numbers, epochs, kept answers) is written only while the
// reader would take it back. Before, Save wrote a state of any size, and
// the next OpenStore refused it: every conversation locked out. Now Save
// refuses, and the last good state stays.
func TestAttackStateGrowsPastReadLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	pass := []byte("pw")
	s, st, err := OpenStore(path, pass)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Save(st); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 300; i++ {
		r := &RecvQueue{Server: "x", RID: []byte{byte(i), byte(i >> 8)}}
		for j := 0; j < maxMissing; j++ {
			r.Missing = append(r.Missing, maxSeq-uint64(2000-j))
		}
		for j := 0; j < maxEpochs; j++ {
			r.Epochs = append(r.Epochs, newEpoch())
		}
		name := fmt.Sprintf("c%d", i)
		st.Contacts[name] = &Contact{Name: name, Status: StatusAccepted, Recv: r, Send: &SendQueue{Answer: make([]byte, WireSize)}}
	}
	if err := s.Save(st); !errors.Is(err, ErrStateTooLarge) {
		t.Fatalf("save: %v", err)
	}
	s.Close()
	if fi, _ := os.Stat(path); fi.Size() > maxStateBytes {
		t.Fatalf("wrote %d bytes", fi.Size())
	}
	s, st, err = OpenStore(path, pass)
	if err != nil {
		t.Fatalf("the last good state: %v", err)
	}
	s.Close()
	if len(st.Contacts) != 0 {
		t.Fatalf("reopened with %d contacts", len(st.Contacts))
	}
}
