package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteAndCreate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := Create(path, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Create(path, []byte("two"), 0o600); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("Create over an existing file: err = %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "one" {
		t.Fatalf("content = %q after a refused Create", b)
	}
	if err := Write(path, []byte("three"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	fi, _ := os.Stat(path)
	if string(b) != "three" || fi.Mode().Perm() != 0o644 {
		t.Fatalf("after Write: %q, mode %v", b, fi.Mode())
	}
	if fi, _ := os.Stat(path); Create(filepath.Join(dir, "g"), nil, 0o600) != nil || fi == nil {
		t.Fatal("Create of an empty file failed")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
	if err := Write(filepath.Join(dir, "missing", "f"), nil, 0o644); err == nil {
		t.Fatal("Write into a missing directory succeeded")
	}
}

func TestRemoveTemps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "st[a]te.json")
	tmp, err := writeTemp(path, []byte("half"), 0o600) // as a killed Write leaves it
	if err != nil {
		t.Fatal(err)
	}
	keep := []string{path, filepath.Join(dir, ".other.tmp-1"), filepath.Join(dir, "st[a]te.json.tmp-1")}
	for _, k := range keep {
		if err := os.WriteFile(k, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := RemoveTemps(path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("%s left: %v", tmp, err)
	}
	for _, k := range keep {
		if _, err := os.Stat(k); err != nil {
			t.Errorf("%s removed: %v", k, err)
		}
	}
}
