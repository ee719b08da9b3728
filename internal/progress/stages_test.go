package progress

import (
	"bytes"
	"testing"
	"time"
)

func TestStagesNotATerminal(t *testing.T) {
	var out bytes.Buffer
	s := NewStages(&out, "ssms: build: ")
	s.Stage("cloning %s", "src") // a nil *Stages prints nothing
	if s != nil || out.Len() != 0 {
		t.Fatalf("stages on a non-terminal: %q", out.String())
	}
}

func TestStagesLines(t *testing.T) {
	var out bytes.Buffer
	s := ForcedStages(&out, "ssms: build: ")
	clock := s.start
	s.now = func() time.Time { return clock }
	s.Stage("cloning %s at %s", "src", "abc")
	clock = clock.Add(12*time.Second + 340*time.Millisecond)
	s.Stage("building")
	clock = clock.Add(3 * time.Minute)
	s.Stage("hashing")
	want := "ssms: build: [0.0s] cloning src at abc\nssms: build: [12.3s] building\nssms: build: [3m12s] hashing\n"
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
}

func TestElapsed(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                                     "0.0s",
		400 * time.Millisecond:                "0.4s",
		59*time.Second + 940*time.Millisecond: "59.9s",
		time.Minute:                           "1m00s",
		3*time.Minute + 7*time.Second:         "3m07s",
		time.Hour + 2*time.Minute + 5*time.Second: "1h02m",
	} {
		if got := Elapsed(d); got != want {
			t.Errorf("Elapsed(%v) = %q, want %q", d, got, want)
		}
	}
}
