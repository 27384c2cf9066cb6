package vault

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/botgate/botgate"
)

// Version is the version of the sealed format this package writes.
const Version = 1

// Sizes of the parts of a version 1 Sealed.
const (
	NonceSize          = 12                // AES-GCM standard nonce
	TagSize            = 16                // AES-GCM tag
	WrappedDataKeySize = KeySize + TagSize // data key sealed by the master key
	// Overhead is how many bytes the binary encoding adds to a plaintext.
	Overhead = 1 + len(KeyID{}) + NonceSize + WrappedDataKeySize + NonceSize + TagSize
)

// MaxPlaintext is the largest secret Seal accepts: 64 KiB, enough for any
// token, password, key or certificate bundle.
const MaxPlaintext = 64 << 10

// ErrKeyNotLoaded is the cause (see errors.Is) of the error Open and Rewrap
// return when a secret was sealed with a master key that is not in the
// keyring: the server was started with the wrong master key, or an old key
// was dropped before every secret was rewrapped.
var ErrKeyNotLoaded = errors.New("master key not loaded")

// ErrCorrupt is the cause (see errors.Is) of the error returned for a sealed
// secret that fails authentication or does not decode: its bytes were
// changed, or it was copied from another secret (another id, owner or name).
var ErrCorrupt = errors.New("sealed secret is corrupted or belongs to another secret")

// AAD is the associated data a secret is sealed with. It binds the
// ciphertext (and the wrapped data key) to the secret's identity, so a
// sealed value copied to another row, another owner or another name does
// not open there.
type AAD struct {
	SecretID     int64  // the secrets row id; > 0
	OwnerGroupID int64  // the owning team; > 0
	Name         string // the secret's name within its owner; not empty
}

// String is the canonical form that is authenticated:
//
//	secret:<id>|owner:group:<gid>|name:<name>
//
// It is unambiguous: the two numbers are decimal and come first, and the
// name, which may hold any character, runs to the end.
func (a AAD) String() string {
	return "secret:" + strconv.FormatInt(a.SecretID, 10) +
		"|owner:group:" + strconv.FormatInt(a.OwnerGroupID, 10) +
		"|name:" + a.Name
}

// validate reports a KindInvalid error for an AAD that names no secret.
func (a AAD) validate() error {
	switch {
	case a.SecretID <= 0:
		return botgate.Invalid("secret_id", "a sealed secret needs its id (got %d)", a.SecretID)
	case a.OwnerGroupID <= 0:
		return botgate.Invalid("owner_group_id", "a sealed secret needs its owner group id (got %d)", a.OwnerGroupID)
	case a.Name == "":
		return botgate.Invalid("name", "a sealed secret needs its name")
	case !utf8.ValidString(a.Name):
		return botgate.Invalid("name", "a secret's name must be valid UTF-8")
	}
	return nil
}

// describe names the secret in error messages: id, owner and name are
// metadata, never secret.
func (a AAD) describe() string {
	return fmt.Sprintf("secret %d (%q of group %d)", a.SecretID, a.Name, a.OwnerGroupID)
}

// bytes is the AAD as authenticated, with a domain prefix that keeps
// secret AADs apart from the canary's.
func (a AAD) bytes() []byte { return []byte("botgate-vault|" + a.String()) }

// Sealed is an encrypted secret as stored: the ciphertext under a fresh data
// key, and that data key wrapped (AES-256-GCM) by the master key KeyID.
// None of its fields is secret. MarshalBinary and UnmarshalBinary give its
// storage encoding.
type Sealed struct {
	Version        uint8  // format version; Version for new values
	KeyID          KeyID  // the master key that wrapped the data key
	KeyNonce       []byte // nonce for wrapping the data key (NonceSize)
	WrappedDataKey []byte // the data key sealed by the master key (WrappedDataKeySize)
	Nonce          []byte // nonce for the ciphertext (NonceSize)
	Ciphertext     []byte // the plaintext sealed by the data key, tag included
}

// Clone returns a deep copy of s.
func (s Sealed) Clone() Sealed {
	s.KeyNonce = append([]byte(nil), s.KeyNonce...)
	s.WrappedDataKey = append([]byte(nil), s.WrappedDataKey...)
	s.Nonce = append([]byte(nil), s.Nonce...)
	s.Ciphertext = append([]byte(nil), s.Ciphertext...)
	return s
}

// Authenticated data for the two layers. Both carry the format version and
// the secret's AAD; the wrapping layer also carries the master key id.
func wrapAD(version uint8, id KeyID, aad []byte) []byte {
	b := make([]byte, 0, 16+len(id)+len(aad))
	b = append(b, "botgate-dek/v"...)
	b = strconv.AppendUint(b, uint64(version), 10)
	b = append(b, '|')
	b = append(b, id[:]...)
	b = append(b, '|')
	return append(b, aad...)
}

