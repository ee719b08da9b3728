package translog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// keyedAdmitter admits "ok SUBJECT NONCE KEY...": the claim is SUBJECT,
// signed by the KEYs; NONCE makes other bytes with the same claim.
type keyedAdmitter struct{}

func (keyedAdmitter) Admit(e []byte) (Claim, error) {
	f := strings.Fields(string(e))
	if len(f) < 3 || f[0] != "ok" {
		return Claim{}, fmt.Errorf("%w: not ok", ErrNotAdmitted)
	}
	keys := slices.Compact(slices.Sorted(slices.Values(f[3:])))
	return Claim{Subject: sha256.Sum256([]byte(f[1])), Keys: keys}, nil
}

type keyedLog struct {
	store *Store
	srv   *Server
	url   string
	now   time.Time
}

func newKeyedLog(t *testing.T, store *Store, limit int) *keyedLog {
	t.Helper()
	seq := NewSequencer(store, DefaultMaxPending, DefaultMaxBatch)
	t.Cleanup(seq.Close)
	l := &keyedLog{store: store, now: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)}
	l.srv = NewServer(store, seq, keyedAdmitter{})
	l.srv.KeyLimit, l.srv.now = limit, func() time.Time { return l.now }
	hs := httptest.NewServer(l.srv.Handler())
	t.Cleanup(hs.Close)
	l.url = hs.URL
	return l
}

// add posts entry and returns the status, the proof's index and Retry-After.
func (l *keyedLog) add(t *testing.T, entry string) (status int, index int64, retry string) {
	t.Helper()
	resp, err := http.Post(l.url+"/add", "text/plain", strings.NewReader(entry))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, -1, resp.Header.Get("Retry-After")
	}
	p, err := ParseProof(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, p.Index, ""
}

func TestSameClaimSameIndex(t *testing.T) {
	s, _ := newStore(t)
	l := newKeyedLog(t, s, 0)
	for _, tt := range []struct {
		entry string
		want  int64
	}{
		{"ok rel 1 a b", 0},
		{"ok rel 1 a b", 0},   // the same bytes
		{"ok rel 2 b a", 0},   // other bytes, same signers
		{"ok rel 3 a", 0},     // fewer signers: the logged entry says more
		{"ok rel 4 a b c", 1}, // a new signer: a new entry
		{"ok rel 5 c", 1},
		{"ok other 6 a", 2},
	} {
		if status, got, _ := l.add(t, tt.entry); status != 200 || got != tt.want {
			t.Errorf("%q: %d, index %d; want index %d", tt.entry, status, got, tt.want)
		}
	}
	// Concurrent copies are one entry too.
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if status, got, _ := l.add(t, fmt.Sprintf("ok burst %d k", i)); status != 200 || got != 3 {
				t.Errorf("copy %d: %d, index %d; want index 3", i, status, got)
			}
		}()
	}
	wg.Wait()
	if size := s.Checkpoint().Size; size != 4 {
		t.Fatalf("log size %d, want 4", size)
	}
	// A restarted server rebuilds the index from the log.
	l2 := newKeyedLog(t, s, 0)
	if status, got, _ := l2.add(t, "ok rel 7 c b"); status != 200 || got != 1 {
		t.Errorf("after a restart: %d, index %d; want index 1", status, got)
	}
	// The client hands back the logged bytes, verified, when they differ.
	c, err := NewClient(l.url, s.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	var le *LoggedAsError
	if _, _, err := c.Add(context.Background(), []byte("ok rel 8 a")); !errors.As(err, &le) || le.Proof.Index != 0 || string(le.Entry) != "ok rel 1 a b" {
		t.Fatalf("Add of a copy: %v", err)
	}
}

func TestKeyLimit(t *testing.T) {
	s, _ := newStore(t)
	l := newKeyedLog(t, s, 3)
	for i := range 3 {
		if status, _, _ := l.add(t, fmt.Sprintf("ok r%d 0 a", i)); status != 200 {
			t.Fatalf("entry %d of key a: %d", i, status)
		}
	}
	l.now = l.now.Add(10 * time.Minute)
	if status, _, retry := l.add(t, "ok r3 0 a"); status != 429 || retry != "3000" {
		t.Errorf("4th entry of key a: %d, Retry-After %q; want 429 after 3000 s", status, retry)
	}
	if status, index, _ := l.add(t, "ok r1 1 a"); status != 200 || index != 1 {
		t.Errorf("a copy of a logged entry: %d, index %d; want it answered, not charged", status, index)
	}
	if status, _, _ := l.add(t, "ok r3 0 a b"); status != 200 {
		t.Errorf("co-signed by key b, which has room: %d", status)
	}
	for i := range 2 {
		l.add(t, fmt.Sprintf("ok s%d 0 b", i))
	}
	if status, _, _ := l.add(t, "ok r4 0 a b"); status != 429 {
		t.Errorf("both keys at the limit: %d", status)
	}
	if status, _, _ := l.add(t, "ok r5 0"); status != 200 {
		t.Errorf("no keys, not limited: %d", status)
	}
	l.now = l.now.Add(50 * time.Minute)
	if status, _, _ := l.add(t, "ok r4 0 a"); status != 200 {
		t.Errorf("an hour later: %d", status)
	}
	if size := s.Checkpoint().Size; size != 3+1+2+1+1 {
		t.Errorf("log size %d, want 8", size)
	}
}

