package smp

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"
)

// TestParseAddressCanonical: the fingerprint in an address is accepted in
// its one base64url spelling only, so one server has one address.
func TestParseAddressCanonical(t *testing.T) {
	fp := Fingerprint([]byte("ca"))
	if _, err := ParseAddress("smp://" + fp + "@example.org"); err != nil {
		t.Fatal(err)
	}
	last := fp[len(fp)-1]
	other := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", last) ^ 1 // a padding bit set
	for _, bad := range []string{
		fp[:len(fp)-1] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[other]),
		fp + "=",
		fp[:10] + "%0A" + fp[10:],
	} {
		if _, err := ParseAddress("smp://" + bad + "@example.org"); err == nil {
			t.Errorf("fingerprint %q accepted", bad)
		}
	}
}

// testCA makes a CA like smp-server init's and returns a function that
// issues an online certificate from a template changed by edit.
func testCA(t *testing.T) (caDER []byte, issue func(edit func(*x509.Certificate)) []byte) {
	t.Helper()
	now := time.Now()
	caPub, caPriv, _ := ed25519.GenerateKey(rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(20, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caPub, caPriv)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	return caDER, func(edit func(*x509.Certificate)) []byte {
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "host"},
			NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
		edit(leaf)
		der, err := x509.CreateCertificate(rand.Reader, leaf, ca, pub, caPriv)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
}

// TestAttackClientTLSLeaf: the client checked only the CA's fingerprint
// and signature, so it accepted an expired online certificate, or one
// made for signing certificates rather than for a TLS server.
func TestAttackClientTLSLeaf(t *testing.T) {
	caDER, issue := testCA(t)
	otherCA, issueOther := testCA(t)
	fp := Fingerprint(caDER)
	now := time.Now()
	for _, tt := range []struct {
		name  string
		chain [][]byte
		ok    bool
	}{
		{"as smp-server init issues", [][]byte{issue(func(*x509.Certificate) {}), caDER}, true},
		{"expired", [][]byte{issue(func(c *x509.Certificate) { c.NotAfter = now.Add(-time.Minute) }), caDER}, false},
		{"not yet valid", [][]byte{issue(func(c *x509.Certificate) { c.NotBefore = now.Add(time.Hour) }), caDER}, false},
		{"CertSign, no serverAuth", [][]byte{issue(func(c *x509.Certificate) {
			c.KeyUsage, c.ExtKeyUsage = x509.KeyUsageCertSign, nil
		}), caDER}, false},
		{"no extended key usage", [][]byte{issue(func(c *x509.Certificate) { c.ExtKeyUsage = nil }), caDER}, false},
		{"clientAuth only", [][]byte{issue(func(c *x509.Certificate) {
			c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		}), caDER}, false},
		{"a CA", [][]byte{issue(func(c *x509.Certificate) { c.IsCA, c.BasicConstraintsValid = true, true }), caDER}, false},
		{"another CA's", [][]byte{issueOther(func(*x509.Certificate) {}), caDER}, false},
		{"another CA", [][]byte{issueOther(func(*x509.Certificate) {}), otherCA}, false},
		{"CA only", [][]byte{caDER}, false},
	} {
		if err := VerifyChain(fp, tt.chain, now); (err == nil) != tt.ok {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}
