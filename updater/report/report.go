// Package report is the failure report an updater writes when it refuses
// an update: what was offered, by which mirror, which check failed, and
// the evidence, so that auditors (ssms monitor's explorer, POST
// /api/reports) can re-check what is checkable without trusting the
// client that sent it.
//
// A report is one JSON object in canonical form (compact, fields in this
// order, no HTML escaping), at most MaxSize bytes:
//
//	{"type":"https://ssms.dev/update-failure/v1","time":"2026-11-27T05:10:00Z",
//	 "product":"smp-server","running":{"version":"1.0.0","sequence":1},
//	 "offered":{"version":"1.1.0","sequence":2},"mirror":"https://mirror.example/",
//	 "log":"ssms.example/log","check":"artifact",
//	 "error":"artifact smp-server: sha256:60303… is not the signed sha256:9f86…",
//	 "evidence":{"bundle":"eyJ2ZXJz…","checkpoint":"ssms.example/log\n42\n…",
//	 "artifact":{"name":"smp-server","want":"sha256:9f86…","got":"sha256:6030…","size":20971520}}}
//
// "running" is absent on a first install; "offered", "mirror" and "log"
// are absent when unknown. Evidence fields are absent when empty:
// "bundle" is the bundle as the mirror served it (base64), "checkpoint"
// the log's signed checkpoint the updater held, "fork" the fork evidence
// (ssms verify-evidence checks it), "artifact" the digest a download had
// instead of the signed one.
//
// "bundle" is kept only if the bytes parse as a bundle
// (verifier.ParseBundle): evidence is what an auditor can check again.
// Other bytes (a mirror's error page, or whatever a link or a redirect
// would have read) are left out, and the error gives their size and
// SHA-256 instead.
//
// A report holds no personal data: no host name, user, path or address
// of the client; only what the mirror and the log served and the versions
// involved. The updater records a mirror in a local directory as "(a
// local directory)", also inside the error text, and runs the mirror and
// the error through Scrub, which removes the user name, password, query
// and fragment of every URL in them.
//
// Save keeps at most MaxKept reports in STATE/reports, removing the
// oldest first. Submit posts a report and follows no redirect.
package report

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"ssms.dev/ssms/internal/b64"
	"ssms.dev/ssms/internal/strictjson"
	"ssms.dev/ssms/translog"
)

// Type identifies this format; an incompatible one will have another.
const Type = "https://ssms.dev/update-failure/v1"

// MaxSize bounds a report: a bundle (1 MiB) in base64 and the rest.
const MaxSize = 2 << 20

// Checks are the names of the checks a report can say failed.
var Checks = []string{
	"freeze",      // every mirror withheld the newest release the log holds
	"withheld",    // one mirror did not serve it (the next was tried)
	"rollback",    // an older release was offered as new
	"artifact",    // a download is not the signed artifact
	"threshold",   // too few maintainers signed the release
	"policy",      // the policy chain does not lead from the pinned policy
	"product",     // the release is for another product or version
	"format",      // the bundle does not parse
	"unknown-log", // a checkpoint from a log the policy does not name
	"inclusion",   // an entry is not in the log under the head
	"quorum",      // too few witnesses cosigned the head
	"stale",       // no fresh enough checkpoint
	"consistency", // the head was not proven to extend what was seen before
	"fork",        // the log showed two views: the evidence proves it
	"rebuilds",    // too few rebuilders reproduced the release
	"other",       // anything else (the error says what)
}

// Errors of Parse.
var ErrInvalid = errors.New("not a valid failure report")

// Report is one refused update.
type Report struct {
	Type     string   `json:"type"`
	Time     string   `json:"time"` // RFC 3339, UTC, whole seconds
	Product  string   `json:"product"`
	Running  *Release `json:"running,omitempty"`
	Offered  *Release `json:"offered,omitempty"`
	Mirror   string   `json:"mirror,omitempty"`
	Log      string   `json:"log,omitempty"` // the log's origin
	Check    string   `json:"check"`
	Error    string   `json:"error"`
	Evidence Evidence `json:"evidence"`
}

// Release names a release.
type Release struct {
	Version  string `json:"version"`
	Sequence uint64 `json:"sequence,omitempty"`
}

