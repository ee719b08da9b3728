package smp

import (
	"crypto/ecdh"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"ssms.dev/ssms/internal/b64"
)

// Command is a parsed command or server message.
type Command interface{ verb() string }

// Recipient commands.
type (
	// Conn creates a queue. DHKey, if set, is the recipient's X25519 key
	// (base64 DER SPKI): the server then encrypts every delivery to it.
	Conn struct {
		RecipientKey *PublicKey
		DHKey        *ecdh.PublicKey
	}
	Sub  struct{}
	Key  struct{ SenderKey *PublicKey }
	Ack  struct{}
	Hold struct{}
	Del  struct{}
)

// Send is the sender's command. Binary says how the body travels.
type Send struct {
	Body   []byte
	Binary bool
}

// Server messages.
type (
	IDs struct {
		RecipientID, SenderID []byte
		ServerDHKey           *ecdh.PublicKey // set when CONN gave a DH key
	}
	Msg struct {
		Time   time.Time
		Body   []byte
		Binary bool
	}
	OK  struct{}
	End struct{}
	Err struct{ Type ErrorType }
)

func (Conn) verb() string { return "CONN" }
func (Sub) verb() string  { return "SUB" }
func (Key) verb() string  { return "KEY" }
func (Ack) verb() string  { return "ACK" }
func (Hold) verb() string { return "HOLD" }
func (Del) verb() string  { return "DEL" }
func (Send) verb() string { return "SEND" }
func (IDs) verb() string  { return "IDS" }
func (Msg) verb() string  { return "MSG" }
func (OK) verb() string   { return "OK" }
func (End) verb() string  { return "END" }
func (Err) verb() string  { return "ERR" }

