package explorer

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/monitor"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/translog"
	"ssms.dev/ssms/witness"
)

// Release is a verified release with what the index says about it since.
type Release struct {
	monitor.IndexedRelease
	Visible  string         // when the monitor first verified it (its clock)
	Rebuilds []*Attestation // in log order: for the paginated detail only
	ByKey    []*KeyRebuilds // per rebuilder key, first seen first: what the pages show
	Alerts   []*Alert       // alerts that name this entry
}

// KeyRebuilds sums up one rebuilder key's attestations of a release, so
// a key that logs thousands of them costs a page one line, not thousands.
type KeyRebuilds struct {
	Builder, KeyID              string
	Matching, Mismatching       int
	FirstMismatch, LastMismatch *Attestation
}

// Attestation is a verified rebuild attestation of a release, compared
// with it (policies.Rebuild.Matches).
type Attestation struct {
	Index    int64
	Builder  string
	KeyID    string
	Finished string
	Problem  string // why it does not match; empty if it does
}

// Alert is a finding, shown once however many passes raised it again.
type Alert struct {
	monitor.Finding
	Seq       int    // position in first-seen order, for pagination
	FirstSeen string // the pass that first raised it
	LastSeen  string
	Passes    int
}

// Policy is a link of the policy chain: the pinned one (Index -1) or an
// accepted rotation.
type Policy struct {
	monitor.IndexedPolicy
	Parsed *policies.Policy
}

// product is one product's releases, in log order.
type product struct {
	name     string
	releases []*Release
}

// digestHit is an artifact of a release, found by its digest.
type digestHit struct {
	rel  *Release
	name string
}

// model is everything the pages show, built from the index alone.
type model struct {
	offset     int64 // bytes of the index read so far
	checkpoint *translog.SignedCheckpoint
	quorum     *witness.Quorum
	quorumErr  error
	releases   map[int64]*Release
	byRef      map[string]*Release
	byDigest   map[string][]digestHit // artifact SHA-256 (hex) → artifacts, in log order
	products   map[string]*product
	names      []string // products, sorted
	alerts     []*Alert // first-seen order
	alertKey   map[string]*Alert
	policies   []*Policy // pinned first
	passes     []monitor.IndexedPass
}

func newModel(pinned *policies.Policy) *model {
	payload, _ := pinned.Marshal()
	return &model{
		releases: map[int64]*Release{}, byRef: map[string]*Release{}, byDigest: map[string][]digestHit{},
		products: map[string]*product{}, alertKey: map[string]*Alert{},
		policies: []*Policy{{IndexedPolicy: monitor.IndexedPolicy{Index: -1, Version: pinned.Version, Digest: pinned.Digest(), Policy: payload}, Parsed: pinned}},
	}
}

// current is the policy in force at the end of the index.
func (m *model) current() *policies.Policy { return m.policies[len(m.policies)-1].Parsed }

// add applies one committed pass.
func (m *model) add(f monitor.Facts) error {
	for _, p := range f.Policies {
		parsed, err := policies.ParsePolicy(p.Policy)
		if err != nil {
			return fmt.Errorf("index: policy at entry %d: %w", p.Index, err)
		}
		m.policies = append(m.policies, &Policy{IndexedPolicy: p, Parsed: parsed})
	}
	for _, r := range f.Releases {
		m.addRelease(&Release{IndexedRelease: r, Visible: f.Pass.Time})
	}
	for _, a := range f.Rebuilds {
		m.addRebuild(a)
	}
	for _, fd := range f.Findings {
		m.addFinding(fd, f.Pass.Time)
	}
	m.passes = append(m.passes, f.Pass)
	return nil
}

func (m *model) addRelease(r *Release) {
	m.releases[r.Index] = r
	if _, ok := m.byRef[r.Ref]; !ok {
		m.byRef[r.Ref] = r
	}
	for _, s := range r.Subjects {
		m.byDigest[s.Digest.SHA256] = append(m.byDigest[s.Digest.SHA256], digestHit{r, s.Name})
	}
	p := m.products[r.Product]
	if p == nil {
		p = &product{name: r.Product}
		m.products[r.Product] = p
		i, _ := slices.BinarySearch(m.names, r.Product)
		m.names = slices.Insert(m.names, i, r.Product)
	}
	// No alert can name r yet: a pass's releases are added before its
	// findings, and later passes come later.
	p.releases = append(p.releases, r)
}

