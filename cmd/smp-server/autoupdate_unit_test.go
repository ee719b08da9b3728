package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ssms.dev/ssms/updater"
	"ssms.dev/ssms/verifier"
)

// TestAutoUpdateFlags: the flags are checked before anything starts.
func TestAutoUpdateFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--mirror", "m"}, "smp-server: error: --mirror, --log and --report are for --auto-update\nsmp-server: hint: add --auto-update INTERVAL, e.g. --auto-update 6h\n"},
		{[]string{"--report", "http://a.example"}, "smp-server: error: --mirror, --log and --report are for --auto-update\n"},
		{[]string{"--auto-update", "1h"}, "smp-server: error: --auto-update without --mirror\nsmp-server: hint: give at least one mirror to download from (a directory or a URL)\n"},
		{[]string{"--auto-update", "10ms", "--mirror", "m"}, "smp-server: error: --auto-update 10ms: too short\n"},
	} {
		var stderr bytes.Buffer
		code := run(append([]string{"start", "--dir", t.TempDir(), "--allow-unverified"}, tc.args...), &bytes.Buffer{}, &stderr)
		if code != 1 || !strings.HasPrefix(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}

// TestAutoLogNoSecrets: a mirror's password never reaches the log, and
// an error is one line.
func TestAutoLogNoSecrets(t *testing.T) {
	var b bytes.Buffer
	l := &autoLog{w: &b, redact: []string{"https://ops:hunter2@mirror.example/ssms", "", "http://log.example"}}
	l.failed(&updater.RefusedError{Check: "artifact", Mirror: "https://ops:hunter2@mirror.example/ssms", Report: "/s/reports/r.json",
		Err: errors.New("artifact does not match\nfetching https://ops:hunter2@mirror.example/ssms/x: hunter2")}, &updater.Status{Running: &verifier.Installed{Version: "1.0.0"}}, time.Hour)
	got := b.String()
	want := "smp-server: auto-update: SECURITY ERROR (artifact check): refused the update from mirror https://mirror.example/ssms: artifact does not match fetching https://ops:xxxxx@mirror.example/ssms/x: xxxxx; kept 1.0.0; failure report /s/reports/r.json\n"
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	b.Reset()
	l.failed(errors.New("the log: connection refused"), nil, time.Hour)
	if got := b.String(); got != "smp-server: auto-update: check failed, next one in about 1h0m0s: the log: connection refused\n" {
		t.Fatalf("got %q", got)
	}
	// once does not repeat itself; printf always prints.
	b.Reset()
	l.once("not yet")
	l.once("not yet")
	l.printf("x")
	l.once("not yet")
	if got := b.String(); strings.Count(got, "not yet") != 2 || strings.Count(got, "\n") != 3 {
		t.Fatalf("got %q", got)
	}
	b.Reset()
	l.printf("%s", strings.Repeat("a", 2*maxLine))
	if len(b.String()) > maxLine+64 {
		t.Fatalf("a line of %d bytes", len(b.String()))
	}
}

// TestTried: the release installed is remembered until it runs.
func TestTried(t *testing.T) {
	dir := t.TempDir()
	if readTried(dir) != nil {
		t.Fatal("tried before anything")
	}
	if err := writeTried(dir, "2.0.0", 2); err != nil {
		t.Fatal(err)
	}
	got := readTried(dir)
	if got == nil || got.Version != "2.0.0" || got.Sequence != 2 || got.At == "" {
		t.Fatalf("read back %+v", got)
	}
	clearTried(dir, &updater.Status{Running: &verifier.Installed{Sequence: 1}}) // rolled back: kept
	if readTried(dir) == nil {
		t.Fatal("cleared while the previous version runs")
	}
	clearTried(dir, &updater.Status{Running: &verifier.Installed{Sequence: 2}})
	if readTried(dir) != nil {
		t.Fatal("kept once it runs")
	}
	if err := os.WriteFile(filepath.Join(dir, triedFile), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if readTried(dir) != nil {
		t.Fatal("a damaged file read as a release")
	}
}

func TestJitter(t *testing.T) {
	for range 1000 {
		if d := jitter(time.Hour); d < 54*time.Minute || d > 66*time.Minute {
			t.Fatalf("jitter(1h) = %v", d)
		}
	}
	if d := jitter(time.Second); d < 900*time.Millisecond || d > 1100*time.Millisecond {
		t.Fatalf("jitter(1s) = %v", d)
	}
}
