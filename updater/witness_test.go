package updater

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"ssms.dev/ssms/internal/memlog"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/translog"
	"ssms.dev/ssms/verifier"
)

// cosigning serves p's log with its checkpoint cosigned, now, by the
// witnesses set last, as a log that collects cosignatures does.
type cosigning struct {
	mu sync.Mutex
	ws []*memlog.Witness
}

func (c *cosigning) set(ws ...*memlog.Witness) { c.mu.Lock(); c.ws = ws; c.mu.Unlock() }

func (c *cosigning) serve(t *testing.T, p *project) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := http.Get(p.URL + r.URL.RequestURI())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if r.URL.Path == "/checkpoint" && resp.StatusCode == http.StatusOK {
			text, _, _ := strings.Cut(string(body), "\n\n")
			c.mu.Lock()
			for _, ws := range c.ws {
				body = append(body, ws.Cosign(text+"\n", time.Now())...)
			}
			c.mu.Unlock()
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	var err error
	if p.Client, err = translog.NewClient(srv.URL, p.Client.VKey); err != nil {
		t.Fatal(err)
	}
}

func witnesses(names ...string) []*memlog.Witness {
	var ws []*memlog.Witness
	for _, n := range names {
		var seed [32]byte
		rand.Read(seed[:])
		ws = append(ws, memlog.NewWitness(n, seed))
	}
	return ws
}

// witnessedPolicy is version v of p's policy with witnesses ws (quorum
// 2), signed by alice and bob.
func witnessedPolicy(t *testing.T, p *project, v uint64, ws []*memlog.Witness) *manifest.Envelope {
	pol, _ := p.Policy(v, []string{"alice", "bob", "carol"})
	pol.Witnesses = policies.Witnesses{Quorum: 2}
	for _, w := range ws {
		pol.Witnesses.VKeys = append(pol.Witnesses.VKeys, w.VKey)
	}
	payload, err := pol.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return p.Sign(&manifest.Envelope{PayloadType: policies.PayloadType, Payload: payload}, "alice", "bob")
}

// TestWitnessRotation: the witnesses rotate (policy version 3 names
// others than version 2, in force at the install). The log's checkpoint,
// cosigned by the new ones only, is judged under the newest logged
// policy, verified link by link: the update is found and installed. A
// checkpoint nobody of either policy cosigned is still refused.
func TestWitnessRotation(t *testing.T) {
	p := newProject(t, 1)
	old, next := witnesses("w1.test", "w2.test"), witnesses("w3.test", "w4.test")
	var c cosigning
	c.set(old...)
	c.serve(t, p)
	p.Add(witnessedPolicy(t, p, 2, old))
	p.publish("1.0.0", 1, "app 1.0.0")
	if _, err := p.updater().Update(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.Add(witnessedPolicy(t, p, 3, next))
	c.set(next...)
	p.publish("1.1.0", 2, "app 1.1.0")
	st, err := p.updater().Update(context.Background())
	if err != nil || p.installed() != "app 1.1.0" {
		t.Fatalf("after the witnesses rotated: %v, installed %q", err, p.installed())
	}
	if st.Installed.Policy.Version != 3 {
		t.Fatalf("installed under policy version %d", st.Installed.Policy.Version)
	}
	c.set()
	_, err = p.updater().Update(context.Background())
	var refused *RefusedError
	if !errors.Is(err, verifier.ErrQuorum) || !errors.As(err, &refused) || refused.Report == "" {
		t.Fatalf("a checkpoint no witness cosigned: %v", err)
	}
}
