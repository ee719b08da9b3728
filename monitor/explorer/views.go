package explorer

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/witness"
)

// PerPage is the length of every paginated list.
const PerPage = 50

// The views are what both the pages and /api/ show: a page renders its
// view with a template, /api/ encodes it as JSON.

type pageInfo struct {
	Page    int `json:"page"`
	Pages   int `json:"pages"`
	PerPage int `json:"perPage"`
	Total   int `json:"total"`
}

// paginate reads ?page= (1 by default) and gives the range of positions,
// counted from the newest, that the page shows.
func paginate(r *http.Request, total int) (pageInfo, int, int, error) {
	p := pageInfo{Page: 1, PerPage: PerPage, Total: total, Pages: max(1, (total+PerPage-1)/PerPage)}
	if s := r.URL.Query().Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > p.Pages {
			return p, 0, 0, badRequest("page %q: want 1 to %d", s, p.Pages)
		}
		p.Page = n
	}
	lo := (p.Page - 1) * PerPage
	return p, lo, min(total, lo+PerPage), nil
}

type artifactView struct {
	Name   string `json:"name"`
	Digest string `json:"digest"`
	Size   *int64 `json:"size,omitempty"` // absent in statements made before sizes were signed
}

type mismatchView struct {
	Builder string `json:"builder"`
	Index   int64  `json:"index"`
	Problem string `json:"problem"`
}

// keyRebuildsView is one rebuilder key's attestations of a release.
type keyRebuildsView struct {
	Builder       string        `json:"builder"`
	Matching      int           `json:"matching"`
	Mismatching   int           `json:"mismatching"`
	FirstMismatch *mismatchView `json:"firstMismatch,omitempty"`
	LastMismatch  *mismatchView `json:"lastMismatch,omitempty"`
}

type rebuildsView struct {
	Status         string            `json:"status"` // reproduced, waiting, mismatch, not required
	Need           int               `json:"need"`
	Matched        []string          `json:"matched"`
	Mismatched     []mismatchView    `json:"mismatched"` // the first and the last mismatch of each key
	ByKey          []keyRebuildsView `json:"byKey"`
	Total          int               `json:"total"`                    // attestations in all
	Detail         string            `json:"detail"`                   // every attestation, paginated
	WaitingSeconds int64             `json:"waitingSeconds,omitempty"` // since the release became visible, while waiting
}

func mismatchOf(a *Attestation) *mismatchView {
	if a == nil {
		return nil
	}
	return &mismatchView{a.Builder, a.Index, a.Problem}
}

type releaseView struct {
	Index     int64           `json:"index"`
	Ref       string          `json:"ref"`
	Product   string          `json:"product"`
	Version   string          `json:"version"`
	Sequence  uint64          `json:"sequence"`
	Type      string          `json:"type"`
	Released  string          `json:"released"`
	Visible   string          `json:"visible"`
	Source    manifest.Source `json:"source"`
	Artifacts []artifactView  `json:"artifacts"`
	Signers   []string        `json:"signers"`
	Policy    uint64          `json:"policy"`
	Rebuilds  rebuildsView    `json:"rebuilds"`
	Alerts    []alertView     `json:"alerts"`
}

func (e *Explorer) release(r *Release) releaseView {
	v := releaseView{Index: r.Index, Ref: r.Ref, Product: r.Product, Version: r.Version, Sequence: r.Sequence, Type: r.Type,
		Released: r.Released, Visible: r.Visible, Source: r.Source, Signers: r.Signers, Policy: r.Policy, Alerts: []alertView{}}
	for _, s := range r.Subjects {
		a := artifactView{Name: s.Name, Digest: "sha256:" + s.Digest.SHA256}
		if size, ok := s.Size(); ok {
			a.Size = &size
		}
		v.Artifacts = append(v.Artifacts, a)
	}
	status, matched, mismatched := r.rebuildStatus()
	v.Rebuilds = rebuildsView{Status: status, Need: r.Need, Matched: nonNil(matched), Mismatched: []mismatchView{}, ByKey: []keyRebuildsView{},
		Total: len(r.Rebuilds), Detail: fmt.Sprintf("/api/releases/%d/rebuilds", r.Index)}
	for _, a := range mismatched {
		v.Rebuilds.Mismatched = append(v.Rebuilds.Mismatched, *mismatchOf(a))
	}
	for _, k := range r.ByKey {
		v.Rebuilds.ByKey = append(v.Rebuilds.ByKey, keyRebuildsView{k.Builder, k.Matching, k.Mismatching, mismatchOf(k.FirstMismatch), mismatchOf(k.LastMismatch)})
	}
	if status == RebuildsWaiting {
		if t, err := manifest.ParseTime(r.Visible); err == nil {
			v.Rebuilds.WaitingSeconds = int64(e.cfg.Now().Sub(t).Seconds())
		}
	}
	for _, a := range r.Alerts {
		v.Alerts = append(v.Alerts, alertOf(a))
	}
	return v
}

