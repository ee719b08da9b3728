package smp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Limits of the wire format.
const (
	// MaxLine is the longest line: a string SEND of MaxBody bytes fits, so
	// an oversized one is answered ERR SIZE rather than cutting the stream.
	MaxLine = 16 << 10
	// MaxBody is the largest message body, so that a delivered MSG fits a
	// 16 KiB transport block with room for its header lines.
	MaxBody = 15 << 10
	// maxDrain is the largest oversized body or line the server reads and
	// discards, never holding it, to stay in step with the stream and
	// answer ERR SIZE. Past it, skipping would let one transmission keep a
	// connection busy for ever: a larger declared body is answered
	// ERR SIZE and then the connection is closed, and a line with no LF
	// within maxDrain bytes closes it.
	maxDrain = 1 << 20
)

// ErrStream means the stream cannot be read as transmissions any more: a
// line longer than maxDrain, or a declared body too large to skip.
var ErrStream = errors.New("smp: stream out of step")

// errLongLine is a line longer than MaxLine that was skipped to its LF:
// the stream is in step, but the line is lost but for its start.
var errLongLine = fmt.Errorf("%w: line too long", ErrStream)

// Transmission is one parsed client transmission. If Err is set, the
// transmission was read whole but is invalid, and Err is the answer.
type Transmission struct {
	Signature []byte
	ConnID    []byte
	Command   Command
	Signed    []byte // exactly as received
	Err       ErrorType
}

// Reader reads transmissions from a client stream.
type Reader struct {
	r      *bufio.Reader
	broken error // once set, every Read returns it
}

// Buffered is how many bytes were received and not yet read: the start
// of the next transmission, if not 0.
func (r *Reader) Buffered() int { return r.r.Buffered() }

// NewReader reads transmissions from r.
func NewReader(r io.Reader) *Reader { return &Reader{r: bufio.NewReaderSize(r, MaxLine+2)} }

// readLine returns a line without its terminator, LF or CR LF, and the raw
// line with it. clean is false if the line holds a CR anywhere else: the
// specification's lines hold none, and a line whose CRs were stripped
// would re-encode to other bytes than were signed. Such a line is still
// consumed whole, so the stream stays in step. A line longer than MaxLine
// is skipped to its LF, up to maxDrain bytes, without being held; then
// line is its first MaxLine bytes and err is errLongLine.
func (r *Reader) readLine() (line string, raw []byte, clean bool, err error) {
	raw, err = r.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		start, skipped := string(raw), len(raw)
		for errors.Is(err, bufio.ErrBufferFull) && skipped <= maxDrain {
			raw, err = r.r.ReadSlice('\n')
			skipped += len(raw)
		}
		if skipped > maxDrain {
			return "", nil, false, ErrStream
		}
		if err != nil {
			return "", nil, false, unexpected(err)
		}
		return start, nil, false, errLongLine
	}
	if err != nil {
		return "", nil, false, err
	}
	raw = bytes.Clone(raw)
	s := raw[:len(raw)-len(lineEnd(raw))]
	return string(s), raw, bytes.IndexByte(s, '\r') < 0, nil
}

