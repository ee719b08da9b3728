package agent

import (
	"crypto/ecdh"
	"crypto/rand"
	"crypto/x509"
	"errors"

	"ssms.dev/ssms/smp"
)

// ErrLowOrderKey refuses an X25519 key of low order: any private key
// agrees with it on the all-zero secret, so what is sealed to it (a
// confirmation, a message) could be opened by anyone.
var ErrLowOrderKey = errors.New("a low-order X25519 key: the shared secret would be all zeros, readable by anyone")

// lowOrderProbe is any private key: crypto/ecdh returns an error when
// the result of X25519 with it is all zeros, which for a low-order
// public key it is whatever the private key.
var lowOrderProbe = func() *ecdh.PrivateKey {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		panic("agent: no X25519 probe key: " + err.Error())
	}
	return k
}()

// checkX25519 refuses a low-order public key.
func checkX25519(pub *ecdh.PublicKey) error {
	if _, err := lowOrderProbe.ECDH(pub); err != nil {
		return ErrLowOrderKey
	}
	return nil
}

// parseDHKey is smp.ParseDHKey, with a refusal that says why when the
// key is of low order.
func parseDHKey(s string) (*ecdh.PublicKey, error) {
	if k, err := smp.ParseDHKey(s); err == nil {
		return k, nil
	}
	if der, err := smp.DecodeBase64(s); err == nil {
		if k, err := x509.ParsePKIXPublicKey(der); err == nil {
			if pub, ok := k.(*ecdh.PublicKey); ok && pub.Curve() == ecdh.X25519() && checkX25519(pub) != nil {
				return nil, ErrLowOrderKey
			}
		}
	}
	return nil, errors.New("not a base64 X25519 key")
}
