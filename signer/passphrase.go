package signer

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"golang.org/x/term"
)

// PassphraseEnv is the environment variable that supplies the passphrase to
// scripts. Passphrases are never taken from flags, which leak into shell
// history and process listings.
const PassphraseEnv = "SSMS_PASSWORD"

// ErrNoPassphrase means there is neither SSMS_PASSWORD nor a terminal.
var ErrNoPassphrase = errors.New("no passphrase: set " + PassphraseEnv + " or run in a terminal")

// Passphrase returns the passphrase from SSMS_PASSWORD, or else asks on the
// controlling terminal (twice when confirm is set, for a new key). An empty
// SSMS_PASSWORD counts as unset, as `export SSMS_PASSWORD=` is how people
// clear it.
func Passphrase(prompt string, confirm bool) ([]byte, error) {
	return PassphraseFrom(PassphraseEnv, prompt, confirm)
}

// PassphraseFrom is Passphrase with another environment variable.
func PassphraseFrom(env, prompt string, confirm bool) ([]byte, error) {
	if p := os.Getenv(env); p != "" {
		return []byte(p), nil
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, ErrNoPassphrase
	}
	defer tty.Close()
	read := func(p string) ([]byte, error) {
		fmt.Fprint(tty, p)
		b, err := term.ReadPassword(int(tty.Fd()))
		fmt.Fprintln(tty)
		return b, err
	}
	p, err := read(prompt + ": ")
	if err != nil {
		return nil, ErrNoPassphrase
	}
	if confirm {
		again, err := read("again: ")
		if err != nil {
			return nil, ErrNoPassphrase
		}
		if !bytes.Equal(p, again) {
			return nil, errors.New("the passphrases differ")
		}
	}
	return p, nil
}
