package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"strings"

	"github.com/botgate/botgate"
)

// KeySize is the size of a master key and of a data key: 32 bytes, for
// AES-256.
const KeySize = 32

// EnvMasterKey is the environment variable that may carry the master key,
// base64-encoded. When set it takes precedence over the key file.
const EnvMasterKey = "BOTGATE_MASTER_KEY"

// maxKeyFileSize bounds how much of a key file is read. A valid file holds
// 44 base64 characters and a newline.
const maxKeyFileSize = 4096

// KeyID names a master key without revealing it: the first 8 bytes of the
// SHA-256 of the raw 32-byte key. Every sealed secret records the KeyID of
// the master key that wrapped its data key. An operator can compute it with
//
//	base64 -d < master.key | sha256sum | cut -c1-16
type KeyID [8]byte

// String returns the KeyID as 16 lowercase hex digits.
func (id KeyID) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports whether id is the zero KeyID, which names no key.
func (id KeyID) IsZero() bool { return id == KeyID{} }

// MarshalText encodes id as 16 hex digits, so a KeyID stores and prints as
// text (a database column, JSON).
func (id KeyID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText parses 16 hex digits.
func (id *KeyID) UnmarshalText(b []byte) error {
	parsed, err := ParseKeyID(string(b))
	if err != nil {
		return err
	}
	*id = parsed
	return nil
}

// ParseKeyID parses the 16 hex digits of a KeyID. It returns a KindInvalid
// error for anything else.
func ParseKeyID(s string) (KeyID, error) {
	var id KeyID
	if len(s) != 2*len(id) {
		return KeyID{}, botgate.Invalid("key_id", "a master key id is 16 hex digits")
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return KeyID{}, botgate.Invalid("key_id", "a master key id is 16 hex digits")
	}
	return id, nil
}

func keyIDOf(key []byte) KeyID {
	sum := sha256.Sum256(key)
	var id KeyID
	copy(id[:], sum[:len(id)])
	return id
}

// MasterKey is a 32-byte AES-256 key that wraps data keys. It never leaves
// the process: it is read from a file or the environment and is never
// stored in the database, logged, or included in an error.
//
// A MasterKey is safe for concurrent use, except Destroy, which must be
// called only once nothing else uses the key.
type MasterKey struct {
	id   KeyID
	key  []byte      // the raw key; zeroed by Destroy
	aead cipher.AEAD // AES-256-GCM under key; nil after Destroy
}

// NewMasterKey returns a MasterKey holding a copy of raw, which must be
// exactly KeySize bytes. The caller may zero raw afterwards.
func NewMasterKey(raw []byte) (*MasterKey, error) {
	const op = "vault.NewMasterKey"
	if len(raw) != KeySize {
		return nil, botgate.E(op, botgate.Invalid("master_key", "a master key is %d bytes, not %d", KeySize, len(raw)))
	}
	key := make([]byte, KeySize)
	copy(key, raw)
	aead, err := newGCM(key)
	if err != nil {
		clear(key)
		return nil, botgate.E(op, botgate.KindInternal, err)
	}
	return &MasterKey{id: keyIDOf(key), key: key, aead: aead}, nil
}

// ID returns the key's KeyID.
func (k *MasterKey) ID() KeyID { return k.id }

// String names the key by its id only, so that printing a MasterKey by
// mistake shows no key material.
func (k MasterKey) String() string { return "master key " + k.id.String() }

// GoString is as String, so that %#v shows no key material either.
func (k MasterKey) GoString() string { return k.String() }

// Destroy zeroes the raw key bytes and drops the cipher, so the key can no
// longer be used. The AES key schedule inside crypto/aes cannot be cleared
// from Go; it is released to the garbage collector. Destroy must not run
// concurrently with any other use of the key.
func (k *MasterKey) Destroy() {
	if k == nil {
		return
	}
	clear(k.key)
	k.key = nil
	k.aead = nil
}

// equal reports, in constant time, whether k and o hold the same key.
func (k *MasterKey) equal(o *MasterKey) bool {
	return subtle.ConstantTimeCompare(k.key, o.key) == 1
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// ParseMasterKey decodes a base64-encoded master key, such as the value of
// BOTGATE_MASTER_KEY. Surrounding white space is ignored. The value never
// appears in the error. Go strings cannot be zeroed, so prefer a key file
// where that matters.
func ParseMasterKey(encoded string) (*MasterKey, error) {
	text := []byte(strings.TrimSpace(encoded))
	defer clear(text)
	k, err := decodeKey(text)
	if err != nil {
		return nil, botgate.E("vault.ParseMasterKey", fmt.Errorf("%s: %w", EnvMasterKey, err))
	}
	return k, nil
}

// decodeKey decodes standard base64 (padded or not) into a MasterKey,
// zeroing its intermediate buffer.
func decodeKey(text []byte) (*MasterKey, error) {
	enc := base64.StdEncoding
	if len(text)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	buf := make([]byte, enc.DecodedLen(len(text)))
	defer clear(buf)
	n, err := enc.Decode(buf, text)
	if err != nil {
		// The base64 error names an offset, never the content.
		return nil, botgate.Invalid("master_key", "a master key is %d random bytes encoded as base64; this value is not valid base64", KeySize)
	}
	if n != KeySize {
		return nil, botgate.Invalid("master_key", "a master key is %d random bytes encoded as base64; this value decodes to %d bytes", KeySize, n)
	}
	return NewMasterKey(buf[:n])
}

// LoadMasterKey reads a master key file: KeySize random bytes in base64,
// optionally followed by a newline, as GenerateMasterKeyFile writes it.
//
// It refuses (KindInvalid) a file that group or others may read or write,
// a file that is not a regular file, and content that is not a valid key;
// a missing file is KindNotFound. Errors name the path, never the content.
func LoadMasterKey(path string) (*MasterKey, error) {
	const op = "vault.LoadMasterKey"
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, botgate.E(op, botgate.KindNotFound, &botgate.Error{
				Kind:    botgate.KindNotFound,
				Message: fmt.Sprintf("master key file %s does not exist; `botgate init` creates one", path),
				Err:     err,
			})
		}
		return nil, botgate.E(op, botgate.KindInternal, err)
	}
	defer f.Close()
	// Check the mode of the file actually opened, not of whatever the path
	// names a moment later.
	info, err := f.Stat()
	if err != nil {
		return nil, botgate.E(op, botgate.KindInternal, err)
	}
	if !info.Mode().IsRegular() {
		return nil, botgate.E(op, botgate.Invalid("master_key_file", "master key file %s is not a regular file", path))
	}
	if err := checkKeyFileMode(path, info.Mode()); err != nil {
		return nil, botgate.E(op, err)
	}
	buf := make([]byte, maxKeyFileSize+1)
	defer clear(buf)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, botgate.E(op, botgate.KindInternal, err)
	}
	if n > maxKeyFileSize {
		return nil, botgate.E(op, botgate.Invalid("master_key_file", "master key file %s is too large to be a master key", path))
	}
	k, err := decodeKey(trimSpace(buf[:n]))
	if err != nil {
		return nil, botgate.E(op, fmt.Errorf("master key file %s: %w", path, err))
	}
	return k, nil
}

