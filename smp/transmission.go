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
	// maxDrain is the largest oversized body the server reads and discards
	// to stay in step with the stream; a larger one closes the connection.
	maxDrain = 1 << 20
)

// ErrStream means the stream cannot be read as transmissions any more: a
// line too long, or a declared body too large to skip.
var ErrStream = errors.New("smp: stream out of step")

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
type Reader struct{ r *bufio.Reader }

// NewReader reads transmissions from r.
func NewReader(r io.Reader) *Reader { return &Reader{r: bufio.NewReaderSize(r, MaxLine+2)} }

// readLine returns a line without its terminator (LF or CRLF) and the raw
// line with it.
func (r *Reader) readLine() (string, []byte, error) {
	raw, err := r.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return "", nil, ErrStream
	}
	if err != nil {
		return "", nil, err
	}
	raw = bytes.Clone(raw)
	s := raw[:len(raw)-1]
	s = bytes.TrimSuffix(s, []byte("\r"))
	return string(s), raw, nil
}

// Read reads one transmission. Its error is an I/O error or ErrStream, after
// which the connection should be closed; protocol errors are in
// Transmission.Err.
func (r *Reader) Read() (*Transmission, error) {
	sig, _, err := r.readLine()
	if err != nil {
		return nil, err
	}
	conn, connRaw, err := r.readLine()
	if err != nil {
		return nil, unexpected(err)
	}
	cmd, cmdRaw, err := r.readLine()
	if err != nil {
		return nil, unexpected(err)
	}
	t := &Transmission{}
	signed := append(connRaw, cmdRaw[:len(cmdRaw)-len(lineEnd(cmdRaw))]...)
	c, n, perr := parseClientCommand(cmd)
	if send, ok := c.(Send); ok && send.Binary {
		body, err := r.readBody(n, MaxBody)
		if err != nil {
			if errors.Is(err, errTooLarge) {
				t.Err = ErrSize
				return t, nil
			}
			return nil, unexpected(err)
		}
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
	case cerr != nil:
		t.Err = AsError(cerr)
	case serr != nil:
		t.Err = AsError(serr)
	case perr != nil:
		t.Err = AsError(perr)
	default:
		t.Signature, t.Command = sigBytes, c
	}
	return t, nil
}

var errTooLarge = errors.New("body too large")

// readBody reads n bytes and the line terminator after them. A body over
// limit is read and dropped (errTooLarge) if it is at most maxDrain.
func (r *Reader) readBody(n, limit int) ([]byte, error) {
	if n > maxDrain {
		return nil, ErrStream
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r.r, body); err != nil {
		return nil, err
	}
	_, raw, err := r.readLine()
	if err != nil {
		return nil, err
	}
	if len(raw) != len(lineEnd(raw)) {
		return nil, ErrStream // data after the body on its last line
	}
	if n > limit {
		return nil, errTooLarge
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
