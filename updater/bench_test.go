package updater

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/verifier"
	"ssms.dev/ssms/verifier/statedir"
)

const benchSize = 20 << 20

// BenchmarkInstall installs a 20 MiB artifact: hashing it again, the
// journal's four writes, the fsyncs and the renames. The anchor,
// BenchmarkHashSync, is what any install must do at least: hash the
// bytes and fsync them.
func BenchmarkInstall(b *testing.B) {
	root := b.TempDir()
	big := bytes.Repeat([]byte{0x5a}, benchSize)
	f := fixture{root: root, bin: filepath.Join(root, "bin"), state: filepath.Join(root, "state")}
	must(b, os.MkdirAll(f.bin, 0o755))
	d, err := statedir.Open(f.state)
	must(b, err)
	defer d.Close()
	req := Request{Path: f.path(), Staged: f.staged(), Product: "app",
		Digest: manifest.DigestBytes(big), Size: benchSize,
		Result: &verifier.Result{Next: stateFor(big, "2")}, Now: t0, ConfirmWithin: time.Minute}
	b.SetBytes(benchSize)
	for b.Loop() {
		b.StopTimer()
		must(b, os.WriteFile(f.staged(), big, 0o600))
		must(b, os.WriteFile(f.path(), oldBinary, 0o755))
		b.StartTimer()
		must(b, Install(d, req))
		b.StopTimer()
		must(b, Confirm(d, f.path()))
		b.StartTimer()
	}
}

func BenchmarkHashSync(b *testing.B) {
	path := filepath.Join(b.TempDir(), "artifact")
	big := bytes.Repeat([]byte{0x5a}, benchSize)
	b.SetBytes(benchSize)
	for b.Loop() {
		b.StopTimer()
		must(b, os.WriteFile(path, big, 0o600))
		b.StartTimer()
		if _, _, err := fileDigest(path, benchSize); err != nil {
			b.Fatal(err)
		}
		must(b, syncFile(path))
	}
}
