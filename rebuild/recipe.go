package rebuild

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"ssms.dev/ssms/manifest"
)

// The recipe policy. A release's recipe is written by its maintainers,
// and rebuilders exist to catch a compromised maintainer threshold: so a
// recipe is data for the Go toolchain, not a program. manifest.Recipe.Check
// stays structural (logged releases with other recipes still parse); this
// is the rebuilder's own rule, applied before anything is fetched.
//
// The command is exactly "go build", then flags from allowedFlags, then
// package patterns "./…" inside the module. Flags that run other programs
// (-toolexec, -exec, -ldflags=-extld=…), read files from outside the
// checkout (-overlay, -modfile, -C, -pgo=FILE) or change the compiler are
// refused. The environment holds only the variables of allowedEnv: none
// of them can name a program, a path or a proxy.

// allowedFlags maps each allowed go build flag to the check of its value;
// nil means a boolean flag that takes no value.
var allowedFlags = map[string]func(string) error{
	"-trimpath":  nil,
	"-a":         nil,
	"-v":         nil,
	"-buildvcs":  oneOf("false"),
	"-o":         checkOutput,
	"-ldflags":   checkLdflags,
	"-tags":      checkTags,
	"-mod":       oneOf("readonly", "vendor"),
	"-buildmode": oneOf("exe", "pie", "default"),
	"-pgo":       oneOf("off"),
}

// mustHaveValue are the flags written NAME=VALUE only (-buildvcs=false:
// "-buildvcs" alone would mean true); the others of allowedFlags with a
// check may also be written as two arguments, NAME VALUE.
var mustHaveValue = map[string]bool{"-buildvcs": true}

const flagsAllowed = "-trimpath, -buildvcs=false, -o NAME, -ldflags (with -s, -w, -buildid=, -X), -tags, -mod=readonly|vendor, -a, -v, -buildmode=exe|pie|default, -pgo=off"

// allowedEnv are the variables a recipe may set, with the check of the
// value. All select the target or compiler features; none names a path.
var allowedEnv = map[string]func(string) error{
	"CGO_ENABLED": oneOf("0", "1"),
	"GOOS":        envValue, "GOARCH": envValue,
	"GOAMD64": envValue, "GOARM": envValue, "GOARM64": envValue, "GO386": envValue,
	"GOMIPS": envValue, "GOMIPS64": envValue, "GOPPC64": envValue, "GORISCV64": envValue,
	"GOWASM": envValue, "GOEXPERIMENT": envValue,
}

const envAllowed = "CGO_ENABLED, GOOS, GOARCH, GOAMD64, GOARM, GOARM64, GO386, GOMIPS, GOMIPS64, GOPPC64, GORISCV64, GOWASM, GOEXPERIMENT"

var (
	envChars     = regexp.MustCompile(`^[A-Za-z0-9._,+-]{1,64}$`)
	nameChars    = regexp.MustCompile(`^[A-Za-z0-9._/+-]+$`)
	tagName      = regexp.MustCompile(`^[A-Za-z0-9_.]+$`)
	buildID      = regexp.MustCompile(`^[A-Za-z0-9._/+-]*$`)
	xDefinition  = regexp.MustCompile(`^[A-Za-z0-9._/~-]+\.[A-Za-z_][A-Za-z0-9_]*=[A-Za-z0-9._+/@:-]*$`)
	errNotInTree = "must be a clean relative path inside the checkout (no leading -, /, or .. element)"
)

// CheckRecipe applies the rebuilder's recipe policy to r; the error names
// the refused argument or variable and says what is allowed.
func CheckRecipe(r *manifest.Recipe) error {
	if err := r.Check(); err != nil {
		return err
	}
	if err := checkCommand(r.Command); err != nil {
		return err
	}
	for k, v := range r.Environment {
		check, ok := allowedEnv[k]
		if !ok {
			return fmt.Errorf("environment: %s is not allowed (allowed: %s)", k, envAllowed)
		}
		if err := check(v); err != nil {
			return fmt.Errorf("environment: %s: %w", k, err)
		}
	}
	return nil
}