// checkKeyFileMode refuses a key file that anyone but its owner may access.
// Windows has no such mode bits, so there the check is skipped.
func checkKeyFileMode(path string, mode fs.FileMode) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	if perm := mode.Perm(); perm&0o077 != 0 {
		return botgate.Invalid("master_key_file",
			"master key file %s has mode %04o, so group or others may read it; run `chmod 600 %s` (and check who else has seen it)",
			path, perm, path)
	}
	return nil
}

// trimSpace is bytes.TrimSpace for ASCII white space, without allocating.
func trimSpace(b []byte) []byte {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// LoadMasterKeyEnvOrFile returns the master key from the environment
// variable BOTGATE_MASTER_KEY when getenv reports it set and non-empty, and
// otherwise from the key file at path. This is the one place that rule
// lives, so the server and the CLI agree on it.
func LoadMasterKeyEnvOrFile(getenv func(string) string, path string) (*MasterKey, error) {
	if v := getenv(EnvMasterKey); v != "" {
		return ParseMasterKey(v)
	}
	return LoadMasterKey(path)
}

// GenerateMasterKeyFile creates a new master key from rand and writes it to
// path as base64 text with a trailing newline, mode 0600. It never
// overwrites: if path exists it returns a KindConflict error and leaves the
// file as it was. On any failure after creating the file it removes it.
// The returned key is ready for use.
func GenerateMasterKeyFile(path string, rand io.Reader) (*MasterKey, error) {
	const op = "vault.GenerateMasterKeyFile"
	raw := make([]byte, KeySize)
	defer clear(raw)
	if _, err := io.ReadFull(rand, raw); err != nil {
		return nil, botgate.E(op, botgate.KindInternal, fmt.Errorf("reading randomness: %w", err))
	}
	key, err := NewMasterKey(raw)
	if err != nil {
		return nil, botgate.E(op, err)
	}
	text := make([]byte, base64.StdEncoding.EncodedLen(KeySize)+1)
	defer clear(text)
	base64.StdEncoding.Encode(text, raw)
	text[len(text)-1] = '\n'

	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		key.Destroy()
		if errors.Is(err, fs.ErrExist) {
			return nil, botgate.E(op, &botgate.Error{
				Kind:    botgate.KindConflict,
				Message: fmt.Sprintf("master key file %s already exists; botgate never overwrites a master key", path),
				Err:     err,
			})
		}
		return nil, botgate.E(op, botgate.KindInternal, err)
	}
	fail := func(err error) (*MasterKey, error) {
		f.Close()
		os.Remove(path)
		key.Destroy()
		return nil, botgate.E(op, botgate.KindInternal, err)
	}
	if _, err := f.Write(text); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		key.Destroy()
		return nil, botgate.E(op, botgate.KindInternal, err)
	}
	return key, nil
}