func dataAD(version uint8, aad []byte) []byte {
	b := make([]byte, 0, 16+len(aad))
	b = append(b, "botgate-data/v"...)
	b = strconv.AppendUint(b, uint64(version), 10)
	b = append(b, '|')
	return append(b, aad...)
}

// Seal encrypts plaintext for the secret aad names: a fresh random
// AES-256-GCM data key encrypts it, and the keyring's current master key
// wraps that data key. Nonces are random. The data key is zeroed before
// Seal returns.
//
// Errors: KindInvalid for an empty or oversized plaintext or an incomplete
// aad; KindInternal if randomness fails or the current key was destroyed.
func Seal(kr *Keyring, plaintext []byte, aad AAD) (Sealed, error) {
	const op = "vault.Seal"
	if err := aad.validate(); err != nil {
		return Sealed{}, botgate.E(op, err)
	}
	s, err := seal(kr, plaintext, aad.bytes())
	if err != nil {
		return Sealed{}, botgate.E(op, err)
	}
	return s, nil
}

func seal(kr *Keyring, plaintext, aad []byte) (Sealed, error) {
	if len(plaintext) == 0 {
		return Sealed{}, botgate.Invalid("value", "a secret's value must not be empty")
	}
	if len(plaintext) > MaxPlaintext {
		return Sealed{}, botgate.Invalid("value", "a secret's value is at most %d bytes (got %d)", MaxPlaintext, len(plaintext))
	}
	mk := kr.current
	if mk.aead == nil {
		return Sealed{}, destroyedErr(mk.id)
	}
	// One read for the data key and both nonces.
	buf := make([]byte, KeySize+2*NonceSize)
	if _, err := io.ReadFull(kr.rand, buf); err != nil {
		return Sealed{}, botgate.E(botgate.KindInternal, fmt.Errorf("reading randomness: %w", err))
	}
	dek := buf[:KeySize]
	defer clear(dek)
	s := Sealed{
		Version:  Version,
		KeyID:    mk.id,
		KeyNonce: buf[KeySize : KeySize+NonceSize : KeySize+NonceSize],
		Nonce:    buf[KeySize+NonceSize:],
	}
	dataAEAD, err := newGCM(dek)
	if err != nil {
		return Sealed{}, botgate.E(botgate.KindInternal, err)
	}
	s.Ciphertext = dataAEAD.Seal(nil, s.Nonce, plaintext, dataAD(s.Version, aad))
	s.WrappedDataKey = mk.aead.Seal(nil, s.KeyNonce, dek, wrapAD(s.Version, s.KeyID, aad))
	return s, nil
}

// Open decrypts s, which must have been sealed for the same aad.
//
// Errors: KindInternal with ErrKeyNotLoaded when the master key that sealed
// s is not in the keyring (the message names the key id, so a server
// started with the wrong key says so); KindInternal with ErrCorrupt when s
// is malformed, was altered, or was sealed for another secret (the message
// names the secret). Open never returns garbage plaintext. The caller should
// zero the returned plaintext once done with it.
func Open(kr *Keyring, s Sealed, aad AAD) ([]byte, error) {
	const op = "vault.Open"
	if err := aad.validate(); err != nil {
		return nil, botgate.E(op, err)
	}
	pt, err := open(kr, s, aad.bytes(), aad.describe())
	if err != nil {
		return nil, botgate.E(op, err)
	}
	return pt, nil
}

func open(kr *Keyring, s Sealed, aad []byte, what string) ([]byte, error) {
	dek, err := unwrap(kr, s, aad, what)
	if err != nil {
		return nil, err
	}
	defer clear(dek)
	dataAEAD, err := newGCM(dek)
	if err != nil {
		return nil, botgate.E(botgate.KindInternal, err)
	}
	pt, err := dataAEAD.Open(nil, s.Nonce, s.Ciphertext, dataAD(s.Version, aad))
	if err != nil {
		return nil, corruptErr(what, "its ciphertext does not authenticate (it was altered, or copied from another secret)")
	}
	return pt, nil
}

// unwrap checks s's shape, finds its master key and returns the data key.
func unwrap(kr *Keyring, s Sealed, aad []byte, what string) ([]byte, error) {
	if err := s.check(); err != nil {
		return nil, corruptErr(what, err.Error())
	}
	mk, ok := kr.keys[s.KeyID]
	if !ok {
		return nil, &botgate.Error{
			Kind: botgate.KindInternal,
			Message: fmt.Sprintf("%s was sealed with master key %s, which is not loaded (loaded: %s)",
				what, s.KeyID, kr.loadedIDs()),
			Err: ErrKeyNotLoaded,
		}
	}
	if mk.aead == nil {
		return nil, destroyedErr(mk.id)
	}
	dek, err := mk.aead.Open(nil, s.KeyNonce, s.WrappedDataKey, wrapAD(s.Version, s.KeyID, aad))
	if err != nil {
		return nil, corruptErr(what, fmt.Sprintf("its data key does not authenticate under master key %s (it was altered, or copied from another secret)", s.KeyID))
	}
	return dek, nil
}