func checkCommand(argv []string) error {
	if len(argv) < 2 || argv[0] != "go" || argv[1] != "build" {
		return fmt.Errorf("command: must start with \"go\", \"build\" (the only command a rebuilder runs), not %q", strings.Join(argv[:min(len(argv), 2)], " "))
	}
	i := 2
	for ; i < len(argv) && strings.HasPrefix(argv[i], "-"); i++ {
		name, value, hasValue := strings.Cut(argv[i], "=")
		check, ok := allowedFlags[name]
		if !ok {
			return fmt.Errorf("command[%d]: %s is not allowed (allowed: %s)", i, name, flagsAllowed)
		}
		switch {
		case check == nil && hasValue:
			return fmt.Errorf("command[%d]: %s takes no value", i, name)
		case check == nil:
			continue
		case !hasValue && mustHaveValue[name]:
			return fmt.Errorf("command[%d]: write %s=VALUE", i, name)
		case !hasValue:
			if i+1 == len(argv) {
				return fmt.Errorf("command[%d]: %s needs a value", i, name)
			}
			i++
			value = argv[i]
		}
		if err := check(value); err != nil {
			return fmt.Errorf("command[%d]: %s: %w", i, name, err)
		}
	}
	for ; i < len(argv); i++ {
		if err := checkPackage(argv[i]); err != nil {
			return fmt.Errorf("command[%d]: %w", i, err)
		}
	}
	return nil
}

// checkPackage accepts "." and "./dir/…" patterns, inside the module.
func checkPackage(p string) error {
	if p == "." {
		return nil
	}
	rest, ok := strings.CutPrefix(p, "./")
	if !ok || !inTree(rest) {
		return fmt.Errorf("package %q is not allowed: write ./DIR, a clean path inside the module (no .. element)", p)
	}
	return nil
}

// inTree reports whether p is a clean relative slash path of safe
// characters with no .. element.
func inTree(p string) bool {
	if !nameChars.MatchString(p) || path.Clean(p) != p || strings.HasPrefix(p, "-") || path.IsAbs(p) {
		return false
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." {
			return false
		}
	}
	return true
}

// checkOutput accepts an output path inside the checkout none of whose
// elements starts with ".": not into .git (a hook there runs on the
// host at the next git command), nor a dotfile (.envrc, .gitattributes)
// that a tool run in the tree would obey.
func checkOutput(v string) error {
	if !inTree(v) || v == "." {
		return fmt.Errorf("%q %s", v, errNotInTree)
	}
	for _, el := range strings.Split(v, "/") {
		if strings.HasPrefix(el, ".") {
			return fmt.Errorf("%q: no element of an output path may start with \".\" (.git, dotfiles)", v)
		}
	}
	return nil
}

// checkLdflags allows the linker flags that only strip or stamp the
// binary: -s, -w, -buildid=ID, -X importpath.name=value. The value is
// split on spaces as the go command does; quotes are refused, so the
// split here and the go command's cannot differ.
func checkLdflags(v string) error {
	if strings.ContainsAny(v, "'\"\\\t\n\r") {
		return fmt.Errorf("%q: quotes, backslashes and control characters are not allowed", v)
	}
	args := strings.Fields(v)
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-s" || a == "-w":
		case strings.HasPrefix(a, "-buildid="):
			if !buildID.MatchString(strings.TrimPrefix(a, "-buildid=")) {
				return fmt.Errorf("%q: bad build ID", a)
			}
		case a == "-X" && i+1 < len(args) && xDefinition.MatchString(args[i+1]):
			i++
		case strings.HasPrefix(a, "-X=") && xDefinition.MatchString(strings.TrimPrefix(a, "-X=")):
		default:
			return fmt.Errorf("linker flag %q is not allowed (allowed: -s, -w, -buildid=ID, -X importpath.name=value)", a)
		}
	}
	return nil
}

func checkTags(v string) error {
	if v == "" {
		return nil
	}
	for _, t := range strings.Split(v, ",") {
		if !tagName.MatchString(t) {
			return fmt.Errorf("%q: want a comma-separated list of build tags (letters, digits, _ and .)", v)
		}
	}
	return nil
}

func envValue(v string) error {
	if !envChars.MatchString(v) {
		return fmt.Errorf("%q: want 1 to 64 of A-Z a-z 0-9 . _ , + -", v)
	}
	return nil
}

func oneOf(allowed ...string) func(string) error {
	return func(v string) error {
		for _, a := range allowed {
			if v == a {
				return nil
			}
		}
		return fmt.Errorf("%q is not allowed (allowed: %s)", v, strings.Join(allowed, ", "))
	}
}
