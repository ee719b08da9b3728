// Package signer creates, stores and uses the keys that sign SSMS
// envelopes: release manifests, policies and rebuild attestations.
//
// Three algorithms are accepted, and nothing else:
//
//	ed25519     Ed25519 over the message (the default)
//	ecdsa-p256  ECDSA on NIST P-256 over SHA-256, ASN.1 DER signatures
//	rsa-pss     RSA-PSS over SHA-256, salt length = hash length, modulus ≥ 2048 bits
//
// A public key is a PEM "PUBLIC KEY" block holding a DER SubjectPublicKeyInfo.
// Its key ID is the lowercase hex SHA-256 of that DER, so anyone can recompute
// it from the .pub file (`ssms key id`).
//
// A private key at rest is a PEM "ENCRYPTED SIGSTORE PRIVATE KEY" block: the
// PKCS #8 DER of the key, sealed with NaCl secretbox under a key derived from
// the passphrase by scrypt (go-securesystemslib's encrypted format). This is
// the format cosign writes and reads, so `cosign sign-blob --key NAME.key`
// works on SSMS keys and vice versa. Unencrypted private keys are refused.
//
// Keys held in a KMS are named by a sigstore URI (awskms://, gcpkms://,
// hashivault://, or NAME:// for a sigstore-kms-NAME plugin on PATH) and used
// through sigstore's kms package; see [LoadKMS].
//
// Start with [Generate] and [MarshalPrivateKey] to make a key, [LoadPrivateKey]
// to sign with it, and [ParsePublicKey] to verify.
package signer
