package smp

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ServerTransmission is one transmission from a server: the connection ID
// it concerns (empty for IDS) and the message.
type ServerTransmission struct {
	ConnID  []byte
	Command Command // IDs, Msg, OK, End or Err
}

// ErrServerMessage means a server sent something that is not a server
// transmission. A client closes the connection: the stream cannot be
// trusted to be in step any more.
var ErrServerMessage = errors.New("smp: malformed server transmission")

func badServer(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrServerMessage, fmt.Sprintf(format, args...))
}

// ReadServer reads one server transmission (what a client receives).
func (r *Reader) ReadServer() (*ServerTransmission, error) {
	sig, _, _, err := r.readLine()
	if err != nil {
		return nil, err
	}
	if sig != "" {
		return nil, badServer("a server transmission has an empty signature")
	}
	conn, _, _, err := r.readLine()
	if err != nil {
		return nil, unexpected(err)
	}
	line, _, clean, err := r.readLine()
	if err != nil {
		return nil, unexpected(err)
	}
	if !clean {
		return nil, badServer("a CR inside a line")
	}
	connID, err := decode(conn)
	if err != nil {
		return nil, badServer("connection ID is not base64")
	}
	cmd, n, err := parseServerCommand(line)
	if err != nil {
		return nil, err
	}
	if m, ok := cmd.(Msg); ok && m.Binary {
		if n > MaxBody+serverOverhead {
			return nil, badServer("MSG of %d bytes", n)
		}
		body, err := r.readBody(n, MaxBody+serverOverhead)
		if errors.Is(err, errBodySize) {
			return nil, badServer("MSG body longer than its size")
		}
		if err != nil {
			return nil, unexpected(err)
		}
		m.Body = body
		cmd = m
	}
	return &ServerTransmission{ConnID: connID, Command: cmd}, nil
}

// serverOverhead is what re-encryption to the recipient adds to a body
// (a nonce and a tag).
const serverOverhead = 24 + 16

func parseServerCommand(line string) (Command, int, error) {
	verb, args, _ := strings.Cut(line, " ")
	switch verb {
	case "OK", "END":
		if line != verb {
			return nil, 0, badServer("%s with parameters", verb)
		}
		if verb == "OK" {
			return OK{}, 0, nil
		}
		return End{}, 0, nil
	case "ERR":
		t := ErrorType(args)
		switch t {
		case ErrUnknown, ErrProhibited, ErrSize, ErrAuth, ErrInternal:
			return Err{Type: t}, 0, nil
		}
		if code, ok := strings.CutPrefix(args, "SYNTAX "); ok {
			if n, err := strconv.Atoi(code); err == nil && n >= SyntaxBadParameters && n <= SyntaxBadBody && strconv.Itoa(n) == code {
				return Err{Type: Syntax(n)}, 0, nil
			}
		}
		return nil, 0, badServer("unknown error %q", args)
	case "IDS":
		parts := strings.Split(args, " ")
		if len(parts) < 2 || len(parts) > 3 {
			return nil, 0, badServer("IDS needs two IDs and an optional key")
		}
		var ids IDs
		var err error
		if ids.RecipientID, err = decode(parts[0]); err != nil || len(ids.RecipientID) == 0 {
			return nil, 0, badServer("IDS: bad recipient ID")
		}
		if ids.SenderID, err = decode(parts[1]); err != nil || len(ids.SenderID) == 0 {
			return nil, 0, badServer("IDS: bad sender ID")
		}
		if len(parts) == 3 {
			if ids.ServerDHKey, err = ParseDHKey(parts[2]); err != nil {
				return nil, 0, badServer("IDS: bad server key")
			}
		}
		return ids, 0, nil
	case "MSG":
		ts, rest, ok := strings.Cut(args, " ")
		if !ok {
			return nil, 0, badServer("MSG needs a time and a body")
		}
		t, err := parseTime(ts)
		if err != nil {
			return nil, 0, err
		}
		if s, ok := strings.CutPrefix(rest, ":"); ok {
			return Msg{Time: t, Body: []byte(s)}, 0, nil
		}
		n, err := strconv.Atoi(rest)
		if err != nil || n < 0 || strconv.Itoa(n) != rest {
			return nil, 0, badServer("MSG: bad body size %q", rest)
		}
		return Msg{Time: t, Binary: true}, n, nil
	}
	return nil, 0, badServer("unknown message %q", verb)
}

// parseTime accepts only what a server writes: RFC 3339 in UTC ("Z"),
// the fraction without trailing zeros. An offset could carry a time into
// a year RFC 3339 cannot write (9999-12-31T23:59:59-01:00), and any other
// spelling would re-encode to other bytes.
func parseTime(ts string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil || formatTime(t) != ts {
		return time.Time{}, badServer("MSG: time %q is not RFC 3339 UTC as a server writes it", ts)
	}
	return t, nil
}

// formatTime is how a server writes a MSG time.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
