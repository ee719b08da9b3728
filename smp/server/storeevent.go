package server

import (
	"errors"
	"strconv"
	"strings"

	"ssms.dev/ssms/smp"
)

// A store log event is one line: an operation and its fields, each
// separated from the next by exactly one space, then LF.
//
//	NEW rid sid rkey          a queue was created
//	BOX rid sharedkey         its crypto_box key with the recipient
//	KEY rid skey              KEY secured it
//	HOLD rid [unixnano]       HOLD suspended it (at that time)
//	DEL rid                   it was deleted
//	MSG rid unixnano b|s body a message was received (with --persist-messages)
//	ACK rid unixnano          the message of that time was acknowledged
//
// IDs, keys and bodies are canonical base64, times canonical decimal.
// A field may be empty only where its value is: the body of an empty
// message encodes to "", so its line, "MSG rid ns s " with the quotes
// left out, ends in a space and has five fields. (The log was first read with
// strings.Fields, which saw four there and refused to start: such lines,
// written by the server itself, are exactly this grammar.) HOLD without a
// time was written before hold times were kept; its grace period starts
// at replay. Parsing is strict, so that parse then marshal gives back the
// line byte for byte.

// errEvent is a line that is not an event of this grammar.
var errEvent = errors.New("malformed event")

// fieldKind is what one field of an event holds.
type fieldKind int

const (
	fID   fieldKind = iota // a 16-byte queue ID
	fKey                   // a public key, base64 DER; checked on replay
	fBox                   // a 32-byte crypto_box key
	fTime                  // Unix nanoseconds
	fKind                  // b or s
	fBody                  // a message body, possibly empty
)

// eventFields is the grammar: the fields after the operation.
var eventFields = map[string][]fieldKind{
	"NEW":  {fID, fID, fKey},
	"BOX":  {fID, fBox},
	"KEY":  {fID, fKey},
	"HOLD": {fID, fTime},
	"DEL":  {fID},
	"MSG":  {fID, fTime, fKind, fBody},
	"ACK":  {fID, fTime},
}

// maxKeyField bounds a key field: a 4096-bit RSA key is about 740
// characters; the signer refuses larger ones anyway.
const maxKeyField = 4 << 10

// parseEvent parses one line, without its LF, into its fields (the
// operation first). Only the canonical spelling of an event parses.
func parseEvent(line string) ([]string, error) {
	f := strings.Split(line, " ")
	want, ok := eventFields[f[0]]
	if f[0] == "HOLD" && len(f) == 2 {
		want = want[:1] // the legacy form, without a time
	}
	if !ok || len(f) != 1+len(want) {
		return nil, errEvent
	}
	for i, k := range want {
		if !validField(k, f[1+i]) {
			return nil, errEvent
		}
	}
	return f, nil
}

func validField(k fieldKind, s string) bool {
	switch k {
	case fTime:
		n, err := strconv.ParseInt(s, 10, 64)
		return err == nil && strconv.FormatInt(n, 10) == s
	case fKind:
		return s == "b" || s == "s"
	case fKey:
		if s == "" || len(s) > maxKeyField {
			return false
		}
	case fBody:
		if len(s) > (smp.MaxBody+2)/3*4 {
			return false
		}
	}
	b, err := smp.DecodeBase64(s) // canonical only
	switch k {
	case fID:
		return err == nil && len(b) == len(id{})
	case fBox:
		return err == nil && len(b) == 32
	}
	return err == nil
}

// marshalEvent is the line for fields, with its LF.
func marshalEvent(fields []string) []byte {
	return append([]byte(strings.Join(fields, " ")), '\n')
}
