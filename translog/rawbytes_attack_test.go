package translog_test

import (
	"regexp"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"ssms.dev/ssms/translog"
)

var rawBytes = regexp.MustCompile(`\[\d+( \d+){7,}\]`)

// Consistency and inclusion failures print the merkle library's error,
// which formats hashes as Go byte slices ("[139 31 217 …]"). Users see it
// from ssms update ("reading the log: …"), ssms verify, log clients.
func TestAttackProofErrorsNoRawBytes(t *testing.T) {
	var a, b, x tlog.Hash
	a[0], b[0], x[0] = 1, 2, 3
	err := translog.VerifyConsistency(translog.Checkpoint{Size: 3, Hash: a}, translog.Checkpoint{Size: 5, Hash: b}, []tlog.Hash{x, x, x})
	if err != nil && rawBytes.MatchString(err.Error()) {
		t.Errorf("consistency error prints raw bytes: %v", err)
	}
	err = translog.VerifyInclusion(1, 2, x, []tlog.Hash{x}, a)
	if err != nil && rawBytes.MatchString(err.Error()) {
		t.Errorf("inclusion error prints raw bytes: %v", err)
	}
}
