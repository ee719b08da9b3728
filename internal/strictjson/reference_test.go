package strictjson

import (
	"encoding/json"
	"reflect"
	"strconv"
	"testing"
	"unicode/utf8"
)

// fdoc is the fuzz target type: a struct with each kind of value, a map
// whose keys are data, and itself nested, so depth is reachable.
type fdoc struct {
	A int               `json:"a"`
	S string            `json:"s"`
	B []map[string]bool `json:"b"`
	C *fdoc             `json:"c"`
}

// FuzzDecode checks Decode against an independent reference: a small
// recursive parser of JSON text that says whether data should decode into
// an fdoc (no repeated key in any object, nesting at most MaxDepth, every
// struct key exactly a declared name, every value of the declared kind).
// Decode must agree, and what it accepts must survive Marshal and Decode.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"a":1,"s":"x","b":[{"x":true}],"c":{"a":2}}`,
		`{"a":1,"a":1}`,
		`{"a":1,"A":2}`,
		`{"S":"x"}`,
		`{"ſ":"x"}`,
		`{"b":[{"x":true,"X":false}]}`,
		`{"b":[{"\u0078":true,"x":false}]}`,
		`{"c":{"c":{"c":{"c":{"c":{"c":{"c":{"c":{"c":{"c":{"c":{"c":{"c":{"c":{"c":{"c":{"c":{"c":{"c":{"c":{"c":{"c":{"c":{"c":{"c":{"c":{"c":{"c":{"c":{"c":{"c":{"c":{}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}`,
		`{"a":1.0}`,
		`{"a":1}{}`,
		`null`,
		`{"b":[null,{}],"c":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v fdoc
		err := Decode(data, &v, 1<<16)
		want := reference(data, 1<<16)
		if (err == nil) != want {
			t.Fatalf("Decode(%q) = %v; the reference says valid = %v", data, err, want)
		}
		if err != nil {
			return
		}
		b, err := Marshal(&v)
		if err != nil {
			t.Fatal(err)
		}
		var w fdoc
		if err := Decode(b, &w, 1<<20); err != nil || !reflect.DeepEqual(v, w) {
			t.Fatalf("%q decodes to %+v; its re-encoding %q to %+v (%v)", data, v, b, w, err)
		}
	})
}

// node is a JSON value as the reference parser sees it: objects keep every
// key in order, repeats included.
type node struct {
	kind byte // '{', '[', '"', '0' (number), 't', 'f', 'n'
	keys []string
	vals []node
	lit  string
}

// reference reports whether data should decode into an fdoc.
func reference(data []byte, limit int) bool {
	if len(data) > limit || !utf8.Valid(data) || !json.Valid(data) {
		return false
	}
	n, _ := parseRef(data, 0)
	return depth(n) <= MaxDepth && fits(n, reflect.TypeFor[fdoc]())
}

func skipSpace(s []byte, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// parseRef parses the value at s[i:], which json.Valid has accepted.
func parseRef(s []byte, i int) (node, int) {
	i = skipSpace(s, i)
	switch c := s[i]; c {
	case '{', '[':
		n := node{kind: c}
		i = skipSpace(s, i+1)
		for s[i] != '}' && s[i] != ']' {
			if c == '{' {
				var k node
				k, i = parseRef(s, i)
				n.keys = append(n.keys, k.lit)
				i = skipSpace(s, i) + 1 // the colon
			}
			var v node
			v, i = parseRef(s, i)
			n.vals = append(n.vals, v)
			if i = skipSpace(s, i); s[i] == ',' {
				i = skipSpace(s, i+1)
			}
		}
		return n, i + 1
	case '"':
		j := i + 1
		for s[j] != '"' {
			if s[j] == '\\' {
				j++
			}
			j++
		}
		var str string
		json.Unmarshal(s[i:j+1], &str) // unescaping only
		return node{kind: '"', lit: str}, j + 1
	case 't', 'f', 'n':
		return node{kind: c}, i + map[byte]int{'t': 4, 'f': 5, 'n': 4}[c]
	default:
		j := i
		for j < len(s) && (s[j] == '-' || s[j] == '+' || s[j] == '.' || s[j] == 'e' || s[j] == 'E' || s[j] >= '0' && s[j] <= '9') {
			j++
		}
		return node{kind: '0', lit: string(s[i:j])}, j
	}
}

func depth(n node) int {
	d := 0
	for _, v := range n.vals {
		d = max(d, depth(v))
	}
	if n.kind == '{' || n.kind == '[' {
		d++
	}
	return d
}

// fits reports whether n decodes into t with exact keys and no repeats.
func fits(n node, t reflect.Type) bool {
	seen := map[string]bool{}
	for _, k := range n.keys {
		if seen[k] {
			return false
		}
		seen[k] = true
	}
	if n.kind == 'n' {
		return true // null leaves any Go value as it is
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int:
		_, err := strconv.ParseInt(n.lit, 10, 64)
		return n.kind == '0' && err == nil
	case reflect.String:
		return n.kind == '"'
	case reflect.Bool:
		return n.kind == 't' || n.kind == 'f'
	case reflect.Slice:
		if n.kind != '[' {
			return false
		}
		for _, v := range n.vals {
			if !fits(v, t.Elem()) {
				return false
			}
		}
		return true
	case reflect.Map, reflect.Struct:
		if n.kind != '{' {
			return false
		}
		for i, k := range n.keys {
			ft := t.Elem
			if t.Kind() == reflect.Struct {
				f, ok := t.FieldByName(fieldName(t, k))
				if !ok {
					return false
				}
				ft = func() reflect.Type { return f.Type }
			}
			if !fits(n.vals[i], ft()) {
				return false
			}
		}
		return true
	}
	panic("fdoc has no field of kind " + t.Kind().String())
}

// fieldName finds the Go field whose json tag is exactly key, or "".
func fieldName(t reflect.Type, key string) string {
	for i := range t.NumField() {
		if tag := t.Field(i).Tag.Get("json"); tag == key {
			return t.Field(i).Name
		}
	}
	return ""
}
