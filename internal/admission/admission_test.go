package admission

import (
	"context"
	"errors"
	"testing"
	"time"

	"ssms.dev/ssms/manifest"
	"ssms.dev/ssms/policies"
	"ssms.dev/ssms/signer"
	"ssms.dev/ssms/translog"
)

func TestAdmit(t *testing.T) {
	ctx := context.Background()
	gen := func() signer.Signer {
		priv, _ := signer.Generate(signer.Ed25519)
		s, _ := signer.NewKeySigner(priv)
		return s
	}
	maint, rebuilder, outsider := gen(), gen(), gen()
	p := &policies.Policy{
		Version: 1, Expires: manifest.FormatTime(time.Now().Add(time.Hour)), Products: []string{"demo"},
		Maintainers: policies.Maintainers{Keys: []policies.Key{policies.NewKey("m", maint.Public())}, Thresholds: policies.Thresholds{Release: 1, Rollback: 1, Policy: 1}},
		Rebuilders:  policies.Rebuilders{Keys: []policies.Key{policies.NewKey("r", rebuilder.Public())}, Threshold: 1},
		Logs:        []policies.Log{}, Witnesses: policies.Witnesses{VKeys: []string{}},
		MaxCheckpointAge: "1h0m0s", MinLogAge: "0s",
	}
	if _, err := p.Marshal(); err != nil {
		t.Fatal(err)
	}
	a := New([]*policies.Policy{p})
	envelope := func(signers ...signer.Signer) []byte {
		env := &manifest.Envelope{PayloadType: "application/x-test", Payload: []byte("x")}
		for _, s := range signers {
			env.Sign(ctx, s)
		}
		b, _ := env.Marshal()
		return b
	}
	for name, tt := range map[string]struct {
		entry []byte
		want  error
	}{
		"maintainer": {envelope(maint), nil},
		"rebuilder":  {envelope(rebuilder), nil},
		"both":       {envelope(outsider, maint), nil},
		"outsider":   {envelope(outsider), translog.ErrNotAdmitted},
		"unsigned":   {envelope(), translog.ErrNotAdmitted},
	} {
		if err := a.Admit(tt.entry); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", name, err, tt.want)
		}
	}
	if err := a.Admit([]byte("not json")); err == nil || errors.Is(err, translog.ErrNotAdmitted) {
		t.Errorf("garbage: err = %v, want a parse error", err)
	}
}
