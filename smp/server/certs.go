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
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	leaf := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: host},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{host},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, pub, caPriv)
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
		return nil, smp.Address{}, fmt.Errorf("%s: %w (run smp-server init)", dir, err)
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
