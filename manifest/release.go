package manifest

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"time"

	"golang.org/x/mod/semver"

	"ssms.dev/ssms/internal/strictjson"
)

// ReleasePredicateType identifies a release statement.
const ReleasePredicateType = "https://ssms.dev/release/v1"

// Release types.
const (
	TypeRelease  = "release"
	TypeRollback = "rollback"
)

// Limits on release statements.
const (
	MaxStatementSize = 48 << 10 // leaves room for signatures in a 64 KiB envelope
	// MaxSequence keeps sequence numbers exact in every JSON implementation.
	MaxSequence = 1<<53 - 1
	maxURILen   = 1024
	maxEnv      = 64
	maxArgs     = 64
)

// TimeFormat is the one accepted form of a time: RFC 3339, UTC, seconds.
const TimeFormat = "2006-01-02T15:04:05Z"

// ReleasePredicate is the predicate of a release statement.
type ReleasePredicate struct {
	Product  string  `json:"product"`
	Version  string  `json:"version"`
	Sequence uint64  `json:"sequence"`
	Type     string  `json:"type"`
	Released string  `json:"released"`
	Source   Source  `json:"source"`
	Build    *Recipe `json:"build,omitempty"`
	Policy   string  `json:"policy"`
}

// Source names the exact source a release was built from.
type Source struct {
	URI    string `json:"uri"`
	Commit string `json:"commit"`
}

// Recipe says how to rebuild the artifacts: the toolchain, the command
// (argv) and the environment it runs in, nothing inherited.
type Recipe struct {
	Toolchain   string            `json:"toolchain"`
	Command     []string          `json:"command"`
	Environment map[string]string `json:"environment"`
}

// ReleaseStatement is an in-toto statement with a release predicate.
type ReleaseStatement = Statement[ReleasePredicate]

var (
	productName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)
	gitCommit   = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)
	policyRef   = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	envName     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// ParseRelease parses the payload of a release envelope. It accepts only
// the canonical encoding that MarshalRelease produces.
func ParseRelease(data []byte) (*ReleaseStatement, error) {
	const doc = "release statement"
	// Fast path: one decoding pass for canonical input, then the checks.
	var fast ReleaseStatement
	if strictjson.DecodeCanonical(data, &fast, MaxStatementSize) == nil {
		if err := checkStatement(doc, &fast, ReleasePredicateType); err != nil {
			return nil, err
		}
		return &fast, fast.Predicate.check(doc)
	}
	return parseReleaseStrict(data)
}

// parseReleaseStrict is the slower path whose errors name the problem.
func parseReleaseStrict(data []byte) (*ReleaseStatement, error) {
	return parseCanonical[ReleasePredicate]("release statement", data, ReleasePredicateType)
}

// NewRelease builds a statement with its subjects in canonical order and
// checks it as ParseRelease would.
func NewRelease(subjects []Subject, p ReleasePredicate) (*ReleaseStatement, error) {
	st := &ReleaseStatement{Type: StatementType, Subject: sortedSubjects(subjects), PredicateType: ReleasePredicateType, Predicate: p}
	const doc = "release statement"
	if err := checkSubjects(doc, st.Subject); err != nil {
		return nil, err
	}
	if err := p.check(doc); err != nil {
		return nil, err
	}
	return st, nil
}

// MarshalRelease returns the canonical bytes of st.
func MarshalRelease(st *ReleaseStatement) ([]byte, error) {
	b, err := strictjson.Marshal(st)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxStatementSize {
		return nil, fmt.Errorf("release statement of %d bytes exceeds the limit of %d", len(b), MaxStatementSize)
	}
	return b, nil
}

