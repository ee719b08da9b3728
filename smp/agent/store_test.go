package agent

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/nacl/secretbox"
	"golang.org/x/crypto/scrypt"
)

// writeV1 writes plain as the first version of the state file did:
// format v1, scrypt N=2^15.
func writeV1(t *testing.T, path string, passphrase, plain []byte) {
	t.Helper()
	f := sealedFile{Format: stateFormatV1, KDF: "scrypt", N: 1 << 15, R: 8, P: 1, Salt: make([]byte, 32), Nonce: make([]byte, 24)}
	rand.Read(f.Salt)
	rand.Read(f.Nonce)
	k, err := scrypt.Key(passphrase, f.Salt, f.N, f.R, f.P, 32)
	if err != nil {
		t.Fatal(err)
	}
	f.Box = secretbox.Seal(nil, plain, (*[24]byte)(f.Nonce), (*[32]byte)(k))
	b, _ := json.Marshal(f)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func header(t *testing.T, path string) sealedFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f sealedFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestStateV1Upgrade: a v1 file (the old scrypt cost, the old state
// without replay memory) opens, keeps its contents, and is written back
// as v2 at the current cost, which opens too.
func TestStateV1Upgrade(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	pass := []byte("correct horse")
	old := `{"clean":false,"contacts":{"bob":{"name":"bob","status":"connected",` +
		`"recv":{"server":"smp://47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU@127.0.0.1:5223","rid":"AQID","recipientKey":"","serverSecret":null,"encKey":"","lastSeq":7,"resync":true},` +
		`"send":{"server":"smp://47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU@127.0.0.1:5223","sid":"BAUG","senderKey":"","dh":"","peerEK":"","seq":3,"reserved":259}}}}`
	writeV1(t, path, pass, []byte(old))
	if _, _, err := OpenStore(path, []byte("wrong")); !errors.Is(err, ErrPassphrase) {
		t.Fatalf("v1 file, wrong passphrase: %v", err)
	}
	store, st, err := OpenStore(path, pass)
	if err != nil {
		t.Fatal(err)
	}
	c := st.Contacts["bob"]
	if c == nil || c.Recv.LastSeq != 7 || !c.Recv.Resync || c.Send.Reserved != 259 || st.Clean {
		t.Fatalf("v1 state read as %+v", c)
	}
	if err := store.Save(st); err != nil {
		t.Fatal(err)
	}
	store.Close()
	if h := header(t, path); h.Format != stateFormat || h.N != scryptN || h.R != 8 || h.P != 1 {
		t.Fatalf("saved as %s N=%d r=%d p=%d; want %s N=%d r=8 p=1", h.Format, h.N, h.R, h.P, stateFormat, scryptN)
	}
	store, st, err = OpenStore(path, pass)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if st.Contacts["bob"].Send.Reserved != 259 {
		t.Fatal("the upgraded state lost its counters")
	}
}

// TestStateRefusesScryptParameters: a header cannot make the reader use
// gigabytes, nor pass off a cost too low to have been written here.
func TestStateRefusesScryptParameters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	for _, n := range []int{1 << 10, 1 << 19, 1 << 21, 3 << 15} {
		f := sealedFile{Format: stateFormat, KDF: "scrypt", N: n, R: 8, P: 1, Salt: make([]byte, 32), Nonce: make([]byte, 24)}
		b, _ := json.Marshal(f)
		os.WriteFile(path, b, 0o600)
		if _, _, err := OpenStore(path, []byte("p")); err == nil {
			t.Errorf("N=%d: opened", n)
		}
	}
}

// TestAttackEmptyPassphrase: a new state is not sealed with an empty
// passphrase. Before, the terminal's empty answer made a state whose
// keys anyone with the file could read.
func TestAttackEmptyPassphrase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	if _, _, err := OpenStore(path, nil); !errors.Is(err, ErrEmptyPassphrase) {
		t.Fatalf("empty passphrase: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a state file was left behind: %v", err)
	}
}

// TestAttackQueueLookupIgnoresServer: two contacts whose queues on two
// servers have the same recipient ID. Before, a delivery was matched by
// the ID alone, so the second server could feed its messages (and a
// confirmation) to the first server's contact.
func TestAttackQueueLookupIgnoresServer(t *testing.T) {
	const a, b = "smp://47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU@a.example:5223", "smp://47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU@b.example:5223"
	rid := []byte{1, 2, 3}
	st := newState()
	st.Contacts["bob"] = &Contact{Name: "bob", Recv: &RecvQueue{Server: a, RID: rid}}
	st.Contacts["mallory"] = &Contact{Name: "mallory", Recv: &RecvQueue{Server: b, RID: rid}}
	for _, tc := range []struct{ server, want string }{{a, "bob"}, {b, "mallory"}, {"smp://x@c.example", ""}} {
		got := ""
		if c := st.byQueue(tc.server, rid); c != nil {
			got = c.Name
		}
		if got != tc.want {
			t.Errorf("queue %x on %s: got contact %q, want %q", rid, tc.server, got, tc.want)
		}
	}
}