// Encode is standard base64 with padding.
func Encode(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// decode accepts only what Encode produces, so a transmission has one
// spelling. Bad base64 is a parameter in the wrong format: the
// specification has no code of its own for it.
func decode(s string) ([]byte, error) {
	b, err := b64.Std(s)
	if err != nil {
		return nil, fail(Syntax(SyntaxBadParameters))
	}
	return b, nil
}

// serverVerbs are the messages only a server sends.
var serverVerbs = map[string]bool{"IDS": true, "MSG": true, "OK": true, "END": true, "ERR": true}

// parseClientCommand parses a command line from a client. A binary SEND
// returns its size in n; its body is read by the caller.
func parseClientCommand(line string) (cmd Command, n int, err error) {
	verb, args, _ := strings.Cut(line, " ")
	switch verb {
	case "CONN", "KEY":
		parts := strings.Split(args, " ")
		if args == "" || len(parts) > 2 || (verb == "KEY" && len(parts) != 1) {
			return nil, 0, fail(Syntax(SyntaxBadParameters))
		}
		k, err := ParseKey(parts[0])
		if err != nil {
			return nil, 0, err
		}
		if verb == "KEY" {
			return Key{SenderKey: k}, 0, nil
		}
		c := Conn{RecipientKey: k}
		if len(parts) == 2 {
			if c.DHKey, err = ParseDHKey(parts[1]); err != nil {
				return nil, 0, err
			}
		}
		return c, 0, nil
	case "SUB", "ACK", "HOLD", "DEL":
		if line != verb {
			return nil, 0, fail(Syntax(SyntaxBadParameters))
		}
		return map[string]Command{"SUB": Sub{}, "ACK": Ack{}, "HOLD": Hold{}, "DEL": Del{}}[verb], 0, nil
	case "SEND":
		return parseSendBody(line, len("SEND"))
	}
	if serverVerbs[verb] {
		return nil, 0, fail(ErrProhibited)
	}
	return nil, 0, fail(ErrUnknown)
}

// parseSendBody parses " :text" or " size" after the verb at line[at:].
func parseSendBody(line string, at int) (Command, int, error) {
	rest := line[at:]
	if !strings.HasPrefix(rest, " ") {
		return nil, 0, fail(Syntax(SyntaxBadBody))
	}
	rest = rest[1:]
	if s, ok := strings.CutPrefix(rest, ":"); ok {
		if len(s) > MaxBody {
			return nil, 0, fail(ErrSize)
		}
		return Send{Body: []byte(s)}, 0, nil
	}
	n, err := strconv.Atoi(rest)
	if errors.Is(err, strconv.ErrRange) && rest[0] != '-' && rest[0] != '+' && rest[0] != '0' {
		// A number, just too large for an int: a size too large (the
		// reader's caller answers ERR SIZE and cannot skip it).
		return Send{Binary: true}, math.MaxInt, nil
	}
	if err != nil || n < 0 || strconv.Itoa(n) != rest {
		return nil, 0, fail(Syntax(SyntaxBadBody))
	}
	return Send{Binary: true}, n, nil
}

// line renders a server message's command line and binary body.
func line(c Command) (string, []byte) {
	switch c := c.(type) {
	case IDs:
		l := "IDS " + Encode(c.RecipientID) + " " + Encode(c.SenderID)
		if c.ServerDHKey != nil {
			l += " " + EncodeDHKey(c.ServerDHKey)
		}
		return l, nil
	case Msg:
		ts := "MSG " + formatTime(c.Time) + " "
		if c.Binary {
			return ts + strconv.Itoa(len(c.Body)), c.Body
		}
		return ts + ":" + string(c.Body), nil
	case Err:
		return "ERR " + string(c.Type), nil
	case Send:
		if c.Binary {
			return "SEND " + strconv.Itoa(len(c.Body)), c.Body
		}
		return "SEND :" + string(c.Body), nil
	case Conn:
		if c.DHKey != nil {
			return "CONN " + c.RecipientKey.String() + " " + EncodeDHKey(c.DHKey), nil
		}
		return "CONN " + c.RecipientKey.String(), nil
	case Key:
		return "KEY " + c.SenderKey.String(), nil
	}
	return c.verb(), nil
}

// DecodeBase64 decodes standard padded base64, as the protocol uses.
func DecodeBase64(s string) ([]byte, error) { return decode(s) }

// ParseDHKey parses an X25519 key: base64 DER SubjectPublicKeyInfo. A
// point of small order is refused (ERR SYNTAX 2): crypto_box with it
// shares the all-zero secret, whatever the other key, so whoever chose it
// could read everything encrypted to it.
func ParseDHKey(s string) (*ecdh.PublicKey, error) {
	der, err := decode(s)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKIXPublicKey(der)
	pub, ok := k.(*ecdh.PublicKey)
	if err != nil || !ok || pub.Curve() != ecdh.X25519() {
		return nil, fail(Syntax(SyntaxBadParameters))
	}
	if _, err := lowOrderProbe.ECDH(pub); err != nil { // crypto/ecdh refuses the all-zero result
		return nil, fail(Syntax(SyntaxBadParameters))
	}
	if !canonicalX25519(pub.Bytes()) {
		return nil, fail(Syntax(SyntaxBadParameters))
	}
	return pub, nil
}

// canonicalX25519 says whether u (little-endian) is below 2^255 - 19 with
// its top bit clear. X25519 ignores the top bit and reduces u mod p, so
// u, u with bit 255 set, and u + p are one key: only the smallest is
// accepted, so that one key has one encoding (in invitations, in CONN).
func canonicalX25519(u []byte) bool {
	if len(u) != 32 || u[31]&0x80 != 0 {
		return false
	}
	// u >= p = 2^255 - 19 only if u[31] is 0x7f, u[30..1] are 0xff and
	// u[0] >= 0xed.
	if u[31] != 0x7f || u[0] < 0xed {
		return true
	}
	for _, b := range u[1:31] {
		if b != 0xff {
			return true
		}
	}
	return false
}

// lowOrderProbe is any X25519 key: a point of small order gives the
// all-zero secret with every key.
var lowOrderProbe = func() *ecdh.PrivateKey {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}()

// EncodeDHKey encodes an X25519 key as base64 DER SubjectPublicKeyInfo.
func EncodeDHKey(k *ecdh.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		panic(err)
	}
	return Encode(der)
}
