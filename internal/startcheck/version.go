package startcheck

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"ssms.dev/ssms/updater"
)

// PrintVersion writes what --version says: the version (set at build time
// with -ldflags -X, "devel" otherwise), the commit and Go version the
// build recorded, and whether this binary verifies against its installed
// bundle, checked read-only (updater.SelfCheck: no lock, nothing
// written), so that it works without a state directory and while the
// program runs.
func (o *Options) PrintVersion(w io.Writer, version string) {
	fmt.Fprintf(w, "%s %s\n", o.Prog, version)
	fmt.Fprintf(w, "commit: %s\n", commit())
	fmt.Fprintf(w, "go: %s\n", runtime.Version())
	fmt.Fprintln(w, o.verification())
}

// verification is the line "verified: …" or "not verified: <reason>".
func (o *Options) verification() string {
	c, err := o.check()
	if err != nil {
		return "not verified: " + err.Error()
	}
	v, err := updater.SelfCheck(c)
	if err != nil {
		return "not verified: " + err.Error()
	}
	line := fmt.Sprintf("verified: release %s of %s (log index %d), %s", v.Version, v.Product, v.Index, v.Digest)
	if v.Unconfirmed {
		line += ", waiting for its first start to confirm the install"
	}
	return line
}

// commit is the VCS revision the build recorded, if any (release builds
// use -buildvcs=false, so that a rebuild is bit for bit the same from a
// source archive: their commit is in the release statement instead).
func commit() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	rev, modified := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	switch {
	case rev == "":
		return "unknown (built without VCS information)"
	case modified:
		return rev + " (modified)"
	}
	return rev
}
