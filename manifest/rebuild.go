package manifest

import (
	"fmt"
	"regexp"

	"ssms.dev/ssms/internal/strictjson"
)

// RebuildPredicateType identifies a rebuild attestation: an in-toto
// statement, signed by one rebuilder, whose subjects are the artifacts the
// rebuilder got when it rebuilt a release from its source and recipe.
const RebuildPredicateType = "https://ssms.dev/rebuild/v1"

// OutcomeReproduced is the only outcome a rebuilder signs: every artifact
// rebuilt bit for bit. A mismatch produces a report, not an attestation.
const OutcomeReproduced = "reproduced"

// RebuildPredicate says which release was rebuilt, by whom, from what, how
// and when.
type RebuildPredicate struct {
	Release  string `json:"release"` // sha256: of the release envelope's payload
	Product  string `json:"product"`
	Version  string `json:"version"`
	Builder  string `json:"builder"` // the rebuilder's name, as in the policy
	Source   Source `json:"source"`
	Build    Recipe `json:"build"`
	Started  string `json:"started"`
	Finished string `json:"finished"`
	Outcome  string `json:"outcome"`
}

// RebuildStatement is an in-toto statement with a rebuild predicate.
type RebuildStatement = Statement[RebuildPredicate]

var builderName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@:/-]{0,127}$`)

// ParseRebuild parses the payload of a rebuild attestation, accepting only
// its canonical form.
func ParseRebuild(data []byte) (*RebuildStatement, error) {
	const doc = "rebuild attestation"
	// Fast path: one decoding pass for canonical input, then the checks.
	var fast RebuildStatement
	if strictjson.DecodeCanonical(data, &fast, MaxStatementSize) == nil {
		if err := checkStatement(doc, &fast, RebuildPredicateType); err != nil {
			return nil, err
		}
		return &fast, fast.Predicate.check(doc)
	}
	return parseCanonical[RebuildPredicate](doc, data, RebuildPredicateType)
}

// NewRebuild builds an attestation statement, subjects in canonical order.
func NewRebuild(subjects []Subject, p RebuildPredicate) (*RebuildStatement, []byte, error) {
	st := &RebuildStatement{Type: StatementType, Subject: sortedSubjects(subjects), PredicateType: RebuildPredicateType, Predicate: p}
	const doc = "rebuild attestation"
	if err := checkSubjects(doc, st.Subject); err != nil {
		return nil, nil, err
	}
	if err := p.check(doc); err != nil {
		return nil, nil, err
	}
	b, err := strictjson.Marshal(st)
	return st, b, err
}

func (p *RebuildPredicate) check(doc string) error {
	bad := func(field, problem string) error { return &FieldError{doc, "predicate." + field, problem} }
	switch {
	case !policyRef.MatchString(p.Release):
		return bad("release", fmt.Sprintf("%q; want sha256: and 64 lowercase hex digits", p.Release))
	case CheckProduct(p.Product) != nil:
		return bad("product", CheckProduct(p.Product).Error())
	case !builderName.MatchString(p.Builder):
		return bad("builder", fmt.Sprintf("%q is not a builder name", p.Builder))
	case !gitCommit.MatchString(p.Source.Commit):
		return bad("source.commit", "not a full lowercase hex git commit ID")
	case p.Source.URI == "":
		return bad("source.uri", "missing")
	case CheckTime(p.Started) != nil:
		return bad("started", CheckTime(p.Started).Error())
	case CheckTime(p.Finished) != nil:
		return bad("finished", CheckTime(p.Finished).Error())
	case p.Outcome != OutcomeReproduced:
		return bad("outcome", fmt.Sprintf("%q; only %q is attested", p.Outcome, OutcomeReproduced))
	}
	if err := p.Build.Check(); err != nil {
		return bad("build", err.Error())
	}
	return nil
}
