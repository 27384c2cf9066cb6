package vault

import (
	"io"
	"slices"
	"strings"

	"github.com/botgate/botgate"
)

// Keyring holds the current master key, which seals and rewraps, and any
// older master keys, which only open secrets sealed before a rotation. It
// also holds the source of randomness for data keys and nonces.
//
// A Keyring is immutable and safe for concurrent use as long as its random
// source is (crypto/rand.Reader is), except Destroy, which must be called
// only once nothing else uses the keyring.
type Keyring struct {
	rand    io.Reader
	current *MasterKey
	keys    map[KeyID]*MasterKey // current and old
	order   []KeyID              // current first, then old in the order given
}

// NewKeyring returns a keyring whose current key is current and which can
// also open secrets wrapped by any of old. Randomness for every seal and
// rewrap is read from rand.
//
// The keyring takes ownership of the keys: Keyring.Destroy destroys them.
// A key given twice (the same key material) is kept once; two different
// keys with the same KeyID are refused (KindInvalid), as is a nil or
// destroyed key.
func NewKeyring(rand io.Reader, current *MasterKey, old ...*MasterKey) (*Keyring, error) {
	const op = "vault.NewKeyring"
	if rand == nil {
		return nil, botgate.E(op, botgate.Invalid("rand", "a keyring needs a source of randomness"))
	}
	kr := &Keyring{rand: rand, current: current, keys: make(map[KeyID]*MasterKey, 1+len(old))}
	for i, k := range append([]*MasterKey{current}, old...) {
		if k == nil || k.aead == nil {
			field := "current"
			if i > 0 {
				field = "old"
			}
			return nil, botgate.E(op, botgate.Invalid(field, "a keyring needs loaded master keys; key %d is missing or destroyed", i))
		}
		if prev, ok := kr.keys[k.id]; ok {
			if !prev.equal(k) {
				return nil, botgate.E(op, botgate.Invalid("old", "two different master keys share the id %s", k.id))
			}
			if prev != k {
				k.Destroy() // a second copy of a key already held
			}
			continue
		}
		kr.keys[k.id] = k
		kr.order = append(kr.order, k.id)
	}
	return kr, nil
}

// Current returns the KeyID of the current master key, the one Seal and
// Rewrap use.
func (kr *Keyring) Current() KeyID { return kr.current.id }

// Has reports whether the keyring holds the master key named id.
func (kr *Keyring) Has(id KeyID) bool {
	_, ok := kr.keys[id]
	return ok
}

// IDs returns the KeyIDs of every key in the keyring, the current one first.
func (kr *Keyring) IDs() []KeyID { return slices.Clone(kr.order) }

// String lists the key ids, the current one marked, and no key material.
func (kr Keyring) String() string {
	parts := make([]string, len(kr.order))
	for i, id := range kr.order {
		parts[i] = id.String()
		if i == 0 {
			parts[i] += " (current)"
		}
	}
	return "keyring[" + strings.Join(parts, ", ") + "]"
}

// Destroy destroys every key in the keyring; see MasterKey.Destroy.
func (kr *Keyring) Destroy() {
	for _, k := range kr.keys {
		k.Destroy()
	}
}

// loadedIDs lists the loaded key ids for messages.
func (kr *Keyring) loadedIDs() string {
	parts := make([]string, len(kr.order))
	for i, id := range kr.order {
		parts[i] = id.String()
	}
	return strings.Join(parts, ", ")
}