// Evidence is what a reader can check without trusting the reporter.
type Evidence struct {
	Bundle     string    `json:"bundle,omitempty"`     // base64 (standard, padded)
	Checkpoint string    `json:"checkpoint,omitempty"` // a signed note
	Fork       string    `json:"fork,omitempty"`       // translog evidence JSON
	Artifact   *Artifact `json:"artifact,omitempty"`
}

// Artifact is a download that is not the signed artifact.
type Artifact struct {
	Name string `json:"name"`
	Want string `json:"want"` // sha256:<hex>, signed
	Got  string `json:"got"`  // sha256:<hex>, or "" when the download was cut at the signed size
	Size int64  `json:"size"` // signed
}

// New is a report of check failing with err at now.
func New(product, check string, err error, now time.Time) *Report {
	return &Report{Type: Type, Time: now.UTC().Truncate(time.Second).Format(time.RFC3339), Product: product, Check: check, Error: err.Error()}
}

// Marshal encodes r canonically, after checking it.
func (r *Report) Marshal() ([]byte, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	b, err := strictjson.Marshal(r)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrInvalid, len(b), MaxSize)
	}
	return b, nil
}

// Parse reads a report: canonical bytes, at most MaxSize, every field
// well formed. What the evidence proves is for the reader to check.
func Parse(data []byte) (*Report, error) {
	var r Report
	if err := strictjson.Decode(data, &r, MaxSize); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := strictjson.Canonical(data, &r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	return &r, nil
}

var (
	namePattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	digestPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
)

// Limits of the free-text fields, so a report stays readable.
const (
	maxError   = 4096
	maxURL     = 2048
	maxVersion = 128
)

func (r *Report) check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
	if r.Type != Type {
		return bad("type %q, want %q", r.Type, Type)
	}
	t, err := time.Parse(time.RFC3339, r.Time)
	if err != nil || t.Format(time.RFC3339) != r.Time || t.Location() != time.UTC {
		return bad("time %q is not RFC 3339 UTC in whole seconds", r.Time)
	}
	if !namePattern.MatchString(r.Product) {
		return bad("product %q is not a product name", r.Product)
	}
	for _, rel := range []*Release{r.Running, r.Offered} {
		if rel != nil && (rel.Version == "" || len(rel.Version) > maxVersion) {
			return bad("a release's version is empty or longer than %d bytes", maxVersion)
		}
	}
	if len(r.Mirror) > maxURL || len(r.Log) > maxURL {
		return bad("mirror or log longer than %d bytes", maxURL)
	}
	if !known(r.Check) {
		return bad("check %q is not one of %v", r.Check, Checks)
	}
	if r.Error == "" || len(r.Error) > maxError {
		return bad("error is empty or longer than %d bytes", maxError)
	}
	return r.Evidence.check(bad)
}

func (e *Evidence) check(bad func(string, ...any) error) error {
	if e.Bundle != "" {
		if _, err := b64.Std(e.Bundle); err != nil {
			return bad("evidence.bundle: %v", err)
		}
	}
	if e.Checkpoint != "" {
		body, sigs, ok := strings.Cut(e.Checkpoint, "\n\n")
		if _, err := translog.ParseCheckpoint([]byte(body + "\n")); err != nil || !ok || sigs == "" {
			return bad("evidence.checkpoint: not a signed checkpoint (%v)", err)
		}
	}
	if e.Fork != "" {
		if _, err := translog.ParseEvidence([]byte(e.Fork)); err != nil {
			return bad("evidence.fork: %v", err)
		}
	}
	if a := e.Artifact; a != nil {
		if a.Name == "" || len(a.Name) > 255 || !digestPattern.MatchString(a.Want) || (a.Got != "" && !digestPattern.MatchString(a.Got)) || a.Size < 0 {
			return bad("evidence.artifact: name, want (sha256:<hex>), got (sha256:<hex> or empty) and size (not negative) are required")
		}
	}
	return nil
}

func known(check string) bool {
	for _, c := range Checks {
		if c == check {
			return true
		}
	}
	return false
}

// BundleBytes decodes the bundle evidence, nil if there is none.
func (e *Evidence) BundleBytes() []byte {
	b, _ := b64.Std(e.Bundle)
	return b
}
