// Package progress draws a one-line progress bar on a terminal. It is a
// few lines on purpose: the bar is one carriage-returned line, and the
// usual libraries bring several dependencies for colour and Unicode width
// that a signing tool does not need.
package progress

import (
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/term"
)

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Reader wraps r so that reading it draws a bar labelled label on out, if
// out is a terminal; otherwise it returns r unchanged.
func Reader(r io.Reader, size int64, label string, out io.Writer) io.Reader {
	if !IsTerminal(out) || size <= 0 {
		return r
	}
	return &reader{r: r, size: size, label: label, out: out}
}

type reader struct {
	r     io.Reader
	size  int64
	done  atomic.Int64
	label string
	out   io.Writer
	last  time.Time
}

func (p *reader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	done := p.done.Add(int64(n))
	if now := time.Now(); now.Sub(p.last) > 100*time.Millisecond || err != nil {
		p.last = now
		p.draw(done, err != nil)
	}
	return n, err
}

func (p *reader) draw(done int64, final bool) {
	const width = 30
	filled := int(done * width / p.size)
	bar := make([]byte, width)
	for i := range bar {
		bar[i] = ' '
		if i < filled {
			bar[i] = '='
		}
	}
	fmt.Fprintf(p.out, "\r%s [%s] %3d%% %s / %s", p.label, bar, done*100/p.size, size(done), size(p.size))
	if final {
		fmt.Fprintln(p.out)
	}
}

func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
