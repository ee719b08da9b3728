package progress

import (
	"fmt"
	"io"
	"time"
)

// Stages tells a person at a terminal which stage of a long piece of work
// (cloning, building, hashing) is running, one line per stage with the
// time since the work began. A nil *Stages prints nothing, so callers need
// not check whether there is a terminal.
type Stages struct {
	out    io.Writer
	prefix string
	start  time.Time
	now    func() time.Time
}

// NewStages returns stages that print to out, each line starting with
// prefix, if out is a terminal; nil otherwise: a script reading the
// output sees only what it did before.
func NewStages(out io.Writer, prefix string) *Stages {
	if !IsTerminal(out) {
		return nil
	}
	return ForcedStages(out, prefix)
}

// ForcedStages is NewStages for an out that is not a terminal, for tests
// of what a terminal shows.
func ForcedStages(out io.Writer, prefix string) *Stages {
	return &Stages{out: out, prefix: prefix, start: time.Now(), now: time.Now}
}

// Stage says that the stage described by format and args begins.
func (s *Stages) Stage(format string, args ...any) {
	if s == nil {
		return
	}
	fmt.Fprintf(s.out, "%s[%s] %s\n", s.prefix, Elapsed(s.now().Sub(s.start)), fmt.Sprintf(format, args...))
}

// Elapsed is d as a terminal shows it: 0.4s, 12.0s, 3m07s, 1h02m.
func Elapsed(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	}
	return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
}
