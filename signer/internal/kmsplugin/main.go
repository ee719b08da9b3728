// Command kmsplugin is a KMS for tests: a sigstore CLI plugin
// (sigstore-kms-ssmstest) that keeps its key in the local file named by the
// URI ssmstest://PATH. Tests build it and put it on PATH, so the KMS code
// path of ssms runs through sigstore's real plugin protocol.
package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"strings"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms/cliplugin/handler"
)

func main() {
	args, err := handler.GetPluginArgs(os.Args)
	if err != nil {
		handler.WriteErrorResponse(os.Stdout, err)
		return
	}
	path := strings.TrimPrefix(args.InitOptions.KeyResourceID, "ssmstest://")
	handler.Dispatch(os.Stdout, os.Stdin, args, &fileKMS{path: path})
}

type fileKMS struct{ path string }

func (k *fileKMS) load() (signature.SignerVerifier, error) {
	b, err := os.ReadFile(k.path)
	if err != nil {
		return nil, err
	}
	priv, err := cryptoutils.UnmarshalPEMToPrivateKey(b, nil)
	if err != nil {
		return nil, err
	}
	return signature.LoadSignerVerifier(priv, crypto.SHA256)
}

func (k *fileKMS) CreateKey(_ context.Context, alg string) (crypto.PublicKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case "ed25519":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case "ecdsa-p256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return nil, errors.New("unsupported algorithm " + alg)
	}
	if err != nil {
		return nil, err
	}
	pemBytes, err := cryptoutils.MarshalPrivateKeyToPEM(priv)
	if err != nil {
		return nil, err
	}
	return priv.Public(), os.WriteFile(k.path, pemBytes, 0o600)
}

func (k *fileKMS) PublicKey(...signature.PublicKeyOption) (crypto.PublicKey, error) {
	sv, err := k.load()
	if err != nil {
		return nil, err
	}
	return sv.PublicKey()
}

func (k *fileKMS) SignMessage(msg io.Reader, _ ...signature.SignOption) ([]byte, error) {
	sv, err := k.load()
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(msg)
	if err != nil {
		return nil, err
	}
	if os.Getenv("SSMSTEST_KMS_LIE") != "" {
		b = append(b, '!') // a compromised KMS signing something else
	}
	return sv.SignMessage(bytes.NewReader(b))
}

func (k *fileKMS) VerifySignature(sig, msg io.Reader, _ ...signature.VerifyOption) error {
	sv, err := k.load()
	if err != nil {
		return err
	}
	return sv.VerifySignature(sig, msg)
}

func (k *fileKMS) CryptoSigner(context.Context, func(error)) (crypto.Signer, crypto.SignerOpts, error) {
	return nil, nil, errors.New("not implemented")
}

func (k *fileKMS) SupportedAlgorithms() []string { return []string{"ed25519", "ecdsa-p256"} }
func (k *fileKMS) DefaultAlgorithm() string      { return "ed25519" }
