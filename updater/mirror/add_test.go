package mirror

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"ssms.dev/ssms/manifest"
)

func TestAdd(t *testing.T) {
	dir, src := t.TempDir(), t.TempDir()
	app := []byte("app version 1.0.0\n")
	bundle := testBundle(t, "app", "1.0.0", map[string][]byte{"app": app})
	rel, err := Add(dir, bundle, writeFiles(t, src, map[string][]byte{"app": app}))
	if err != nil {
		t.Fatal(err)
	}
	if rel.Predicate.Version != "1.0.0" {
		t.Errorf("release version %q", rel.Predicate.Version)
	}
	for path, want := range map[string][]byte{
		"app/1.0.0.bundle": bundle,
		"app/latest":       []byte("1.0.0\n"),
		"sha256/" + manifest.DigestBytes(app).SHA256: app,
	} {
		got, err := os.ReadFile(filepath.Join(dir, path))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s = %q, %v; want %q", path, got, err, want)
		}
	}
	noTemp(t, filepath.Join(dir, "sha256"))

	// An older release added later leaves the hint alone; a newer moves it.
	old := testBundle(t, "app", "0.9.0", map[string][]byte{"app": []byte("old")})
	if _, err := Add(dir, old, writeFiles(t, src, map[string][]byte{"app": []byte("old")})); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "app/latest")); string(got) != "1.0.0\n" {
		t.Errorf("after adding 0.9.0, latest = %q; want 1.0.0", got)
	}
	newer := testBundle(t, "app", "1.1.0", map[string][]byte{"app": app})
	if _, err := Add(dir, newer, writeFiles(t, src, map[string][]byte{"app": app})); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "app/latest")); string(got) != "1.1.0\n" {
		t.Errorf("after adding 1.1.0, latest = %q; want 1.1.0", got)
	}
}

// TestAttackAddMismatch: mirror add of a bundle whose artifact does not
// match writes nothing at all.
func TestAttackAddMismatch(t *testing.T) {
	app := []byte("app version 1.0.0\n")
	bundle := testBundle(t, "app", "1.0.0", map[string][]byte{"app": app})
	tests := []struct {
		name  string
		files map[string][]byte
	}{
		{"other bytes, same size", map[string][]byte{"app": []byte("app version 6.6.6\n")}},
		{"longer", map[string][]byte{"app": append(append([]byte{}, app...), 'x')}},
		{"shorter", map[string][]byte{"app": app[:5]}},
		{"not in the release", map[string][]byte{"other": app}},
		{"one good, one bad", map[string][]byte{"app": app, "zzz": []byte("evil")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := Add(dir, bundle, writeFiles(t, t.TempDir(), tt.files))
			if !errors.Is(err, ErrArtifact) {
				t.Fatalf("Add = %v; want ErrArtifact", err)
			}
			for _, p := range []string{"app/1.0.0.bundle", "app/latest"} {
				if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
					t.Errorf("%s written after a refusal", p)
				}
			}
			if left, _ := os.ReadDir(filepath.Join(dir, "sha256")); len(left) > 0 {
				t.Errorf("sha256/ holds %d files after a refusal", len(left))
			}
		})
	}
}

// TestAttackAddNoOverwrite: an artifact file already in the mirror is
// never replaced, and a damaged one is reported.
func TestAttackAddNoOverwrite(t *testing.T) {
	dir := t.TempDir()
	app := []byte("app version 1.0.0\n")
	bundle := testBundle(t, "app", "1.0.0", map[string][]byte{"app": app})
	p := filepath.Join(dir, "sha256", manifest.DigestBytes(app).SHA256)
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, []byte("damaged"), 0o644)
	if _, err := Add(dir, bundle, writeFiles(t, t.TempDir(), map[string][]byte{"app": app})); err == nil {
		t.Fatal("Add over a damaged artifact file succeeded")
	}
	if got, _ := os.ReadFile(p); string(got) != "damaged" {
		t.Errorf("the existing file was overwritten: %q", got)
	}
}

// TestAddSameBytes: two artifacts of a release with the same bytes are
// one file, and no temporary file is left.
func TestAddSameBytes(t *testing.T) {
	dir, src := t.TempDir(), t.TempDir()
	same := []byte("same bytes\n")
	bundle := testBundle(t, "app", "1.0.0", map[string][]byte{"a": same, "b": same})
	if _, err := Add(dir, bundle, writeFiles(t, src, map[string][]byte{"a": same, "b": same})); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "sha256")); len(entries) != 1 {
		t.Errorf("sha256/ holds %d files; want 1", len(entries))
	}
}

func TestAddBadBundle(t *testing.T) {
	bundle := testBundle(t, "app", "1.0.0", map[string][]byte{"app": []byte("x")})
	for _, b := range [][]byte{nil, []byte("{}"), append(bundle, ' ')} {
		if _, err := Add(t.TempDir(), b, nil); err == nil {
			t.Errorf("Add(%.20q…) succeeded", b)
		}
	}
}
