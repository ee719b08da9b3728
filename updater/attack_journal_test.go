package updater

// Attacks on the install journal by whoever can write the state
// directory: found by the outside review of the updater.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ssms.dev/ssms/internal/strictjson"
	"ssms.dev/ssms/verifier/statedir"
)

// forgedJournal writes a journal at step for p's install, naming staged.
func forgedJournal(t *testing.T, p *project, step, staged string, perm os.FileMode) string {
	t.Helper()
	state, err := os.ReadFile(filepath.Join(p.state, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	old, _, err := fileDigest(p.bin, MaxBinarySize)
	if err != nil {
		t.Fatal(err)
	}
	j := &journal{Version: JournalVersion, Step: step, Path: p.bin, Staged: staged, Product: "app",
		Old: old, New: "sha256:" + strings.Repeat("0", 64), Size: 1, HadState: true,
		PrevState: string(state), NextState: string(state), ConfirmWithin: 600}
	if step == stepRollBack {
		j.Deadline = "2026-01-01T00:00:00Z"
	}
	b, err := strictjson.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(p.state, JournalFile)
	if err := os.WriteFile(path, append(b, '\n'), perm); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, perm)
	return path
}

// TestAttackForgedJournalDeletesSibling: a journal whose staged file is
// another program beside PATH; undoing the "install" would remove it.
// Only a download's name is taken for a staged file.
func TestAttackForgedJournalDeletesSibling(t *testing.T) {
	p := newProject(t, 1)
	p.publish("1.0.0", 1, "app 1.0.0")
	if _, err := p.updater().Update(context.Background()); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(filepath.Dir(p.bin), "sudo")
	os.WriteFile(victim, []byte("another program"), 0o755)
	forgedJournal(t, p, stepStage, victim, 0o600)
	_, err := p.updater().Update(context.Background())
	if !errors.Is(err, ErrJournalCorrupt) {
		t.Fatalf("forged journal: %v", err)
	}
	if _, err := os.Stat(victim); err != nil {
		t.Fatalf("the forged journal made the updater delete %s: %v", victim, err)
	}
}

// TestAttackJournalOthersCanWrite: a journal (or state directory) that
// another user owns or may write is not acted on: a service account that
// can write the state directory must not make root's update rename
// PATH.previous over PATH (a downgrade) or remove files.
func TestAttackJournalOthersCanWrite(t *testing.T) {
	p := newProject(t, 1)
	p.publish("1.0.0", 1, "app 1.0.0")
	if _, err := p.updater().Update(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.publish("1.1.0", 2, "app 1.1.0")
	if _, err := p.updater().Update(context.Background()); err != nil {
		t.Fatal(err)
	}
	path := forgedJournal(t, p, stepRollBack, filepath.Join(filepath.Dir(p.bin), ".ssms-download-x"), 0o666)
	if _, err := p.updater().Update(context.Background()); !errors.Is(err, statedir.ErrNotOwner) {
		t.Fatalf("a journal others may write: %v", err)
	}
	if p.installed() != "app 1.1.0" {
		t.Fatalf("rolled back to %q", p.installed())
	}
	if os.Geteuid() != 0 {
		t.Skip("the journal and directory of another user need root to make")
	}
	os.Chmod(path, 0o600)
	os.Chown(path, 65534, 65534)
	if _, err := p.updater().Update(context.Background()); !errors.Is(err, statedir.ErrNotOwner) {
		t.Fatalf("a journal of another user: %v", err)
	}
	os.Remove(path)
	os.Chown(p.state, 65534, 65534)
	if _, err := p.updater().Update(context.Background()); !errors.Is(err, statedir.ErrNotOwner) {
		t.Fatalf("a state directory of another user: %v", err)
	}
	if p.installed() != "app 1.1.0" {
		t.Fatalf("rolled back to %q", p.installed())
	}
}
