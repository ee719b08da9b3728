package server

import (
	"errors"
	"testing"
)

func TestOutbox(t *testing.T) {
	o := newOutbox()
	for _, tx := range []string{"a", "b", "c"} {
		o.post([]byte(tx))
	}
	var writes [][]string
	done := make(chan struct{})
	errStop := errors.New("stop")
	err := o.run(func(batch [][]byte) error {
		var w []string
		for _, b := range batch {
			w = append(w, string(b))
		}
		writes = append(writes, w)
		if len(writes) == 2 {
			return errStop
		}
		o.post([]byte("d"))
		return nil
	}, done)
	if !errors.Is(err, errStop) {
		t.Fatalf("run ended with %v, not the write's error", err)
	}
	if len(writes) != 2 || len(writes[0]) != 3 || writes[0][2] != "c" || len(writes[1]) != 1 || writes[1][0] != "d" {
		t.Fatalf("writes %q: want everything pending in one write, in order", writes)
	}
	o.close()
	o.post([]byte("e"))
	close(done)
	if o.run(func([][]byte) error { t.Fatal("wrote after close"); return nil }, done) != nil || o.pending != nil {
		t.Fatal("a post after close was kept")
	}
}