type alertView struct {
	Kind      string `json:"kind"`
	Index     int64  `json:"index"`
	Other     *int64 `json:"other,omitempty"`
	Message   string `json:"message"`
	Evidence  string `json:"evidence,omitempty"` // path of the evidence file on this server
	FirstSeen string `json:"firstSeen"`
	LastSeen  string `json:"lastSeen"`
	Passes    int    `json:"passes"`
}

func alertOf(a *Alert) alertView {
	v := alertView{Kind: a.Kind, Index: a.Index, Other: a.Other, Message: a.Message, FirstSeen: a.FirstSeen, LastSeen: a.LastSeen, Passes: a.Passes}
	if a.Evidence != "" {
		v.Evidence = "/evidence/" + url.PathEscape(a.Evidence)
	}
	return v
}

type witnessView struct {
	Name         string `json:"name"`
	LastCosigned string `json:"lastCosigned,omitempty"` // on the latest checkpoint; absent if it did not cosign it
	AgeSeconds   int64  `json:"ageSeconds,omitempty"`
	Health       string `json:"health"` // ok, stale (older than maxCheckpointAge), missing
}

type passView struct {
	From int64  `json:"from"`
	To   int64  `json:"to"`
	Time string `json:"time"`
}

type logView struct {
	Origin     string        `json:"origin"`
	Size       int64         `json:"size"`
	RootHash   string        `json:"rootHash"`
	Checkpoint string        `json:"checkpoint"` // the signed note
	Quorum     int           `json:"quorum"`
	QuorumOK   bool          `json:"quorumOk"`
	Problem    string        `json:"problem,omitempty"` // why the quorum or freshness fails now
	Fresh      string        `json:"fresh,omitempty"`   // the quorum vouches the checkpoint was current then
	Witnesses  []witnessView `json:"witnesses"`
	IndexFrom  int64         `json:"indexFrom"` // the first entry the index covers
	LastPass   *passView     `json:"lastPass,omitempty"`
	Releases   int           `json:"releases"`
	Alerts     int           `json:"alerts"`
}

func (e *Explorer) logView(*http.Request) (any, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	m := e.m
	v := logView{Witnesses: []witnessView{}, Releases: len(m.releases), Alerts: len(m.alerts)}
	if m.checkpoint == nil {
		return v, nil
	}
	now, pol := e.cfg.Now(), m.current()
	v.Origin, v.Size, v.RootHash, v.Checkpoint = m.checkpoint.Origin, m.checkpoint.Size, m.checkpoint.Hash.String(), string(m.checkpoint.Raw)
	v.Quorum, v.QuorumOK = pol.Witnesses.Quorum, m.quorumErr == nil
	// Freshness moves with the clock: check it again now.
	if _, err := witness.CheckQuorum(m.checkpoint.Raw, pol.Witnesses.VKeys, pol.Witnesses.Quorum, now, pol.MaxAge()); err != nil {
		v.QuorumOK, v.Problem = false, err.Error()
	}
	if m.quorum != nil && !m.quorum.Fresh.IsZero() {
		v.Fresh = manifest.FormatTime(m.quorum.Fresh)
	}
	for _, vk := range pol.Witnesses.VKeys {
		name, _, _ := strings.Cut(vk, "+")
		w := witnessView{Name: name, Health: "missing"}
		if m.quorum != nil {
			for _, c := range m.quorum.Cosignatures {
				if c.Witness == name {
					w.LastCosigned, w.AgeSeconds, w.Health = manifest.FormatTime(c.Time), int64(now.Sub(c.Time).Seconds()), "ok"
					if pol.MaxAge() > 0 && now.Sub(c.Time) > pol.MaxAge() {
						w.Health = "stale"
					}
				}
			}
		}
		v.Witnesses = append(v.Witnesses, w)
	}
	if len(m.passes) > 0 {
		v.IndexFrom = m.passes[0].From
		p := m.passes[len(m.passes)-1]
		v.LastPass = &passView{p.From, p.To, p.Time}
	}
	return v, nil
}

