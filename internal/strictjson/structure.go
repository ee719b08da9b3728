package strictjson

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
)

// frame is one open object or array of the document, with the Go type it
// decodes into: nil when any content is acceptable (an interface, or a
// type that decodes itself).
type frame struct {
	object  bool
	keys    map[string]bool
	wantKey bool
	t       reflect.Type // the struct, map or slice type of this container
	next    reflect.Type // the type of the value that comes next
}

// checkStructure walks the token stream once to catch what the decoder
// silently accepts: duplicate keys, excessive nesting, and object keys that
// only match a field of the target type t case-insensitively. encoding/json
// matches "PAYLOAD" and "Payload" to the field tagged "payload", and keeps
// the last of them, so one document would read differently here and in
// every other parser of the same format. A struct's keys must be exactly
// its json tags.
func checkStructure(data []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []*frame
	path := func() string {
		return fmt.Sprintf("offset %d", dec.InputOffset())
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return describe(err)
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.wantKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				markValueDone(stack)
				continue
			}
			key := tok.(string)
			if top.keys[key] {
				return fmt.Errorf("duplicate key %q at %s", key, path())
			}
			next, ok := memberType(top.t, key)
			if !ok {
				return fmt.Errorf("unknown field %q at %s (field names are case-sensitive)", key, path())
			}
			top.keys[key] = true
			top.wantKey = false
			top.next = next
			continue
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if len(stack) >= MaxDepth {
				return fmt.Errorf("nesting deeper than %d at %s", MaxDepth, path())
			}
			vt := t
			if top != nil {
				vt = top.next
			}
			f := &frame{object: tok == json.Delim('{'), t: container(vt)}
			if f.object {
				f.keys = map[string]bool{}
				f.wantKey = true
			} else {
				f.next = elem(f.t)
			}
			stack = append(stack, f)
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
			markValueDone(stack)
		default:
			markValueDone(stack)
		}
	}
}

func markValueDone(stack []*frame) {
	if len(stack) > 0 && stack[len(stack)-1].object {
		stack[len(stack)-1].wantKey = true
	}
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// container strips pointers from t and returns nil for types whose content
// is not checked here: interfaces and types with their own decoding.
// Type mismatches (an object for a string) are left to encoding/json.
func container(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() == reflect.Interface ||
		reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return nil
	}
	return t
}

// elem is the type of an array's elements, or nil if unknown.
func elem(t reflect.Type) reflect.Type {
	if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
		return t.Elem()
	}
	return nil
}

// memberType returns the type of the value under key in an object that
// decodes into t, and whether key is allowed there at all.
func memberType(t reflect.Type, key string) (reflect.Type, bool) {
	if t == nil {
		return nil, true
	}
	switch t.Kind() {
	case reflect.Map:
		return t.Elem(), true
	case reflect.Struct:
		ft, ok := structFields(t)[key]
		return ft, ok
	}
	return nil, true // not an object type: encoding/json reports the mismatch
}

var fieldCache sync.Map // reflect.Type → map[string]reflect.Type

// structFields maps the exact JSON names of t's fields to their types, as
// encoding/json names them: the tag name, else the Go name; unexported and
// "-" fields have none. Embedded structs are not used by this project's
// formats and are refused rather than guessed at.
func structFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	for f := range t.Fields() {
		if !f.IsExported() || f.Anonymous {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Tag.Get("json") == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	fieldCache.Store(t, m)
	return m
}
