package witness

import (
	"slices"
	"testing"
	"time"
)

// BenchmarkAddCheckpoint measures one add-checkpoint: log signature check,
// consistency proof check, state persisted with fsync, cosignature
// (budget: ≤ 5 ms median).
func BenchmarkAddCheckpoint(b *testing.B) {
	log := newLog(b, "log.example")
	c, _ := newCosigner(b, "w1")
	w, _ := New(b.TempDir(), c, []string{log.vkey})
	cp := log.grow(b, 1000)
	if _, err := w.AddCheckpoint(request(0, nil, cp.Raw)); err != nil {
		b.Fatal(err)
	}
	var lat []time.Duration
	for b.Loop() {
		b.StopTimer()
		old := cp.Size
		cp = log.grow(b, 3)
		proof, _ := log.store.ConsistencyProof(old, cp.Size)
		body := request(old, proof, cp.Raw)
		b.StartTimer()
		t0 := time.Now()
		if _, err := w.AddCheckpoint(body); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
}
