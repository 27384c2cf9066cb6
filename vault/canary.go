package vault

import (
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/botgate/botgate"
)

// canaryPlaintext is the known value a canary seals. It is not secret.
const canaryPlaintext = "botgate vault canary v1: if you can read this, the master key is right"

// canaryAAD keeps the canary apart from every secret: secret AADs start
// "botgate-vault|secret:".
var canaryAAD = []byte("botgate-vault|canary")

const canaryWhat = "the vault canary"

// NewCanary seals the known canary value under the keyring's current
// master key. `botgate init` stores it once, next to (never instead of) the
// secrets, so that VerifyMasterKey can tell at every start whether the
// master key given is the one the database was set up with.
//
// Errors: KindInternal if randomness fails.
func NewCanary(kr *Keyring) (Sealed, error) {
	s, err := seal(kr, []byte(canaryPlaintext), canaryAAD)
	if err != nil {
		return Sealed{}, botgate.E("vault.NewCanary", err)
	}
	return s, nil
}

// VerifyMasterKey checks the stored canary against the keyring. The server
// calls it before serving, so that a wrong master key stops it at start with
// a clear message instead of failing on every secret later.
//
// Errors: KindInternal with ErrKeyNotLoaded when the canary's master key is
// not in the keyring (the wrong key was given); KindInternal with ErrCorrupt
// when the canary does not open or does not hold the known value.
func VerifyMasterKey(kr *Keyring, canary Sealed) error {
	const op = "vault.VerifyMasterKey"
	pt, err := open(kr, canary, canaryAAD, canaryWhat)
	if err != nil {
		if errors.Is(err, ErrKeyNotLoaded) {
			return botgate.E(op, &botgate.Error{
				Kind: botgate.KindInternal,
				Message: fmt.Sprintf("wrong master key: this database's vault was set up with master key %s, "+
					"but the loaded keys are %s; start botgate with the right %s or master key file",
					canary.KeyID, kr.loadedIDs(), EnvMasterKey),
				Err: err,
			})
		}
		return botgate.E(op, &botgate.Error{
			Kind: botgate.KindInternal,
			Message: fmt.Sprintf("the vault canary does not open under master key %s: "+
				"the key given is not the one the database was set up with, or the canary was altered", canary.KeyID),
			Err: err,
		})
	}
	defer clear(pt)
	if subtle.ConstantTimeCompare(pt, []byte(canaryPlaintext)) != 1 {
		return botgate.E(op, &botgate.Error{
			Kind:    botgate.KindInternal,
			Message: fmt.Sprintf("the vault canary under master key %s holds an unexpected value; it was replaced", canary.KeyID),
			Err:     ErrCorrupt,
		})
	}
	return nil
}

// RewrapCanary re-wraps the canary under the keyring's current master key,
// like Rewrap does for a secret. During a master key rotation it runs last,
// after every secret has been rewrapped: from then on the old key is no
// longer needed, and starting without the new key fails.
//
// Errors: as VerifyMasterKey; KindInternal if randomness fails.
func RewrapCanary(kr *Keyring, canary Sealed) (Sealed, error) {
	const op = "vault.RewrapCanary"
	if err := VerifyMasterKey(kr, canary); err != nil {
		return Sealed{}, botgate.E(op, err)
	}
	out, err := rewrap(kr, canary, canaryAAD, canaryWhat)
	if err != nil {
		return Sealed{}, botgate.E(op, err)
	}
	return out, nil
}
