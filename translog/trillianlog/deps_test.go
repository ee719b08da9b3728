package trillianlog_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestSMPBinariesDoNotLinkGRPC keeps gRPC, Trillian and the MySQL driver
// out of everything but cmd/ssms: the SMP binaries must not grow, and only
// cmd/ssms imports this package.
func TestSMPBinariesDoNotLinkGRPC(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command("go", "list", "-deps", "ssms.dev/ssms/cmd/smp-server", "ssms.dev/ssms/cmd/smp-client").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, banned := range []string{"google.golang.org/grpc", "github.com/google/trillian", "github.com/go-sql-driver/mysql", "ssms.dev/ssms/translog/trillianlog"} {
			if pkg == banned || strings.HasPrefix(pkg, banned+"/") {
				t.Errorf("the SMP binaries link %s", pkg)
			}
		}
	}
	out, err = exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "ssms.dev/ssms/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] == "ssms.dev/ssms/cmd/ssms" {
			continue
		}
		for _, imp := range fields[1:] {
			if imp == "ssms.dev/ssms/translog/trillianlog" {
				t.Errorf("%s imports translog/trillianlog; only cmd/ssms may", fields[0])
			}
		}
	}
}
