package server

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"ssms.dev/ssms/internal/atomicfile"
	"ssms.dev/ssms/smp"
)

// Files of a server directory. ca.key belongs offline once the online
// certificate is made: the server never needs it to run.
const (
	caKeyFile   = "ca.key"
	caCertFile  = "ca.crt"
	keyFile     = "server.key"
	certFile    = "server.crt"
	addressFile = "address"
)

// Init creates a server identity in dir: a long-lived Ed25519 CA (whose
// fingerprint is the server's identity) and an online certificate it
// signs, valid for one year. It returns the server's address.
func Init(dir, host string, port int) (smp.Address, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return smp.Address{}, err
	}
	if _, err := os.Stat(filepath.Join(dir, caCertFile)); err == nil {
		return smp.Address{}, fmt.Errorf("%s already holds a server identity", dir)
	}
	caPub, caPriv, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "SMP server CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(20, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, caPub, caPriv)
	if err != nil {
		return smp.Address{}, err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leafDER, priv, err := issueOnline(caCert, caPriv, host, now)
	if err != nil {
		return smp.Address{}, err
	}
	addr := smp.Address{Fingerprint: smp.Fingerprint(caDER), Host: host, Port: port}
	for _, f := range []struct {
		name string
		typ  string
		der  []byte
		mode os.FileMode
	}{
		{caCertFile, "CERTIFICATE", caDER, 0o644},
		{certFile, "CERTIFICATE", leafDER, 0o644},
		{keyFile, "PRIVATE KEY", mustPKCS8(priv), 0o600},
		{caKeyFile, "PRIVATE KEY", mustPKCS8(caPriv), 0o600},
	} {
		if err := atomicfile.Create(filepath.Join(dir, f.name), pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.der}), f.mode); err != nil {
			return smp.Address{}, err
		}
	}
	return addr, atomicfile.Create(filepath.Join(dir, addressFile), []byte(addr.String()+"\n"), 0o644)
}

// issueOnline makes an online certificate for host, valid for one year
// from now, and its key. Clients demand serverAuth and refuse it once it
// has expired (smp.VerifyChain).
func issueOnline(ca *x509.Certificate, caPriv ed25519.PrivateKey, host string, now time.Time) ([]byte, ed25519.PrivateKey, error) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	leaf := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: host},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{host},
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, pub, caPriv)
	return der, priv, err
}

// Renew replaces the online certificate and key in dir with new ones,
// valid for one year, signed by the CA: DIR/ca.key must be back for it.
// The address does not change. A running server keeps the old
// certificate until it is restarted.
func Renew(dir string) error { return RenewWithCA(dir, "") }

// RenewWithCA is Renew with the CA key read from caKey (where it is kept
// offline: a removable disk, say), or DIR/ca.key if caKey is "".
func RenewWithCA(dir, caKey string) error {
	if caKey == "" {
		caKey = filepath.Join(dir, caKeyFile)
	}
	caDER, err := readPEM(filepath.Join(dir, caCertFile), "CERTIFICATE")
	if err != nil {
		return err
	}
	keyDER, err := readPEM(caKey, "PRIVATE KEY")
	if err != nil {
		return fmt.Errorf("%w (bring the CA key back from offline storage)", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return fmt.Errorf("%s: %w", caCertFile, err)
	}
	k, err := x509.ParsePKCS8PrivateKey(keyDER)
	caPriv, ok := k.(ed25519.PrivateKey)
	if err != nil || !ok || !caPriv.Public().(ed25519.PublicKey).Equal(ca.PublicKey) {
		return fmt.Errorf("%s is not the key of %s", caKey, filepath.Join(dir, caCertFile))
	}
	a, err := os.ReadFile(filepath.Join(dir, addressFile))
	if err != nil {
		return err
	}
	addr, err := smp.ParseAddress(string(trimNL(a)))
	if err != nil {
		return err
	}
	leafDER, priv, err := issueOnline(ca, caPriv, addr.Host, time.Now())
	if err != nil {
		return err
	}
	// The key first: a crash between the two leaves a certificate that
	// does not match its key, which LoadTLS refuses, rather than an old
	// key serving a certificate it did not sign for.
	if err := atomicfile.Write(filepath.Join(dir, keyFile), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: mustPKCS8(priv)}), 0o600); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, certFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}), 0o644)
}

func readPEM(path, typ string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != typ {
		return nil, fmt.Errorf("%s: not a PEM %s", path, typ)
	}
	return block.Bytes, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

func mustPKCS8(k ed25519.PrivateKey) []byte {
	b, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic(err)
	}
	return b
}

// LoadTLS reads the online certificate and key, and sends the CA along so
// clients can check the fingerprint.
func LoadTLS(dir string) (*tls.Config, smp.Address, error) {
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, certFile), filepath.Join(dir, keyFile))
	if err != nil {
		return nil, smp.Address{}, fmt.Errorf("%s: %w (run smp-server init, or renew)", dir, err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, caCertFile))
	if err != nil {
		return nil, smp.Address{}, err
	}
	block, _ := pem.Decode(caPEM)
	if block == nil {
		return nil, smp.Address{}, fmt.Errorf("%s: not a PEM certificate", caCertFile)
	}
	cert.Certificate = append(cert.Certificate, block.Bytes)
	a, err := os.ReadFile(filepath.Join(dir, addressFile))
	if err != nil {
		return nil, smp.Address{}, err
	}
	addr, err := smp.ParseAddress(string(trimNL(a)))
	if err != nil {
		return nil, smp.Address{}, err
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13, DynamicRecordSizingDisabled: true}, addr, nil
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
