package rebuild

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ssms.dev/ssms/manifest"
)

// TestSandboxReproducesOutside: the project's smp-client recipe, run the
// rebuilder's way (a fresh clone, go mod download, go mod verify and the
// build) in the sandbox, give the same bytes as without it; and the log
// says how long each took.
func TestSandboxReproducesOutside(t *testing.T) {
	if testing.Short() {
		t.Skip("two cold builds, over a minute") // TestOurBinariesReproducible does smp-server in the sandbox

	}
	source := t.TempDir()
	repoCopy(t, source)
	gitT(t, source, "init", "--quiet")
	gitT(t, source, "add", ".")
	gitT(t, source, "commit", "--quiet", "-m", "snapshot")
	commit := strings.TrimSpace(gitT(t, source, "rev-parse", "HEAD"))
	for _, product := range []string{"smp-client"} {
		var digests [2]string
		var took [2]time.Duration
		for i, noSandbox := range []bool{false, true} {
			var log bytes.Buffer
			run := *testRunner(t)
			run.NoSandbox, run.Output = noSandbox, &log
			start := time.Now()
			work := t.TempDir()
			src, err := Fetch(context.Background(), source, commit, work)
			if err != nil {
				t.Fatal(err)
			}
			if err := run.Build(context.Background(), projectRecipe(t, product), src, work); err != nil {
				t.Fatalf("%s, noSandbox=%v: %v\n%s", product, noSandbox, err, log.String())
			}
			took[i] = time.Since(start)
			d, err := manifest.DigestFile(filepath.Join(src, product), nil)
			if err != nil {
				t.Fatal(err)
			}
			digests[i] = d.SHA256
		}
		if digests[0] != digests[1] {
			t.Errorf("%s: sandboxed sha256:%s, unsandboxed sha256:%s", product, digests[0], digests[1])
		}
		t.Logf("%s: sandboxed %v, unsandboxed %v (ratio %.2f), sha256:%s", product, took[0].Round(time.Millisecond), took[1].Round(time.Millisecond), took[0].Seconds()/took[1].Seconds(), digests[0])
	}
}
