package report

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 27, 5, 10, 0, 0, time.UTC)

func sample() *Report {
	r := New("smp-server", "artifact", errors.New("artifact smp-server is not the signed one"), now)
	r.Running = &Release{Version: "1.0.0", Sequence: 1}
	r.Offered = &Release{Version: "1.1.0", Sequence: 2}
	r.Mirror = "http://127.0.0.1:8080/"
	r.Log = "ssms.example/log"
	r.Evidence.Bundle = base64.StdEncoding.EncodeToString([]byte(`{"bundle":1}`))
	r.Evidence.Checkpoint = "ssms.example/log\n42\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— ssms.example/log abcd\n"
	r.Evidence.Artifact = &Artifact{Name: "smp-server", Want: "sha256:" + strings.Repeat("a", 64), Got: "sha256:" + strings.Repeat("b", 64), Size: 20 << 20}
	return r
}

func TestRoundTrip(t *testing.T) {
	b, err := sample().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	r, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := r.Marshal()
	if !bytes.Equal(b, again) {
		t.Fatalf("round trip changed the report:\n%s\n%s", b, again)
	}
	if string(r.Evidence.BundleBytes()) != `{"bundle":1}` {
		t.Fatalf("bundle evidence: %q", r.Evidence.BundleBytes())
	}
}

func TestParseRefuses(t *testing.T) {
	good, _ := sample().Marshal()
	cases := map[string]string{
		"pretty":        strings.Replace(string(good), `,"product"`, `, "product"`, 1),
		"unknown field": strings.Replace(string(good), `"product"`, `"host":"me","product"`, 1),
		"wrong type":    strings.Replace(string(good), Type, "https://ssms.dev/update-failure/v2", 1),
		"bad check":     strings.Replace(string(good), `"check":"artifact"`, `"check":"nothing"`, 1),
		"local time":    strings.Replace(string(good), `2026-11-27T05:10:00Z`, `2026-11-27T06:10:00+01:00`, 1),
		"bad product":   strings.Replace(string(good), `"product":"smp-server"`, `"product":"<script>"`, 1),
		"bad digest":    strings.Replace(string(good), `"want":"sha256:`, `"want":"sha1:`, 1),
		"bad bundle":    strings.Replace(string(good), `"bundle":"`, `"bundle":"!`, 1),
		"too large":     strings.Replace(string(good), `"error":"`, `"error":"`+strings.Repeat("x", MaxSize), 1),
		"trailing":      string(good) + "{}",
	}
	for name, doc := range cases {
		if _, err := Parse([]byte(doc)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Parse = %v, want ErrInvalid", name, err)
		}
	}
}

func TestSaveNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	p1, err := Save(dir, sample())
	if err != nil {
		t.Fatal(err)
	}
	p2, err := Save(dir, sample())
	if err != nil || p1 == p2 {
		t.Fatalf("second save: %s, %v (first %s)", p2, err, p1)
	}
	if filepath.Dir(p1) != filepath.Join(dir, Dir) {
		t.Fatalf("saved to %s", p1)
	}
	b, _ := os.ReadFile(p2)
	if _, err := Parse(bytes.TrimSuffix(b, []byte("\n"))); err != nil {
		t.Fatalf("saved report does not parse: %v", err)
	}
}

func TestSubmit(t *testing.T) {
	var got []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	if err := Submit(context.Background(), srv.URL, sample()); err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(got); err != nil {
		t.Fatalf("the server received an invalid report: %v", err)
	}
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "slow down", http.StatusTooManyRequests)
	}))
	defer refuse.Close()
	if err := Submit(context.Background(), refuse.URL, sample()); err == nil || !strings.Contains(err.Error(), "429") {
		t.Fatalf("a refused submission: %v", err)
	}
}

// FuzzParse: whatever parses marshals back to the same bytes.
func FuzzParse(f *testing.F) {
	good, _ := sample().Marshal()
	f.Add(good)
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse(data)
		if err != nil {
			return
		}
		again, err := r.Marshal()
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("parsed but does not round trip: %v\n%q\n%q", err, data, again)
		}
	})
}
