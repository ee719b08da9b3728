package bundler

import (
	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
)

// Link is a logged policy of a chain: its entry in the log and the
// policy, verified as the successor of the link before it.
type Link struct {
	Index  int64
	Policy *policies.Policy
}

// Successors walks the logged policies forward from cur, version after
// version, to the last that verifies: at each version, the first logged
// policy that policies.VerifyNext accepts as the successor of the link
// before, wherever in the log it was logged. A logged policy that does
// not verify (a bogus next version signed by one leaked key) is skipped.
// envelope reads entry i of the log (checked against the caller's
// checkpoint). It returns the links after cur, in version order: none
// when cur is the newest.
func (ix *Index) Successors(cur *policies.Policy, envelope func(i int64) (*manifest.Envelope, error)) ([]Link, error) {
	var out []Link
	for {
		var succ *policies.Policy
		i, ok, err := ix.firstLogged(cur.Version+1, envelope, func(env *manifest.Envelope) bool {
			p, _, err := policies.VerifyNext(cur, env)
			succ = p
			return err == nil
		})
		if err != nil || !ok {
			return out, err
		}
		out = append(out, Link{Index: i, Policy: succ})
		cur = succ
	}
}

// firstLogged is the first logged policy of version v whose envelope fits.
func (ix *Index) firstLogged(v uint64, envelope func(int64) (*manifest.Envelope, error), fits func(*manifest.Envelope) bool) (int64, bool, error) {
	for _, e := range ix.Policies {
		if e.Version != v {
			continue
		}
		env, err := envelope(e.Index)
		if err != nil {
			return 0, false, err
		}
		if fits(env) {
			return e.Index, true, nil
		}
	}
	return 0, false, nil
}
