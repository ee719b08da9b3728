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
	sig, _, err := r.readLine()
	if err != nil {
		return nil, err
	}
	if sig != "" {
		return nil, badServer("a server transmission has an empty signature")
	}
	conn, _, err := r.readLine()
	if err != nil {
		return nil, unexpected(err)
	}
	line, _, err := r.readLine()
	if err != nil {
		return nil, unexpected(err)
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
			if n, err := strconv.Atoi(code); err == nil && n >= SyntaxBase64 && n <= SyntaxBadBody && strconv.Itoa(n) == code {
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
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return nil, 0, badServer("MSG: bad time %q", ts)
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