type passesView struct {
	pageInfo
	Passes []passView `json:"passes"` // newest first
}

func (e *Explorer) passesView(r *http.Request) (any, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	p, lo, hi, err := paginate(r, len(e.m.passes))
	if err != nil {
		return nil, err
	}
	v := passesView{pageInfo: p, Passes: []passView{}}
	for i := lo; i < hi; i++ {
		x := e.m.passes[len(e.m.passes)-1-i]
		v.Passes = append(v.Passes, passView{x.From, x.To, x.Time})
	}
	return v, nil
}

type productSummary struct {
	Name     string `json:"name"`
	Releases int    `json:"releases"`
	Latest   string `json:"latest"` // the version of the release logged last
}

func (e *Explorer) productsView(*http.Request) (any, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := []productSummary{}
	for _, n := range e.m.names {
		p := e.m.products[n]
		out = append(out, productSummary{n, len(p.releases), p.releases[len(p.releases)-1].Version})
	}
	return out, nil
}

type productView struct {
	pageInfo
	Product  string        `json:"product"`
	Releases []releaseView `json:"releases"` // newest first
}

func (e *Explorer) productView(r *http.Request) (any, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	name := r.PathValue("name")
	p := e.m.products[name]
	if p == nil {
		return nil, notFound("no verified release of product %q", name)
	}
	info, lo, hi, err := paginate(r, len(p.releases))
	if err != nil {
		return nil, err
	}
	v := productView{pageInfo: info, Product: name, Releases: []releaseView{}}
	for i := lo; i < hi; i++ {
		v.Releases = append(v.Releases, e.release(p.releases[len(p.releases)-1-i]))
	}
	return v, nil
}

// releaseAt is the release of /releases/{index}; the caller holds e.mu.
func (e *Explorer) releaseAt(r *http.Request) (*Release, error) {
	s := r.PathValue("index")
	i, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil, badRequest("index %q: want a log index", s)
	}
	rel := e.m.releases[i]
	if rel == nil {
		return nil, notFound("entry %d is not a verified release", i)
	}
	return rel, nil
}

func (e *Explorer) releaseView(r *http.Request) (any, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	rel, err := e.releaseAt(r)
	if err != nil {
		return nil, err
	}
	return e.release(rel), nil
}

type attestationView struct {
	Index    int64  `json:"index"`
	Builder  string `json:"builder"`
	KeyID    string `json:"keyId"`
	Finished string `json:"finished"`
	Matches  bool   `json:"matches"`
	Problem  string `json:"problem,omitempty"`
}

type attestationsView struct {
	pageInfo
	Index    int64             `json:"index"`
	Product  string            `json:"product"`
	Version  string            `json:"version"`
	Rebuilds []attestationView `json:"rebuilds"` // newest first
}

// rebuildsDetailView is every attestation of a release, paginated: the
// release and product pages show only a summary per rebuilder key.
func (e *Explorer) rebuildsDetailView(r *http.Request) (any, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	rel, err := e.releaseAt(r)
	if err != nil {
		return nil, err
	}
	p, lo, hi, err := paginate(r, len(rel.Rebuilds))
	if err != nil {
		return nil, err
	}
	v := attestationsView{pageInfo: p, Index: rel.Index, Product: rel.Product, Version: rel.Version, Rebuilds: []attestationView{}}
	for i := lo; i < hi; i++ {
		a := rel.Rebuilds[len(rel.Rebuilds)-1-i]
		v.Rebuilds = append(v.Rebuilds, attestationView{a.Index, a.Builder, a.KeyID, a.Finished, a.Problem == "", a.Problem})
	}
	return v, nil
}

type alertsView struct {
	pageInfo
	Alerts []alertView `json:"alerts"` // newest first
}