func (p *ReleasePredicate) check(doc string) error {
	bad := func(field, problem string) error { return &FieldError{doc, "predicate." + field, problem} }
	if err := CheckProduct(p.Product); err != nil {
		return bad("product", err.Error())
	}
	if "v"+p.Version != semver.Canonical("v"+p.Version) || p.Version == "" {
		return bad("version", fmt.Sprintf("%q is not a semantic version MAJOR.MINOR.PATCH[-PRERELEASE] (no \"v\", no build metadata)", p.Version))
	}
	if p.Sequence == 0 || p.Sequence > MaxSequence {
		return bad("sequence", fmt.Sprintf("%d; want 1 to 2^53-1", p.Sequence))
	}
	if p.Type != TypeRelease && p.Type != TypeRollback {
		return bad("type", fmt.Sprintf("%q; want %q or %q", p.Type, TypeRelease, TypeRollback))
	}
	if err := CheckTime(p.Released); err != nil {
		return bad("released", err.Error())
	}
	if u, err := url.Parse(p.Source.URI); err != nil || u.Scheme == "" || len(p.Source.URI) > maxURILen {
		return bad("source.uri", fmt.Sprintf("%q is not an absolute URI of at most %d bytes", p.Source.URI, maxURILen))
	}
	if !gitCommit.MatchString(p.Source.Commit) {
		return bad("source.commit", fmt.Sprintf("%q is not a full lowercase hex git commit ID (40 or 64 digits)", p.Source.Commit))
	}
	if p.Build != nil {
		if err := p.Build.Check(); err != nil {
			return bad("build", err.Error())
		}
	}
	if !policyRef.MatchString(p.Policy) {
		return bad("policy", fmt.Sprintf("%q; want sha256: and 64 lowercase hex digits", p.Policy))
	}
	return nil
}

// Check validates a recipe.
func (r *Recipe) Check() error {
	switch {
	case r.Toolchain == "":
		return fmt.Errorf("toolchain: missing")
	case len(r.Command) == 0 || r.Command[0] == "":
		return fmt.Errorf("command: missing")
	case len(r.Command) > maxArgs:
		return fmt.Errorf("command: more than %d arguments", maxArgs)
	case r.Environment == nil:
		return fmt.Errorf("environment: missing (use {} for none)")
	case len(r.Environment) > maxEnv:
		return fmt.Errorf("environment: more than %d variables", maxEnv)
	}
	for k := range r.Environment {
		if !envName.MatchString(k) {
			return fmt.Errorf("environment: %q is not a variable name", k)
		}
	}
	return nil
}

// ParseRecipe reads a recipe file (JSON, the Recipe fields).
func ParseRecipe(data []byte) (*Recipe, error) {
	var r Recipe
	if err := strictjson.Decode(data, &r, 16<<10); err != nil {
		return nil, fmt.Errorf("recipe: %w", err)
	}
	if err := r.Check(); err != nil {
		return nil, fmt.Errorf("recipe: %w", err)
	}
	return &r, nil
}

// CheckProduct accepts product names: 1 to 64 of a-z 0-9 -, not starting with -.
func CheckProduct(name string) error {
	if !productName.MatchString(name) {
		return fmt.Errorf("%q is not a product name (1 to 64 of a-z 0-9 -, starting with a letter or digit)", name)
	}
	return nil
}

// CheckTime accepts only TimeFormat.
func CheckTime(s string) error {
	t, err := time.Parse(TimeFormat, s)
	if err != nil || t.Format(TimeFormat) != s {
		return fmt.Errorf("%q is not an RFC 3339 UTC time to the second (like 2026-01-02T15:04:05Z)", s)
	}
	return nil
}

// ParseTime parses a time in TimeFormat.
func ParseTime(s string) (time.Time, error) {
	if err := CheckTime(s); err != nil {
		return time.Time{}, err
	}
	return time.Parse(TimeFormat, s)
}

// FormatTime formats t in TimeFormat.
func FormatTime(t time.Time) string { return t.UTC().Truncate(time.Second).Format(TimeFormat) }

func sortedSubjects(subjects []Subject) []Subject {
	subjects = append([]Subject(nil), subjects...)
	sort.Slice(subjects, func(i, j int) bool { return subjects[i].Name < subjects[j].Name })
	return subjects
}
