package policies

import (
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"ssms.dev/ssms/internal/strictjson"
	"ssms.dev/ssms/internal/vkey"
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/signer"
)

// PayloadType identifies a policy envelope.
const PayloadType = "application/vnd.ssms.policy+json"

// Limits on policies.
const (
	MaxPolicySize = 48 << 10
	maxKeys       = 64
	maxProducts   = 64
	maxLogs       = 16
)

// Policy is the trust policy: who may sign what, which logs and witnesses
// count, and how fresh things must be.
type Policy struct {
	Version          uint64      `json:"version"`
	Expires          string      `json:"expires"`
	Products         []string    `json:"products"`
	Maintainers      Maintainers `json:"maintainers"`
	Rebuilders       Rebuilders  `json:"rebuilders"`
	Logs             []Log       `json:"logs"`
	Witnesses        Witnesses   `json:"witnesses"`
	MaxCheckpointAge string      `json:"maxCheckpointAge"`
	MinLogAge        string      `json:"minLogAge"`

	maintainerKeys []*signer.PublicKey
	rebuilderKeys  []*signer.PublicKey
	names          map[string]string // key ID → name
	owners         map[string]string // DER SPKI of every key → where it is listed
	digest         manifest.Digest
}

// Key is a named public key.
type Key struct {
	Name      string `json:"name"`
	ID        string `json:"id"`
	PublicKey string `json:"publicKey"`
}

// Maintainers sign releases, rollbacks and policy changes.
type Maintainers struct {
	Keys       []Key      `json:"keys"`
	Thresholds Thresholds `json:"thresholds"`
}

// Thresholds says how many distinct maintainer keys each action needs.
type Thresholds struct {
	Release  int `json:"release"`
	Rollback int `json:"rollback"`
	Policy   int `json:"policy"`
}

// Rebuilders attest that a release rebuilds bit for bit.
type Rebuilders struct {
	Keys      []Key `json:"keys"`
	Threshold int   `json:"threshold"`
}

// Log is a transparency log whose checkpoints count.
type Log struct {
	Origin string `json:"origin"`
	VKey   string `json:"vkey"`
	URL    string `json:"url,omitempty"`
}

// LogVKey is the verifier key of the policy's log served at url (a
// trailing slash aside), or "" if no log of the policy is there.
func (p *Policy) LogVKey(url string) string {
	for _, l := range p.Logs {
		if l.URL != "" && strings.TrimSuffix(l.URL, "/") == strings.TrimSuffix(url, "/") {
			return l.VKey
		}
	}
	return ""
}

// Witnesses cosign checkpoints; Quorum of them must cosign each one used.
type Witnesses struct {
	VKeys  []string `json:"vkeys"`
	Quorum int      `json:"quorum"`
}

// Action is something maintainers approve, each with its own threshold.
type Action string

const (
	ActionRelease  Action = "release"
	ActionRollback Action = "rollback"
	ActionPolicy   Action = "policy"
)

var keyName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// ParsePolicy parses a policy payload, accepting only its canonical form.
func ParsePolicy(data []byte) (*Policy, error) {
	var p Policy
	if err := strictjson.Decode(data, &p, MaxPolicySize); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	if err := strictjson.Canonical(data, &p); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	d := manifest.DigestBytes(data)
	p.digest = d
	return &p, nil
}

// Marshal returns the canonical payload of p, after checking it.
func (p *Policy) Marshal() ([]byte, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	b, err := strictjson.Marshal(p)
	if err != nil {
		return nil, err
	}
	p.digest = manifest.DigestBytes(b)
	return b, nil
}