func (e *Explorer) alertsView(r *http.Request) (any, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	p, lo, hi, err := paginate(r, len(e.m.alerts))
	if err != nil {
		return nil, err
	}
	v := alertsView{pageInfo: p, Alerts: []alertView{}}
	for i := lo; i < hi; i++ {
		v.Alerts = append(v.Alerts, alertOf(e.m.alerts[len(e.m.alerts)-1-i]))
	}
	return v, nil
}

type policyView struct {
	Version     uint64   `json:"version"`
	Digest      string   `json:"digest"`
	Index       int64    `json:"index"` // -1 for the pinned policy
	ByOld       []string `json:"byOld"`
	ByNew       []string `json:"byNew"`
	Expires     string   `json:"expires"`
	Products    []string `json:"products"`
	Maintainers []string `json:"maintainers"`
	Release     int      `json:"releaseThreshold"`
	Rebuilders  []string `json:"rebuilders"`
	Rebuilds    int      `json:"rebuildThreshold"`
	Witnesses   []string `json:"witnesses"`
	Quorum      int      `json:"quorum"`
}

func (e *Explorer) policiesView(*http.Request) (any, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := []policyView{}
	for _, p := range e.m.policies {
		pp := p.Parsed
		v := policyView{Version: p.Version, Digest: p.Digest, Index: p.Index, ByOld: nonNil(p.ByOld), ByNew: nonNil(p.ByNew),
			Expires: pp.Expires, Products: nonNil(pp.Products), Release: pp.Maintainers.Thresholds.Release,
			Rebuilds: pp.Rebuilders.Threshold, Quorum: pp.Witnesses.Quorum, Maintainers: []string{}, Rebuilders: []string{}, Witnesses: []string{}}
		for _, k := range pp.Maintainers.Keys {
			v.Maintainers = append(v.Maintainers, k.Name)
		}
		for _, k := range pp.Rebuilders.Keys {
			v.Rebuilders = append(v.Rebuilders, k.Name)
		}
		for _, vk := range pp.Witnesses.VKeys {
			name, _, _ := strings.Cut(vk, "+")
			v.Witnesses = append(v.Witnesses, name)
		}
		out = append(out, v)
	}
	return out, nil
}

type lookupHit struct {
	Artifact string `json:"artifact"` // the artifact's name in the release
	releaseView
}

type lookupView struct {
	pageInfo
	Digest   string      `json:"digest"`
	Releases []lookupHit `json:"releases"` // in log order; empty: not a logged release's artifact
}

// lookupView answers GET /api/lookup?digest=sha256:HEX.
func (e *Explorer) lookupView(r *http.Request) (any, error) {
	d := r.URL.Query().Get("digest")
	hex, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(hex) != 64 || strings.Trim(hex, "0123456789abcdef") != "" {
		return nil, badRequest("digest %q: want sha256: and 64 lowercase hex digits", d)
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	hits := e.m.byDigest[hex]
	p, lo, hi, err := paginate(r, len(hits))
	if err != nil {
		return nil, err
	}
	v := lookupView{pageInfo: p, Digest: d, Releases: []lookupHit{}}
	for _, h := range hits[lo:hi] {
		v.Releases = append(v.Releases, lookupHit{h.name, e.release(h.rel)})
	}
	return v, nil
}

// lookupPageView is the lookup page: the form alone without ?digest=.
func (e *Explorer) lookupPageView(r *http.Request) (any, error) {
	if !r.URL.Query().Has("digest") {
		return lookupView{}, nil
	}
	return e.lookupView(r)
}

type homeView struct {
	Log      logView          `json:"log"`
	Products []productSummary `json:"products"`
	Alerts   []alertView      `json:"alerts"` // the newest few
}

func (e *Explorer) homeView(r *http.Request) (any, error) {
	l, _ := e.logView(r)
	p, _ := e.productsView(r)
	e.mu.RLock()
	defer e.mu.RUnlock()
	v := homeView{Log: l.(logView), Products: p.([]productSummary), Alerts: []alertView{}}
	for i := len(e.m.alerts) - 1; i >= 0 && len(v.Alerts) < 5; i-- {
		v.Alerts = append(v.Alerts, alertOf(e.m.alerts[i]))
	}
	return v, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// duration is a readable age, for the pages.
func duration(seconds int64) string {
	d := time.Duration(seconds) * time.Second
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", seconds)
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
}
