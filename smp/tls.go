package smp

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"ssms.dev/ssms/internal/b64"
)

// DefaultPort is the SMP port over TLS.
const DefaultPort = 5223

// Fingerprint is the server's identity: the SHA-256 of its offline CA
// certificate (DER), in unpadded base64url as it appears in addresses.
func Fingerprint(caDER []byte) string {
	sum := sha256.Sum256(caDER)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Address is a server address: smp://<fingerprint>@host[:port].
type Address struct {
	Fingerprint string
	Host        string
	Port        int
}

func (a Address) String() string {
	return fmt.Sprintf("smp://%s@%s", a.Fingerprint, net.JoinHostPort(a.Host, strconv.Itoa(a.Port)))
}

// ParseAddress parses an smp:// address; the port defaults to 5223.
func ParseAddress(s string) (Address, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "smp" || u.User == nil || u.Host == "" || u.Path != "" || u.RawQuery != "" {
		return Address{}, fmt.Errorf("%q is not an smp://fingerprint@host[:port] address", s)
	}
	a := Address{Fingerprint: u.User.Username(), Host: u.Hostname(), Port: DefaultPort}
	if fp, err := b64.RawURL(a.Fingerprint); err != nil || len(fp) != sha256.Size {
		return Address{}, fmt.Errorf("%q: the fingerprint is not base64url of a SHA-256 hash", s)
	}
	if p := u.Port(); p != "" {
		if a.Port, err = strconv.Atoi(p); err != nil || a.Port < 1 || a.Port > 65535 {
			return Address{}, fmt.Errorf("%q: bad port", s)
		}
	}
	return a, nil
}

// ErrFingerprint means the server's CA is not the one in the address.
var ErrFingerprint = errors.New("smp: server identity does not match the address")

// ClientTLS is the TLS configuration that accepts exactly the server whose
// CA certificate has the given fingerprint (see VerifyChain). No system
// roots are involved.
func ClientTLS(fingerprint string) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true, // replaced by the pinned check below
		// Every 16 KiB block is then exactly one TLS record, whatever the
		// connection's age: record sizes say nothing.
		DynamicRecordSizingDisabled: true,
		VerifyPeerCertificate: func(chain [][]byte, _ [][]*x509.Certificate) error {
			return VerifyChain(fingerprint, chain, time.Now())
		},
	}
}

// VerifyChain checks that chain, as a server sent it, is [online
// certificate, CA], that the CA's fingerprint is fingerprint, and that the
// online certificate is one the CA issued for a TLS server and valid at
// now: x509 verification with the CA as the only root (validity periods,
// the CA's basic constraints and key usage, the signature), and an online
// certificate that is not a CA and names serverAuth explicitly (x509 lets
// a certificate with no extended key usage pass for any). No host name is
// checked: the fingerprint in the address is the server's identity.
func VerifyChain(fingerprint string, chain [][]byte, now time.Time) error {
	if len(chain) != 2 {
		return fmt.Errorf("%w: %d certificates, want the online certificate and its CA", ErrFingerprint, len(chain))
	}
	if Fingerprint(chain[1]) != fingerprint {
		return ErrFingerprint
	}
	leaf, err1 := x509.ParseCertificate(chain[0])
	ca, err2 := x509.ParseCertificate(chain[1])
	if err1 != nil || err2 != nil {
		return fmt.Errorf("%w: unreadable certificates", ErrFingerprint)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	opts := x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	if _, err := leaf.Verify(opts); err != nil {
		return fmt.Errorf("%w: the online certificate: %v", ErrFingerprint, err)
	}
	if leaf.IsCA || leaf.KeyUsage&x509.KeyUsageCertSign != 0 || !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
		return fmt.Errorf("%w: the online certificate is not for a TLS server", ErrFingerprint)
	}
	return nil
}

// CleanHost strips brackets from an IPv6 host.
func CleanHost(h string) string { return strings.Trim(h, "[]") }