// Read reads one transmission. Its error is an I/O error or ErrStream, after
// which the connection should be closed; protocol errors are in
// Transmission.Err, in the specification's order: syntax (a CR inside a
// line, bad base64, a bad command), then the body's size. ConnID is set
// whenever it decodes, so that the answer names it.
func (r *Reader) Read() (*Transmission, error) {
	if r.broken != nil {
		return nil, r.broken
	}
	sig, _, clean1, err := r.readLine()
	if err != nil && !errors.Is(err, errLongLine) {
		return nil, err
	}
	conn, connRaw, clean2, err := r.readLine()
	if errors.Is(err, errLongLine) {
		conn = "" // not an ID: the answer does not echo 16 KiB of it
	} else if err != nil {
		return nil, unexpected(err)
	}
	cmd, cmdRaw, clean3, err := r.readLine()
	long := errors.Is(err, errLongLine)
	if err != nil && !long {
		return nil, unexpected(err)
	}
	t := &Transmission{}
	c, n, perr := parseClientCommand(cmd)
	if long {
		// Only the line's start was kept: a string SEND that long is
		// ERR SIZE (its first MaxLine bytes already pass MaxBody), and any
		// other command that long cannot be valid.
		// A binary SEND's size that long is a number too large: ERR SIZE,
		// and its body cannot be skipped.
		clean3, cmdRaw = true, []byte("\n")
		if send, ok := c.(Send); ok && send.Binary {
			perr, r.broken = fail(ErrSize), ErrStream
		}
		if perr == nil {
			perr = fail(Syntax(SyntaxBadParameters))
		}
		c = nil
	}
	signed := append(connRaw, cmdRaw[:len(cmdRaw)-len(lineEnd(cmdRaw))]...)
	var berr error
	if send, ok := c.(Send); ok && send.Binary {
		body, err := r.readBody(n, MaxBody)
		if err != nil && !errors.Is(err, errBodySize) {
			return nil, unexpected(err)
		}
		berr = err
		signed = append(signed, lineEnd(cmdRaw)...)
		signed = append(signed, body...)
		send.Body = body
		c = send
	}
	t.Signed = signed
	// Decode the credentials first, keeping the connection ID for the
	// answer whenever it decodes.
	connID, cerr := decode(conn)
	if cerr == nil {
		t.ConnID = connID
	}
	sigBytes, serr := decode(sig)
	switch {
	case !clean1 || !clean2 || !clean3:
		t.Err = Syntax(SyntaxBadParameters)
	case cerr != nil:
		t.Err = AsError(cerr)
	case serr != nil:
		t.Err = AsError(serr)
	case perr != nil:
		t.Err = AsError(perr)
	case berr != nil:
		t.Err = ErrSize
	default:
		t.Signature, t.Command = sigBytes, c
	}
	return t, nil
}

// errBodySize means a binary body was over the limit, or longer than its
// declared size: the line after the declared bytes was not empty. Either
// way the body was read to its end and dropped, and the stream is in step
// again (a body shorter than declared cannot be told from the next
// transmission; what follows is then read as one).
var errBodySize = errors.New("body size")

// readBody reads n bytes and the line terminator after them. A body over
// limit is read and dropped (errBodySize) if it is at most maxDrain, and so
// is one with more bytes than n before the next line end. A larger one is
// errBodySize too, but unread: the stream is broken after it.
func (r *Reader) readBody(n, limit int) ([]byte, error) {
	if n > maxDrain {
		r.broken = ErrStream
		return nil, errBodySize
	}
	var body []byte
	if n > limit { // skipped, not held: no buffer of maxDrain per connection
		if _, err := io.CopyN(io.Discard, r.r, int64(n)); err != nil {
			return nil, unexpected(err)
		}
	} else {
		body = make([]byte, n)
		if _, err := io.ReadFull(r.r, body); err != nil {
			return nil, err
		}
	}
	rest, _, _, err := r.readLine()
	if err != nil && !errors.Is(err, errLongLine) {
		return nil, err
	}
	if rest != "" || n > limit {
		return nil, errBodySize
	}
	return body, nil
}

func lineEnd(raw []byte) []byte {
	if bytes.HasSuffix(raw, []byte("\r\n")) {
		return raw[len(raw)-2:]
	}
	return raw[len(raw)-1:]
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// AppendTransmission appends a server transmission: an empty signature,
// the connection ID, the message and LF.
func AppendTransmission(b []byte, connID []byte, c Command) []byte {
	l, body := line(c)
	b = append(b, '\n')
	b = append(b, Encode(connID)...)
	b = append(b, '\n')
	b = append(b, l...)
	if body != nil {
		b = append(b, '\n')
		b = append(b, body...)
	}
	return append(b, '\n')
}

// String renders a transmission for messages and tests.
func (t *Transmission) String() string {
	return fmt.Sprintf("%s %s %T", Encode(t.Signature), Encode(t.ConnID), t.Command)
}

// AppendClientTransmission appends a client transmission: sign is called
// with the signed part (nil: unsigned, as CONN and the first SEND are).
func AppendClientTransmission(b []byte, connID []byte, c Command, sign func(signed []byte) []byte) []byte {
	l, body := line(c)
	signed := []byte(Encode(connID) + "\n" + l)
	if body != nil {
		signed = append(append(signed, '\n'), body...)
	}
	var sig []byte
	if sign != nil {
		sig = sign(signed)
	}
	b = append(b, Encode(sig)...)
	b = append(b, '\n')
	b = append(b, signed...)
	return append(b, '\n')
}