func (p *Policy) check() error {
	bad := func(field, format string, args ...any) error {
		return &manifest.FieldError{Document: "policy", Field: field, Problem: fmt.Sprintf(format, args...)}
	}
	if p.Version == 0 || p.Version > manifest.MaxSequence {
		return bad("version", "%d; want 1 or more", p.Version)
	}
	if err := manifest.CheckTime(p.Expires); err != nil {
		return bad("expires", "%v", err)
	}
	if len(p.Products) == 0 || len(p.Products) > maxProducts {
		return bad("products", "want 1 to %d products", maxProducts)
	}
	for i, name := range p.Products {
		if err := manifest.CheckProduct(name); err != nil {
			return bad(fmt.Sprintf("products[%d]", i), "%v", err)
		}
		if i > 0 && p.Products[i-1] >= name {
			return bad(fmt.Sprintf("products[%d]", i), "%q is out of order or repeated; products are sorted", name)
		}
	}
	p.names = map[string]string{}
	p.owners = map[string]string{}
	var err error
	if p.maintainerKeys, err = p.parseKeys("maintainers.keys", p.Maintainers.Keys, 1); err != nil {
		return err
	}
	if p.rebuilderKeys, err = p.parseKeys("rebuilders.keys", p.Rebuilders.Keys, 0); err != nil {
		return err
	}
	n := len(p.Maintainers.Keys)
	th := p.Maintainers.Thresholds
	for _, t := range []struct {
		field string
		n     int
	}{{"release", th.Release}, {"rollback", th.Rollback}, {"policy", th.Policy}} {
		if t.n < 1 || t.n > n {
			return bad("maintainers.thresholds."+t.field, "%d; want 1 to %d (the number of maintainer keys)", t.n, n)
		}
	}
	// A lower rollback or policy threshold would be the cheaper way to do
	// what a release needs: fewer keys could roll clients back, or rotate
	// the policy to themselves and then sign anything.
	if th.Rollback < th.Release {
		return bad("maintainers.thresholds.rollback", "%d is below the release threshold %d; a rollback needs at least as many signatures as a release", th.Rollback, th.Release)
	}
	if th.Policy < th.Release {
		return bad("maintainers.thresholds.policy", "%d is below the release threshold %d; a policy change needs at least as many signatures as a release", th.Policy, th.Release)
	}
	if t, n := p.Rebuilders.Threshold, len(p.Rebuilders.Keys); t < 0 || t > n {
		return bad("rebuilders.threshold", "%d; want 0 to %d (the number of rebuilder keys)", t, n)
	}
	if err := p.checkLogs(); err != nil {
		return err
	}
	if age, err := parseDuration(p.MaxCheckpointAge); err != nil || age <= 0 {
		return bad("maxCheckpointAge", "%q is not a positive duration in canonical Go form (like 168h0m0s)", p.MaxCheckpointAge)
	}
	age, err := parseDuration(p.MinLogAge)
	if err != nil || age < 0 {
		return bad("minLogAge", "%q is not a duration in canonical Go form (like 24h0m0s or 0s)", p.MinLogAge)
	}
	if age > 0 && p.Witnesses.Quorum == 0 {
		// Only witnesses date a release; without them no release could
		// ever become old enough to install.
		return bad("minLogAge", "%s needs witnesses to date releases: set witnesses.quorum to 1 or more, or minLogAge to 0s", p.MinLogAge)
	}
	return nil
}

// parseKeys checks a key list: valid unique names, IDs that match the keys,
// no key listed twice.
func (p *Policy) parseKeys(field string, keys []Key, min int) ([]*signer.PublicKey, error) {
	bad := func(f, format string, args ...any) error {
		return &manifest.FieldError{Document: "policy", Field: f, Problem: fmt.Sprintf(format, args...)}
	}
	if keys == nil {
		return nil, bad(field, "missing (use [] for none)")
	}
	if len(keys) < min || len(keys) > maxKeys {
		return nil, bad(field, "%d keys; want %d to %d", len(keys), min, maxKeys)
	}
	out := make([]*signer.PublicKey, 0, len(keys))
	for i, k := range keys {
		f := fmt.Sprintf("%s[%d]", field, i)
		if !keyName.MatchString(k.Name) {
			return nil, bad(f+".name", "%q is not a key name (1 to 64 of A-Z a-z 0-9 . _ @ -)", k.Name)
		}
		pub, err := signer.ParsePublicKey([]byte(k.PublicKey))
		if err != nil {
			return nil, bad(f+".publicKey", "%v", err)
		}
		if string(pub.PEM()) != k.PublicKey {
			return nil, bad(f+".publicKey", "not in canonical PEM form")
		}
		if pub.ID() != k.ID {
			return nil, bad(f+".id", "%q is not the SHA-256 of the key (%s)", k.ID, pub.ID())
		}
		if err := p.claim(f, k.Name, material(pub)); err != nil {
			return nil, err
		}
		for _, name := range p.names {
			if name == k.Name {
				return nil, bad(f+".name", "%q is used twice", k.Name)
			}
		}
		p.names[k.ID] = k.Name
		out = append(out, pub)
	}
	return out, nil
}

