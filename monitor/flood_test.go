package monitor

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"ssms.dev/ssms/internal/admission"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/signer"
	"ssms.dev/ssms/translog"
)

// These tests mount the flood of issue 12 against a log that admits as
// `ssms log serve` does, then check that the monitor still reports the bad
// release that follows.

// serveAdmitting replaces the fixture's permissive server by one that
// admits with the policy's keys, under the default per-key limit.
func (f *fixture) serveAdmitting() string {
	f.srvStop()
	var err error
	if f.store, err = translog.Open(f.logDir); err != nil {
		f.t.Fatal(err)
	}
	f.seq = translog.NewSequencer(f.store, 1<<16, 4096)
	s := translog.NewServer(f.store, f.seq, admission.New([]*policies.Policy{f.pol}))
	if f.keyLimit != 0 {
		s.KeyLimit = f.keyLimit
	}
	srv := httptest.NewServer(s.Handler())
	f.srvStop = func() { srv.Close(); f.seq.Close(); f.store.Close() }
	f.t.Cleanup(f.srvStop)
	f.client, _ = translog.NewClient(srv.URL, f.store.VerifierKey())
	return srv.URL
}

// post submits entry as anyone can, and returns the status.
func post(t *testing.T, url string, entry []byte) int {
	t.Helper()
	resp, err := http.Post(url+"/add", "application/json", bytes.NewReader(entry))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func marshal(t *testing.T, env *manifest.Envelope) []byte {
	t.Helper()
	b, err := env.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// padded is a junk envelope of nearly the largest size, signed by signers.
func (f *fixture) padded(i int, signers ...string) *manifest.Envelope {
	payload := bytes.Repeat([]byte{'A' + byte(i%26)}, 48_000)
	copy(payload, fmt.Sprintf("flood %d ", i))
	return f.sign(&manifest.Envelope{PayloadType: "application/x-flood", Payload: payload}, signers...)
}

func (f *fixture) size() int64 { return f.store.Checkpoint().Size }

// TestAttackFloodByStranger replays the log's public entries in every
// variant a stranger can make without a key, and submits envelopes signed by
// the stranger's own key: the log grows by nothing, and the monitor reports
// the below-threshold release published next.
func TestAttackFloodByStranger(t *testing.T) {
	f := newFixture(t)
	url := f.serveAdmitting()
	m := &Monitor{Log: f.client, Pinned: f.pol, Dir: t.TempDir()}
	ctx := context.Background()
	rel := f.release("1.0.0", 1, "a", "alice", "bob")
	for _, e := range []*manifest.Envelope{f.polEnv, rel} {
		if status := post(t, url, marshal(t, e)); status != 200 {
			t.Fatalf("a genuine entry: %d", status)
		}
	}
	if pass, err := m.Run(ctx); err != nil || len(pass.Findings) != 0 {
		t.Fatalf("clean log: %v %v", err, pass)
	}
	stranger, _ := signer.Generate(signer.Ed25519)
	strangerSigner, _ := signer.NewKeySigner(stranger)
	f.keys["stranger"] = strangerSigner

	raw := marshal(t, rel)
	edit := func(edit func(e *manifest.Envelope)) []byte {
		e, _ := manifest.ParseEnvelope(raw)
		edit(e)
		return marshal(t, e)
	}
	variants := map[string][]byte{
		"same bytes":        raw,
		"compact":           []byte(strings.NewReplacer("\n", "", "  ", "").Replace(string(raw))),
		"CRLF":              bytes.ReplaceAll(raw, []byte("\n"), []byte("\r\n")),
		"trailing newlines": append(bytes.Clone(raw), "\n\n\n"...),
		"key ID hint":       edit(func(e *manifest.Envelope) { e.Signatures[0].KeyID = "SHA256:anything" }),
		"no key ID":         edit(func(e *manifest.Envelope) { e.Signatures[1].KeyID = "" }),
		"reordered":         edit(func(e *manifest.Envelope) { e.Signatures[0], e.Signatures[1] = e.Signatures[1], e.Signatures[0] }),
		"one signature":     edit(func(e *manifest.Envelope) { e.Signatures = e.Signatures[:1] }),
		"signature twice":   edit(func(e *manifest.Envelope) { e.Signatures = append(e.Signatures, e.Signatures[0]) }),
		"junk signature": edit(func(e *manifest.Envelope) {
			e.Signatures = append(e.Signatures, manifest.Signature{KeyID: f.keys["carol"].Public().ID(), Sig: bytes.Repeat([]byte{7}, 64)})
		}),
		"stranger cosigns": edit(func(e *manifest.Envelope) { f.sign(e, "stranger") }),
		"policy replayed":  marshal(t, f.polEnv),
	}
	before := f.size()
	statuses := map[int]int{}
	const rounds = 100
	for i := range rounds {
		for _, v := range variants {
			statuses[post(t, url, v)]++
		}
		// Copies no two alike, padded to nearly the largest entry.
		statuses[post(t, url, edit(func(e *manifest.Envelope) { e.Signatures[0].KeyID = fmt.Sprintf("hint %d", i) }))]++
		statuses[post(t, url, edit(func(e *manifest.Envelope) {
			for j := range 60 {
				junk := bytes.Repeat([]byte{byte(i)}, 760)
				junk[0] = byte(j)
				e.Signatures = append(e.Signatures, manifest.Signature{Sig: junk})
			}
		}))]++
		statuses[post(t, url, marshal(t, f.padded(i, "stranger")))]++
	}
	t.Logf("%d submissions by a stranger: status → count %v", rounds*(len(variants)+3), statuses)
	if grown := f.size() - before; grown != 0 {
		t.Fatalf("a stranger grew the log by %d entries", grown)
	}

	bad := f.release("1.1.0", 2, "b", "alice") // below the threshold of 2
	if status := post(t, url, marshal(t, bad)); status != 200 {
		t.Fatalf("the bad release: %d", status)
	}
	pass, err := m.Run(ctx)
	if err != nil {
		t.Fatalf("monitor after the flood: %v", err)
	}
	if got, want := kinds(pass), fmt.Sprintf("below-threshold@%d", f.size()-1); got != want {
		t.Fatalf("findings %q, want %q", got, want)
	}
}

// TestAttackFloodByMaintainerKey floods with nearly the largest entries,
// each signed by one stolen maintainer key: the log takes the key's hourly
// allowance and no more, a release co-signed by others still goes in, and
// the monitor reads through the full-size entries and reports every junk
// entry and the below-threshold release that follows.
func TestAttackFloodByMaintainerKey(t *testing.T) {
	f := newFixture(t)
	url := f.serveAdmitting()
	m := &Monitor{Log: f.client, Pinned: f.pol, Dir: t.TempDir()}
	ctx := context.Background()
	f.log(f.polEnv) // past history, charged to no key
	before := f.size()
	statuses := map[int]int{}
	const flood = 100
	for i := range flood {
		statuses[post(t, url, marshal(t, f.padded(i, "alice")))]++
	}
	t.Logf("%d entries of %d bytes signed by one maintainer key: status → count %v", flood, len(marshal(t, f.padded(0, "alice"))), statuses)
	if grown := f.size() - before; grown != translog.DefaultKeyLimit || statuses[429] != flood-translog.DefaultKeyLimit {
		t.Fatalf("the log grew by %d entries (%d refused with 429); want the key's limit, %d", grown, statuses[429], translog.DefaultKeyLimit)
	}
	if status := post(t, url, marshal(t, f.release("1.0.0", 1, "a", "alice", "bob"))); status != 200 {
		t.Fatalf("a release co-signed by the flooded key and another: %d", status)
	}
	bad := f.release("1.1.0", 2, "b", "bob") // below the threshold of 2
	if status := post(t, url, marshal(t, bad)); status != 200 {
		t.Fatalf("the bad release: %d", status)
	}
	pass, err := m.Run(ctx)
	if err != nil {
		t.Fatalf("monitor after the flood: %v", err)
	}
	var want []string
	for i := range translog.DefaultKeyLimit {
		want = append(want, fmt.Sprintf("unknown-payload@%d", before+int64(i)))
	}
	want = append(want, fmt.Sprintf("below-threshold@%d", f.size()-1))
	if got := kinds(pass); got != strings.Join(want, " ") {
		t.Fatalf("findings:\n got %s\nwant %s", got, strings.Join(want, " "))
	}
}

// TestAttackStolenKeyPairsPublicSignatures mounts the red team's
// ratelimit_dos: the holder of one stolen key (carol's) pairs it with
// alice's and bob's public signatures on logged releases in every way, and
// floods with its own entries. Only carol's allowance is spent: alice and
// bob publish their next release, and the monitor reports the
// below-threshold release that follows.
func TestAttackStolenKeyPairsPublicSignatures(t *testing.T) {
	f := newFixture(t)
	f.keyLimit = 3
	url := f.serveAdmitting()
	m := &Monitor{Log: f.client, Pinned: f.pol, Dir: t.TempDir()}
	f.log(f.polEnv)
	var logged []*manifest.Envelope
	for i, v := range []string{"1.0.0", "1.1.0"} {
		rel := f.release(v, uint64(i+1), "a", "alice", "bob")
		if status := post(t, url, marshal(t, rel)); status != 200 {
			t.Fatalf("release %s: %d", v, status)
		}
		logged = append(logged, rel)
	}
	before := f.size()
	statuses := map[int]int{}
	for _, rel := range logged {
		raw := marshal(t, rel)
		for _, keep := range [][]int{{0}, {1}, {0, 1}} {
			e, _ := manifest.ParseEnvelope(raw)
			var sigs []manifest.Signature
			for _, k := range keep {
				sigs = append(sigs, e.Signatures[k])
			}
			e.Signatures = sigs
			statuses[post(t, url, marshal(t, f.sign(e, "carol")))]++
		}
	}
	for i := range 10 {
		statuses[post(t, url, marshal(t, f.padded(i, "carol")))]++
	}
	t.Logf("the stolen key's submissions: status → count %v", statuses)
	// Its allowance, 3, and one free merge ({alice, bob, carol}) for each of
	// the two releases its signature joined.
	if grown := f.size() - before; grown != 3+2 {
		t.Errorf("the stolen key grew the log by %d entries, want its allowance, 3, and 2 merges", grown)
	}
	if status := post(t, url, marshal(t, f.release("1.2.0", 3, "c", "alice", "bob"))); status != 200 {
		t.Fatalf("the maintainers' next release: %d, want 200", status)
	}
	if status := post(t, url, marshal(t, f.release("1.3.0", 4, "d", "bob"))); status != 200 {
		t.Fatalf("the bad release: %d", status)
	}
	pass, err := m.Run(context.Background())
	if err != nil {
		t.Fatalf("monitor after the flood: %v", err)
	}
	if got, want := kinds(pass), fmt.Sprintf("below-threshold@%d", f.size()-1); !strings.HasSuffix(got, want) {
		t.Fatalf("findings %q, want them to end with %q", got, want)
	}
}
