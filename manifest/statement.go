package manifest

import (
	"encoding/json"
	"fmt"
	"regexp"

	"ssms.dev/ssms/internal/strictjson"
)

// In-toto identifiers.
const (
	PayloadType   = "application/vnd.in-toto+json"
	StatementType = "https://in-toto.io/Statement/v1"
)

// Limits on statements.
const (
	MaxSubjects   = 256
	maxNameLength = 128
	// MaxArtifactSize bounds a signed size: a downloader capped by a
	// signed length must not be told "up to 2^63 bytes".
	MaxArtifactSize = 1 << 34 // 16 GiB
)

// Statement is an in-toto Statement v1 with a predicate of type P.
type Statement[P any] struct {
	Type          string    `json:"_type"`
	Subject       []Subject `json:"subject"`
	PredicateType string    `json:"predicateType"`
	Predicate     P         `json:"predicate"`
}

// Subject is one artifact: its file name, its digest and, in statements
// made since sizes were signed, its size. An in-toto v1 ResourceDescriptor
// carries it in annotations, the place the format leaves for such facts.
type Subject struct {
	Name        string       `json:"name"`
	Digest      Digest       `json:"digest"`
	Annotations *Annotations `json:"annotations,omitempty"`
}

// Annotations are what SSMS signs about an artifact besides its digest.
type Annotations struct {
	// Size in bytes: a download is cut off at it, before a byte more is
	// hashed or stored (TUF's defence against endless data).
	Size int64 `json:"size"`
}

// Size returns the artifact's signed size; ok is false for statements
// made before sizes were signed.
func (s Subject) Size() (size int64, ok bool) {
	if s.Annotations == nil {
		return 0, false
	}
	return s.Annotations.Size, true
}

// SizedSubject is the subject of an artifact of size bytes.
func SizedSubject(name string, d Digest, size int64) Subject {
	return Subject{Name: name, Digest: d, Annotations: &Annotations{Size: size}}
}

// Digest is an in-toto DigestSet restricted to SHA-256, the only algorithm
// SSMS computes and checks.
type Digest struct {
	SHA256 string `json:"sha256"`
}

var (
	hexSHA256    = regexp.MustCompile(`^[0-9a-f]{64}$`)
	artifactName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]*$`)
)

// PredicateTypeOf returns the predicateType a statement declares, or "" if
// data is not a JSON object with a string predicateType. It only routes a
// payload to its strict parser, which checks everything again.
func PredicateTypeOf(data []byte) string {
	if len(data) > MaxStatementSize {
		return ""
	}
	var st struct {
		PredicateType string `json:"predicateType"`
	}
	if json.Unmarshal(data, &st) != nil {
		return ""
	}
	return st.PredicateType
}

// parseStatement decodes a statement of a known predicate type strictly.
// Canonical form is checked by the caller, after the fields, so that a
// wrong field is named before a formatting problem.
func parseStatement[P any](doc string, data []byte, predicateType string, limit int) (*Statement[P], error) {
	var st Statement[P]
	if err := strictjson.Decode(data, &st, limit); err != nil {
		return nil, fmt.Errorf("%s: %w", doc, err)
	}
	if err := checkStatement(doc, &st, predicateType); err != nil {
		return nil, err
	}
	return &st, nil
}

// predicate is a predicate type that checks its own fields.
type predicate[P any] interface {
	*P
	check(doc string) error
}

// parseCanonical decodes a statement strictly, checks the statement and
// its predicate, and accepts only the canonical encoding, in that order,
// so that a wrong field is named before a formatting problem.
func parseCanonical[P any, PP predicate[P]](doc string, data []byte, predicateType string) (*Statement[P], error) {
	st, err := parseStatement[P](doc, data, predicateType, MaxStatementSize)
	if err != nil {
		return nil, err
	}
	if err := PP(&st.Predicate).check(doc); err != nil {
		return nil, err
	}
	if err := strictjson.Canonical(data, st); err != nil {
		return nil, fmt.Errorf("%s: %w", doc, err)
	}
	return st, nil
}

// checkStatement checks the statement's own fields.
func checkStatement[P any](doc string, st *Statement[P], predicateType string) error {
	if st.Type != StatementType {
		return &FieldError{doc, "_type", fmt.Sprintf("%q; want %q", st.Type, StatementType)}
	}
	if st.PredicateType != predicateType {
		return &FieldError{doc, "predicateType", fmt.Sprintf("%q; want %q", st.PredicateType, predicateType)}
	}
	return checkSubjects(doc, st.Subject)
}

// checkSubjects demands at least one subject, valid names and digests, and
// names sorted and unique (so the list has one canonical order).
func checkSubjects(doc string, subjects []Subject) error {
	if len(subjects) == 0 {
		return &FieldError{doc, "subject", "missing; a statement names at least one artifact"}
	}
	if len(subjects) > MaxSubjects {
		return &FieldError{doc, "subject", fmt.Sprintf("%d subjects; at most %d", len(subjects), MaxSubjects)}
	}
	for i, s := range subjects {
		field := fmt.Sprintf("subject[%d]", i)
		if err := CheckArtifactName(s.Name); err != nil {
			return &FieldError{doc, field + ".name", err.Error()}
		}
		if !hexSHA256.MatchString(s.Digest.SHA256) {
			return &FieldError{doc, field + ".digest.sha256", "not 64 lowercase hex digits"}
		}
		if size, ok := s.Size(); ok && (size < 0 || size > MaxArtifactSize) {
			return &FieldError{doc, field + ".annotations.size", fmt.Sprintf("%d; want 0 to %d bytes", size, int64(MaxArtifactSize))}
		}
		if i > 0 && subjects[i-1].Name >= s.Name {
			return &FieldError{doc, field + ".name", fmt.Sprintf("%q is out of order or repeated; subjects are sorted by name", s.Name)}
		}
	}
	return nil
}

// CheckArtifactName accepts file names of up to 128 letters, digits and
// ._+- that do not start with a punctuation mark: no paths, no surprises in
// a shell or a URL.
func CheckArtifactName(name string) error {
	if len(name) == 0 || len(name) > maxNameLength || !artifactName.MatchString(name) {
		return fmt.Errorf("%q is not a valid artifact name (1 to %d of A-Z a-z 0-9 . _ + -, starting with a letter or digit)", name, maxNameLength)
	}
	return nil
}

// FindSubject returns the subject named name.
func FindSubject(subjects []Subject, name string) (Subject, bool) {
	for _, s := range subjects {
		if s.Name == name {
			return s, true
		}
	}
	return Subject{}, false
}
