package strictjson

import (
	"errors"
	"strings"
	"testing"
)

type doc struct {
	A int               `json:"a"`
	B []map[string]bool `json:"b"`
}

func TestDecode(t *testing.T) {
	tests := []struct {
		in, want string // want "" means success
	}{
		{`{"a":1,"b":[{"x":true}]}`, ""},
		{` {"a":1} `, ""},
		{`{"a":1,"a":2}`, `duplicate key "a"`},
		{`{"b":[{"x":true,"x":false}]}`, `duplicate key "x"`},
		{`{"b":[{"x":true},{"x":false}]}`, ""}, // same key in sibling objects
		{`{"a":1}{"a":2}`, "after the JSON value"},
		{`{"a":1,"c":2}`, `unknown field "c"`},
		{`{"A":1}`, `unknown field "A"`},                           // encoding/json would fill a
		{`{"a":1,"A":2}`, `unknown field "A"`},                     // a case-variant twin
		{`{"\u017f":1}`, `unknown field`},                          // folds to "s" in Unicode
		{`{"b":[{"x":true,"X":false}]}`, ""},                       // map keys are data, exact
		{`{"b":[{"\u0078":true,"x":false}]}`, `duplicate key "x"`}, // an escape is the same key
		{`{"a":"1"}`, `field "a": want a whole number`},
		{`{"a":1`, "truncated"},
		{"{\"a\":1,\"b\":[{\"\xff\":true}]}", "UTF-8"},
		{`{"a":1,"d":{"a":2}}`, `unknown field "d"`},
		{`[` + strings.Repeat(`[`, MaxDepth) + strings.Repeat(`]`, MaxDepth+1), "nesting deeper"},
	}
	for _, tt := range tests {
		var d doc
		err := Decode([]byte(tt.in), &d, 1<<10)
		if tt.want == "" && err != nil {
			t.Errorf("%s: unexpected error %v", tt.in, err)
		}
		if tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: err = %v, want %q", tt.in, err, tt.want)
		}
	}
	if err := Decode([]byte(`{"a":1}`), &doc{}, 3); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the limit: err = %v", err)
	}
}

func TestCanonical(t *testing.T) {
	var d doc
	in := `{"a":1,"b":[{"x":true,"y":false}]}`
	if err := Decode([]byte(in), &d, 1<<10); err != nil {
		t.Fatal(err)
	}
	if err := Canonical([]byte(in), &d); err != nil {
		t.Fatal(err)
	}
	for _, nc := range []string{`{"a":1,"b":[{"y":false,"x":true}]}`, `{"a": 1,"b":[{"x":true,"y":false}]}`, `{"b":[{"x":true,"y":false}],"a":1}`} {
		var d doc
		Decode([]byte(nc), &d, 1<<10)
		if err := Canonical([]byte(nc), &d); err == nil {
			t.Errorf("%s accepted as canonical", nc)
		}
	}
	b, _ := Marshal(map[string]string{"k": "<&>"})
	if string(b) != `{"k":"<&>"}` {
		t.Errorf("Marshal escapes HTML: %s", b)
	}
}