// TestAttackStolenKeySpendsOthers mounts the red team's ratelimit_dos: the
// holder of one stolen key x pairs it with alice's and bob's public logged
// signatures in every way, hoping each variant is a new entry charged to
// alice or bob. Only x's own allowance may be spent, and the maintainers'
// next release must go in.
func TestAttackStolenKeySpendsOthers(t *testing.T) {
	s, _ := newStore(t)
	l := newKeyedLog(t, s, 3)
	for _, e := range []string{"ok rel1 0 alice bob", "ok rel2 0 alice bob"} {
		if status, _, _ := l.add(t, e); status != 200 {
			t.Fatalf("%q: %d", e, status)
		}
	}
	statuses := map[int]int{}
	for _, rel := range []string{"rel1", "rel2"} {
		for i, signers := range []string{"alice x", "bob x", "alice bob x", "alice", "bob x y"} {
			status, _, _ := l.add(t, fmt.Sprintf("ok %s %d %s", rel, i+1, signers))
			statuses[status]++
		}
	}
	for i := range 5 {
		status, _, _ := l.add(t, fmt.Sprintf("ok junk%d 0 x", i))
		statuses[status]++
	}
	t.Logf("the stolen key's submissions: status → count %v", statuses)
	if status, _, _ := l.add(t, "ok rel3 0 alice bob"); status != 200 {
		t.Fatalf("the maintainers' next release: %d, want 200", status)
	}
	// x's allowance, 3, bought {alice, x} for rel1 and rel2 and one junk
	// entry; y's bought {bob, x, y} for each; each release also took one
	// free merge, {alice, bob, x}; nothing was charged to alice or bob.
	if size := s.Checkpoint().Size; size != 2+3+2+2+1 {
		t.Errorf("log size %d, want 10", size)
	}
}

// TestAddsOrMerges checks the rule for a new entry of a logged subject: it
// adds a key, charged only to its new keys, or merges every logged key,
// free; anything else is refused.
func TestAddsOrMerges(t *testing.T) {
	s, _ := newStore(t)
	l := newKeyedLog(t, s, 1)
	step := func(entry string, status int, index int64) {
		t.Helper()
		if got, i, _ := l.add(t, entry); got != status || i != index {
			t.Errorf("%q: %d, index %d; want %d, index %d", entry, got, i, status, index)
		}
	}
	step("ok rel 0 a", 200, 0)       // a's one entry this hour
	step("ok rel 1 b", 200, 1)       // a new signature: charged to b
	step("ok rel 2 a b", 200, 2)     // nothing new, but merges everything logged: free
	step("ok rel 3 a c", 200, 3)     // charged to c
	step("ok rel 4 c", 200, 3)       // covered: a copy
	step("ok rel 5 a b c d", 200, 4) // charged to d
	step("ok rel 6 e", 200, 5)       // charged to e
	resp, err := http.Post(l.url+"/add", "text/plain", strings.NewReader("ok rel 7 a e"))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(b.String(), "does not carry all a, b, c, d, e") {
		t.Errorf("nothing new and no merge: %d %q", resp.StatusCode, b.String())
	}
	step("ok rel 8 a b c d e", 200, 6) // the merge
	step("ok rel 9 b e", 200, 6)       // a copy of the merge
	step("ok new 0 a", 429, -1)        // a's allowance was spent by its own first entry
}

// TestAttackPartialCopyBlocksRelease: under a rule that new entries must
// carry every logged signature, an outsider who logged a partly signed
// copy first (alice's alone), or a stolen rebuilder key's signature on the
// draft, kept the maintainers' {bob, carol} release out with 403.
func TestAttackPartialCopyBlocksRelease(t *testing.T) {
	s, _ := newStore(t)
	l := newKeyedLog(t, s, 10)
	step := func(entry string, status int, index int64) {
		t.Helper()
		if got, i, body := l.add(t, entry); got != status || i != index {
			t.Errorf("%q: %d, index %d (%s); want %d, index %d", entry, got, i, body, status, index)
		}
	}
	step("ok rel 0 alice", 200, 0)     // the outsider logs alice's partial copy
	step("ok rel 1 bob carol", 200, 1) // the maintainers' release still goes in
	step("ok draft 0 r1", 200, 2)      // a stolen rebuilder key signs the draft
	step("ok draft 1 alice bob", 200, 3)
}
