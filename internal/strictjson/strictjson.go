// Package strictjson decodes JSON documents that the project signs or
// verifies, refusing everything encoding/json lets through by default:
// unknown fields, duplicate object keys (which different parsers resolve
// differently, so one signed document could mean two things), object keys
// that match a field only case-insensitively ("PAYLOAD" for "payload":
// encoding/json accepts them and keeps the last, other parsers do not),
// invalid UTF-8, trailing data and documents over a size limit.
//
// For formats the project authors itself, [Canonical] additionally demands
// that the input is byte for byte what [Marshal] produces, so that one value
// has exactly one encoding.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"
)

// ErrTooLarge reports a document over the caller's size limit.
var ErrTooLarge = errors.New("document too large")

// MaxDepth bounds the nesting of objects and arrays, so that a small hostile
// document cannot exhaust the stack of a recursive consumer.
const MaxDepth = 32

// Decode parses data into v. It fails if data is longer than limit bytes,
// is not valid UTF-8, has an object with a repeated key, nests deeper than
// MaxDepth, has a field v does not declare with exactly that name (at any
// depth; map keys are data and free), or has anything but white space
// after the value. Errors name the offending field where one is known.
func Decode(data []byte, v any, limit int) error {
	if len(data) > limit {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), limit)
	}
	if !utf8.Valid(data) {
		return errors.New("not valid UTF-8")
	}
	if err := checkStructure(data, reflect.TypeOf(v)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return describe(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

// DecodeCanonical parses data into v in one pass and succeeds only if data
// is exactly Marshal(v), within limit. A canonical document cannot hold a
// repeated key, an unknown field or excess nesting, so no separate
// structure pass is needed. Its errors are terse: on failure, callers that
// want to name the problem run Decode.
func DecodeCanonical(data []byte, v any, limit int) error {
	if len(data) > limit || !utf8.Valid(data) {
		return errors.New("too large or not UTF-8")
	}
	// Unmarshal, not a Decoder: no copy of data into a read buffer. The
	// unknown fields it drops, the keys it matches in another case and any
	// trailing data all make data differ from Marshal(v).
	if err := json.Unmarshal(data, v); err != nil {
		return err
	}
	return Canonical(data, v)
}

// Marshal encodes v compactly, without HTML escaping, followed by nothing.
// Struct fields keep declaration order and map keys are sorted, so the
// output is deterministic.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Canonical reports whether data is exactly Marshal(v). Call it after a
// successful Decode of data into v.
func Canonical(data []byte, v any) error {
	want, put, err := encode(v, Form{})
	if err != nil {
		return err
	}
	defer put()
	if !bytes.Equal(data, want) {
		return fmt.Errorf("not in canonical form (compact JSON, fields in the specified order, no insignificant white space); at byte %d", firstDifference(data, want))
	}
	return nil
}

// Form is an encoding/json output form other than Marshal's.
type Form struct {
	Indent     string // as json.MarshalIndent's indent, with no prefix
	EscapeHTML bool   // "<", ">", "&" as \u003c, \u003e, \u0026
	Newline    bool   // a final newline
}

// Encodes reports whether data is exactly v encoded in form. Its buffers
// are reused, so checking a document allocates nothing for the copy it
// is compared with.
func Encodes(data []byte, v any, form Form) bool {
	want, put, err := encode(v, form)
	if err != nil {
		return false
	}
	defer put()
	return bytes.Equal(data, want)
}

// encode writes v in form into a pooled buffer, valid until put is called.
func encode(v any, form Form) (out []byte, put func(), err error) {
	e := encoders.Get().(*encoder)
	e.buf.Reset()
	e.enc.SetIndent("", form.Indent)
	e.enc.SetEscapeHTML(form.EscapeHTML)
	if err := e.enc.Encode(v); err != nil {
		encoders.Put(e)
		return nil, nil, err
	}
	out = e.buf.Bytes()
	if !form.Newline {
		out = out[:len(out)-1] // Encode ends every value with one
	}
	return out, func() { encoders.Put(e) }, nil
}

type encoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var encoders = sync.Pool{New: func() any {
	e := &encoder{}
	e.enc = json.NewEncoder(&e.buf)
	return e
}}

func firstDifference(a, b []byte) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number ≥ 0"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

// describe turns encoding/json errors into messages that name the field.
func describe(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "document"
		}
		return fmt.Errorf("field %q: want %s, got JSON %s", field, kindName(typeErr.Type), typeErr.Value)
	case errors.As(err, &syntaxErr):
		return fmt.Errorf("invalid JSON at byte %d: %v", syntaxErr.Offset, syntaxErr)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fmt.Errorf("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return errors.New("truncated JSON")
	}
	return err
}
