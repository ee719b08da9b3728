package translog_test

import (
	"path/filepath"
	"testing"

	"ssms.dev/ssms/translog"
	"ssms.dev/ssms/translog/logtest"
)

// TestSuite runs the API-level suite that the Trillian backend runs too
// (translog/trillianlog), against the embedded store.
func TestSuite(t *testing.T) {
	logtest.Run(t, func(t *testing.T, c logtest.Config) []translog.Backend {
		dir := filepath.Join(t.TempDir(), "log")
		if _, err := translog.Init(dir, "log.example/suite"); err != nil {
			t.Fatal(err)
		}
		s, err := translog.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		seq := translog.NewWitnessedSequencer(s, translog.DefaultMaxPending, translog.DefaultMaxBatch, c.Witness)
		t.Cleanup(func() { seq.Close(); s.Close() })
		// One store has one front end; several share it.
		out := make([]translog.Backend, max(c.FrontEnds, 1))
		for i := range out {
			out[i] = translog.Embedded{Store: s, Seq: seq}
		}
		return out
	})
}
