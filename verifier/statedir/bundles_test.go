package statedir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestBundleStore(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	data := []byte(`{"bundle":1}`)
	digest, err := d.SaveBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := d.SaveBundle(data); err != nil || again != digest {
		t.Fatalf("saving twice: %v, %s", err, again)
	}
	got, err := ReadBundle(dir, digest)
	if err != nil || string(got) != string(data) {
		t.Fatalf("read back %q, %v", got, err)
	}
	path, _ := BundlePath(dir, digest)
	if err := os.WriteFile(path, []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadBundle(dir, digest); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("a damaged bundle read as %v", err)
	}
	if _, err := d.SaveBundle(data); err != nil {
		t.Fatalf("saving over a damaged copy: %v", err)
	}
	if _, err := ReadBundle(dir, digest); err != nil {
		t.Fatalf("after repair: %v", err)
	}
	other := "sha256:" + strings.Repeat("0", 64)
	if _, err := ReadBundle(dir, other); !errors.Is(err, ErrBundleMissing) {
		t.Fatalf("missing bundle: %v", err)
	}
	for _, bad := range []string{"", "sha256:../x", "sha512:" + strings.Repeat("0", 64), "sha256:" + strings.Repeat("A", 64)} {
		if _, err := BundlePath(dir, bad); err == nil {
			t.Errorf("BundlePath accepted %q", bad)
		}
	}
}

// TestAttackBundleNotRegular: whoever can write the state directory puts
// a FIFO, or a link to another copy, where a saved bundle was. ReadBundle
// neither blocks (the program starting holds the lock) nor follows the
// link; saving the bundle again repairs it.
func TestAttackBundleNotRegular(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	data := []byte(`{"bundle":2}`)
	digest, err := d.SaveBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	path, _ := BundlePath(dir, digest)
	copyOf := filepath.Join(t.TempDir(), "copy")
	os.WriteFile(copyOf, data, 0o644)
	for name, plant := range map[string]func() error{
		"FIFO": func() error { return syscall.Mkfifo(path, 0o644) },
		"link": func() error { return os.Symlink(copyOf, path) },
	} {
		os.Remove(path)
		if err := plant(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { _, err := ReadBundle(dir, digest); done <- err }()
		select {
		case err := <-done:
			if !errors.Is(err, ErrNotRegular) {
				t.Errorf("%s: ReadBundle = %v; want ErrNotRegular", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: ReadBundle blocks", name)
		}
		if _, err := d.SaveBundle(data); err != nil {
			t.Fatalf("%s: saving again: %v", name, err)
		}
		if _, err := ReadBundle(dir, digest); err != nil {
			t.Errorf("%s: after saving again: %v", name, err)
		}
	}
}