// addRebuild compares an attestation with its release, as the monitor
// does while it counts one toward the threshold.
func (m *model) addRebuild(a monitor.IndexedRebuild) {
	r := m.byRef[a.Release]
	if r == nil {
		return // names no verified release: the monitor raised an alert
	}
	rel := &manifest.ReleaseStatement{Subject: r.Subjects, Predicate: manifest.ReleasePredicate{Product: r.Product, Version: r.Version}}
	att := &policies.Rebuild{Statement: &manifest.RebuildStatement{Subject: a.Subjects, Predicate: manifest.RebuildPredicate{
		Release: a.Release, Product: a.Product, Version: a.Version, Outcome: a.Outcome}}}
	at := &Attestation{Index: a.Index, Builder: a.Builder, KeyID: a.KeyID, Finished: a.Finished}
	if err := att.Matches(rel, r.Ref); err != nil {
		at.Problem = err.Error()
	}
	r.Rebuilds = append(r.Rebuilds, at)
	var k *KeyRebuilds
	for _, x := range r.ByKey {
		if x.KeyID == a.KeyID {
			k = x
		}
	}
	if k == nil {
		k = &KeyRebuilds{Builder: a.Builder, KeyID: a.KeyID}
		r.ByKey = append(r.ByKey, k)
	}
	if at.Problem == "" {
		k.Matching++
		return
	}
	k.Mismatching++
	if k.FirstMismatch == nil {
		k.FirstMismatch = at
	}
	k.LastMismatch = at
}

func (m *model) addFinding(f monitor.Finding, seen string) {
	other := ""
	if f.Other != nil {
		other = fmt.Sprint(*f.Other)
	}
	key := strings.Join([]string{f.Kind, fmt.Sprint(f.Index), other, f.Message}, "\x00")
	if a := m.alertKey[key]; a != nil {
		a.LastSeen, a.Passes = seen, a.Passes+1
		return
	}
	if f.Evidence != "" {
		f.Evidence = filepath.Base(f.Evidence) // served from DIR/evidence by name
	}
	a := &Alert{Finding: f, Seq: len(m.alerts), FirstSeen: seen, LastSeen: seen, Passes: 1}
	m.alerts = append(m.alerts, a)
	m.alertKey[key] = a
	for _, i := range []*int64{&f.Index, f.Other} {
		if i != nil && m.releases[*i] != nil {
			m.releases[*i].Alerts = append(m.releases[*i].Alerts, a)
		}
	}
}

// setCheckpoint opens the monitor's last verified checkpoint and checks
// its cosignatures under the policy in force, for the witness table.
func (m *model) setCheckpoint(raw []byte, vkey string, now time.Time) error {
	v, err := translog.NewVerifier(vkey)
	if err != nil {
		return err
	}
	cp, err := translog.OpenCheckpoint(raw, v.Name(), v)
	if err != nil {
		return fmt.Errorf("monitor state: %w", err)
	}
	pol := m.current()
	m.checkpoint = cp
	m.quorum, m.quorumErr = witness.CheckQuorum(raw, pol.Witnesses.VKeys, pol.Witnesses.Quorum, now, pol.MaxAge())
	return nil
}

// Status of a release's rebuilds.
const (
	RebuildsNotRequired = "not required"
	RebuildsReproduced  = "reproduced"
	RebuildsWaiting     = "waiting"
	RebuildsMismatch    = "mismatch"
)

// rebuildStatus counts distinct rebuilder keys whose attestation matches;
// mismatched is the first and the last mismatch of each key.
func (r *Release) rebuildStatus() (status string, matched []string, mismatched []*Attestation) {
	for _, k := range r.ByKey {
		if k.Matching > 0 {
			matched = append(matched, k.Builder)
		}
		if k.FirstMismatch != nil {
			mismatched = append(mismatched, k.FirstMismatch)
			if k.LastMismatch != k.FirstMismatch {
				mismatched = append(mismatched, k.LastMismatch)
			}
		}
	}
	switch {
	case len(mismatched) > 0:
		status = RebuildsMismatch
	case r.Need == 0:
		status = RebuildsNotRequired
	case len(matched) >= r.Need:
		status = RebuildsReproduced
	default:
		status = RebuildsWaiting
	}
	return status, matched, mismatched
}
