package updater

import (
	"context"
	"crypto/rand"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/updater/mirror"
)

// BenchmarkUpdate is a whole first install of a 20 MiB artifact from a
// mirror served over HTTP on loopback: the log's checkpoint and entries,
// the bundle, its verification, the download hashed as it streams, the
// journal, the fsyncs and the confirmation. The anchor, in the same run,
// is `curl -s URL | sha256sum` of the same artifact (budget, issue 15:
// within 1.5×).
func BenchmarkUpdate(b *testing.B) {
	p := newProject(b, 1)
	data := make([]byte, benchSize)
	rand.Read(data)
	p.publish("1.0.0", 1, string(data))
	srv := httptest.NewServer(mirror.Handler(p.mirrors[0]))
	defer srv.Close()
	d := manifest.DigestBytes(data)
	url := srv.URL + "/sha256/" + d.SHA256
	_, curlErr := exec.LookPath("curl")
	b.SetBytes(benchSize)
	b.ResetTimer()
	var ours, theirs time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		root := b.TempDir()
		u := p.updater(srv.URL)
		u.Path, u.StateDir = filepath.Join(root, "app"), filepath.Join(root, "state")
		b.StartTimer()
		start := time.Now()
		if _, err := u.Update(context.Background()); err != nil {
			b.Fatal(err)
		}
		ours += time.Since(start)
		if curlErr != nil {
			continue
		}
		b.StopTimer()
		start = time.Now()
		out, err := exec.Command("sh", "-c", "curl -s "+url+" | sha256sum").Output()
		if err != nil || !strings.HasPrefix(string(out), d.SHA256) {
			b.Fatalf("curl | sha256sum = %q, %v", out, err)
		}
		theirs += time.Since(start)
		os.RemoveAll(root)
		b.StartTimer()
	}
	b.StopTimer()
	if curlErr == nil {
		b.ReportMetric(float64(theirs.Nanoseconds())/float64(b.N), "curl-ns/op")
		b.ReportMetric(float64(ours)/float64(theirs), "x-curl")
	}
}