// Rewrap re-wraps s's data key under the keyring's current master key,
// leaving the ciphertext and its nonce as they are, so rotating the master
// key costs one small decryption and encryption per secret and never
// exposes the plaintext. A value already wrapped by the current key is
// returned unchanged (a copy) once its data key is checked. The ciphertext
// itself is not checked; Open does that.
//
// Errors: as Open for the data key (ErrKeyNotLoaded, ErrCorrupt);
// KindInternal if randomness fails.
func Rewrap(kr *Keyring, s Sealed, aad AAD) (Sealed, error) {
	const op = "vault.Rewrap"
	if err := aad.validate(); err != nil {
		return Sealed{}, botgate.E(op, err)
	}
	out, err := rewrap(kr, s, aad.bytes(), aad.describe())
	if err != nil {
		return Sealed{}, botgate.E(op, err)
	}
	return out, nil
}

func rewrap(kr *Keyring, s Sealed, aad []byte, what string) (Sealed, error) {
	// Unwrap even when s is already current, so that a wrong aad or a
	// damaged data key is reported the same way whatever key s is under.
	dek, err := unwrap(kr, s, aad, what)
	if err != nil {
		return Sealed{}, err
	}
	defer clear(dek)
	mk := kr.current
	if s.KeyID == mk.id {
		return s.Clone(), nil
	}
	if mk.aead == nil {
		return Sealed{}, destroyedErr(mk.id)
	}
	out := s.Clone()
	out.KeyID = mk.id
	out.KeyNonce = make([]byte, NonceSize)
	if _, err := io.ReadFull(kr.rand, out.KeyNonce); err != nil {
		return Sealed{}, botgate.E(botgate.KindInternal, fmt.Errorf("reading randomness: %w", err))
	}
	out.WrappedDataKey = mk.aead.Seal(nil, out.KeyNonce, dek, wrapAD(out.Version, out.KeyID, aad))
	return out, nil
}

// Rebind moves a secret to a new identity (a rename, or a transfer to
// another team): it opens s as from and seals the plaintext afresh, with a
// new data key, as to. The plaintext is zeroed before Rebind returns.
//
// Errors: as Open for from, as Seal for to.
func Rebind(kr *Keyring, s Sealed, from, to AAD) (Sealed, error) {
	const op = "vault.Rebind"
	if err := to.validate(); err != nil {
		return Sealed{}, botgate.E(op, err)
	}
	pt, err := Open(kr, s, from)
	if err != nil {
		return Sealed{}, botgate.E(op, err)
	}
	defer clear(pt)
	out, err := Seal(kr, pt, to)
	if err != nil {
		return Sealed{}, botgate.E(op, err)
	}
	return out, nil
}

// check reports why s is not a well-formed version 1 value.
func (s Sealed) check() error {
	switch {
	case s.Version != Version:
		return fmt.Errorf("unsupported format version %d (this botgate reads version %d)", s.Version, Version)
	case s.KeyID.IsZero():
		return errors.New("no master key id")
	case len(s.KeyNonce) != NonceSize:
		return fmt.Errorf("key nonce is %d bytes, not %d", len(s.KeyNonce), NonceSize)
	case len(s.WrappedDataKey) != WrappedDataKeySize:
		return fmt.Errorf("wrapped data key is %d bytes, not %d", len(s.WrappedDataKey), WrappedDataKeySize)
	case len(s.Nonce) != NonceSize:
		return fmt.Errorf("nonce is %d bytes, not %d", len(s.Nonce), NonceSize)
	case len(s.Ciphertext) <= TagSize:
		return fmt.Errorf("ciphertext is %d bytes, too short", len(s.Ciphertext))
	case len(s.Ciphertext) > MaxPlaintext+TagSize:
		return fmt.Errorf("ciphertext is %d bytes, too long", len(s.Ciphertext))
	}
	return nil
}

func corruptErr(what, detail string) error {
	return &botgate.Error{
		Kind:    botgate.KindInternal,
		Message: fmt.Sprintf("%s cannot be opened: %s", what, detail),
		Err:     ErrCorrupt,
	}
}

func destroyedErr(id KeyID) error {
	return botgate.Errorf(botgate.KindInternal, "master key %s was destroyed", id)
}
