package rebuild

import (
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// printable is s with every control character but newline and tab (the
// escape sequences that move the cursor, retitle the window or write to
// the clipboard of a terminal), and every byte that is not UTF-8,
// replaced by "?": the output of a build is the release's, and goes to
// the rebuilder's terminal.
func printable(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		switch {
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r == utf8.RuneError && n <= 1, unicode.IsControl(r), r == '\u2028', r == '\u2029', unicode.Is(unicode.Bidi_Control, r):
			b.WriteByte('?')
		default:
			b.WriteString(s[:n])
		}
		s = s[n:]
	}
	return b.String()
}

// printableWriter writes to w what is written to it, made printable. A
// character split between two writes becomes "?".
type printableWriter struct{ w io.Writer }

func (p printableWriter) Write(b []byte) (int, error) {
	if _, err := io.WriteString(p.w, printable(string(b))); err != nil {
		return 0, err
	}
	return len(b), nil
}
