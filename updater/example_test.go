package updater_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/updater"
	"ssms.dev/ssms/verifier"
	"ssms.dev/ssms/verifier/statedir"
)

// A program's life cycle around an update: Recover at every start,
// Install after Verify, and, in the new version, Confirm once its own
// self-check passed (or RollBack if it failed).
func Example() {
	root, _ := os.MkdirTemp("", "updater-example")
	defer os.RemoveAll(root)
	path := filepath.Join(root, "app")                  // the binary that runs
	staged := filepath.Join(root, ".ssms-download-app") // downloaded beside it
	os.WriteFile(path, []byte("version 1"), 0o755)
	os.WriteFile(staged, []byte("version 2"), 0o600)

	d, err := statedir.Open(filepath.Join(root, "state"))
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	now := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)

	// The old version, at start and before an update.
	o, err := updater.Recover(d, path, now)
	fmt.Println("start:", o, err)

	// verifier.Verify (ModeInstall) accepted the staged file; its Result
	// carries the next state, here made by hand.
	digest := manifest.DigestBytes([]byte("version 2"))
	next := verifier.NewState()
	next.Products["app"] = &verifier.Installed{Version: "2",
		Artifacts: []manifest.Subject{manifest.SizedSubject("app", digest, 9)}}
	err = updater.Install(d, updater.Request{Path: path, Staged: staged, Product: "app",
		Digest: digest, Size: 9, Result: &verifier.Result{Next: next}, Now: now})
	fmt.Println("install:", err)

	// The new version, at its first start: Recover, self-check, Confirm.
	o, err = updater.Recover(d, path, now.Add(time.Second))
	fmt.Println("first start:", o, err)
	fmt.Println("confirm:", updater.Confirm(d, path))
	b, _ := os.ReadFile(path)
	fmt.Println(string(b))
	// Output:
	// start: clean <nil>
	// install: <nil>
	// first start: unconfirmed <nil>
	// confirm: <nil>
	// version 2
}