func (p *Policy) checkLogs() error {
	bad := func(f, format string, args ...any) error {
		return &manifest.FieldError{Document: "policy", Field: f, Problem: fmt.Sprintf(format, args...)}
	}
	if p.Logs == nil {
		return bad("logs", "missing (use [] for none)")
	}
	if len(p.Logs) > maxLogs {
		return bad("logs", "%d logs; at most %d", len(p.Logs), maxLogs)
	}
	for i, l := range p.Logs {
		f := fmt.Sprintf("logs[%d]", i)
		k, err := vkey.Parse(l.VKey, algEd25519)
		if err != nil {
			return bad(f+".vkey", "%v", err)
		}
		if k.Name != l.Origin {
			return bad(f+".origin", "%q differs from the name in the vkey (%q)", l.Origin, k.Name)
		}
		if err := p.claim(f+".vkey", k.Name, spki(k.Public)); err != nil {
			return err
		}
		if l.URL != "" {
			if u, err := url.Parse(l.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return bad(f+".url", "%q is not an http(s) URL", l.URL)
			}
		}
	}
	if p.Witnesses.VKeys == nil {
		return bad("witnesses.vkeys", "missing (use [] for none)")
	}
	if len(p.Witnesses.VKeys) > maxKeys {
		return bad("witnesses.vkeys", "%d witnesses; at most %d", len(p.Witnesses.VKeys), maxKeys)
	}
	seen := map[string]bool{}
	for i, v := range p.Witnesses.VKeys {
		f := fmt.Sprintf("witnesses.vkeys[%d]", i)
		// Witnesses make tlog-cosignature/v1 signatures, the only kind a
		// quorum counts (they carry the time that freshness needs).
		k, err := vkey.Parse(v, algCosignatureV1)
		if err != nil {
			return bad(f, "%v", err)
		}
		if seen[k.Name] {
			return bad(f, "witness %q is listed twice", k.Name)
		}
		seen[k.Name] = true
		if err := p.claim(f, k.Name, spki(k.Public)); err != nil {
			return err
		}
	}
	if q := p.Witnesses.Quorum; q < 0 || q > len(p.Witnesses.VKeys) {
		return bad("witnesses.quorum", "%d; want 0 to %d (the number of witnesses)", q, len(p.Witnesses.VKeys))
	}
	return nil
}

// claim records that the key with DER SubjectPublicKeyInfo der is field
// (named name) and refuses a key that already holds another place in the
// policy, in any role. Keys are compared by key material: thresholds and
// quorums count keys, and a key under two names would count twice (a
// witness cosignature does not even sign the witness's name).
func (p *Policy) claim(field, name string, der []byte) error {
	if p.owners == nil {
		p.owners = map[string]string{}
	}
	if other, ok := p.owners[string(der)]; ok {
		return &manifest.FieldError{Document: "policy", Field: field,
			Problem: fmt.Sprintf("the key of %q is already in the policy as %s; each key may appear once, in one role", name, other)}
	}
	p.owners[string(der)] = fmt.Sprintf("%s (%q)", field, name)
	return nil
}

// material is what makes a key the same key: its DER SubjectPublicKeyInfo,
// except for RSA, where it is the modulus alone. Two RSA keys with one
// modulus and different exponents are one set of factors, one secret, and
// would otherwise count twice towards a threshold.
func material(pub *signer.PublicKey) []byte {
	if k, ok := pub.Crypto().(*rsa.PublicKey); ok {
		return append([]byte("rsa modulus "), k.N.Bytes()...)
	}
	return pub.DER()
}

// spki is the DER SubjectPublicKeyInfo of an Ed25519 key, so that vkeys and
// PEM keys compare as key material.
func spki(pub ed25519.PublicKey) []byte {
	der, _ := x509.MarshalPKIXPublicKey(pub)
	return der
}

func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d.String() != s {
		return 0, fmt.Errorf("not canonical")
	}
	return d, nil
}

// NewKey makes the policy entry for pub under name.
func NewKey(name string, pub *signer.PublicKey) Key {
	return Key{Name: name, ID: pub.ID(), PublicKey: string(pub.PEM())}
}
