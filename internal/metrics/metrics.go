// Package metrics exposes counters and gauges in the Prometheus text
// format (version 0.0.4). It is a few dozen lines on purpose: the official
// client library brings a dependency tree a signing tool does not need.
package metrics

import (
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Registry holds metrics by name.
type Registry struct {
	mu      sync.Mutex
	metrics map[string]*family
}

type family struct {
	help, kind string
	series     map[string]*Value // by label set
}

// Value is one counter or gauge.
type Value struct{ bits atomic.Uint64 }

// Add adds v (counters only go up; the caller keeps v ≥ 0 for them).
func (v *Value) Add(d float64) {
	for {
		old := v.bits.Load()
		if v.bits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+d)) {
			return
		}
	}
}

// Set sets a gauge.
func (v *Value) Set(f float64) { v.bits.Store(math.Float64bits(f)) }

// Get returns the current value.
func (v *Value) Get() float64 { return math.Float64frombits(v.bits.Load()) }

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{metrics: map[string]*family{}} }

// Counter returns the counter name{labels}; labels are key, value pairs.
func (r *Registry) Counter(name, help string, labels ...string) *Value {
	return r.get(name, help, "counter", labels)
}

// Gauge returns the gauge name{labels}.
func (r *Registry) Gauge(name, help string, labels ...string) *Value {
	return r.get(name, help, "gauge", labels)
}

func (r *Registry) get(name, help, kind string, labels []string) *Value {
	var l []string
	for i := 0; i+1 < len(labels); i += 2 {
		l = append(l, fmt.Sprintf("%s=%q", labels[i], labels[i+1]))
	}
	key := strings.Join(l, ",")
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.metrics[name]
	if f == nil {
		f = &family{help: help, kind: kind, series: map[string]*Value{}}
		r.metrics[name] = f
	}
	v := f.series[key]
	if v == nil {
		v = &Value{}
		f.series[key] = v
	}
	return v
}

// Handler serves the metrics at any path.
func (r *Registry) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Write([]byte(r.Text()))
	})
}

// Text renders every metric, sorted by name and labels.
func (r *Registry) Text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	names := make([]string, 0, len(r.metrics))
	for n := range r.metrics {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f := r.metrics[n]
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", n, f.help, n, f.kind)
		keys := make([]string, 0, len(f.series))
		for k := range f.series {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if k == "" {
				fmt.Fprintf(&b, "%s %g\n", n, f.series[k].Get())
			} else {
				fmt.Fprintf(&b, "%s{%s} %g\n", n, k, f.series[k].Get())
			}
		}
	}
	return b.String()
}
