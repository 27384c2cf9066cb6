package vault

import (
	"fmt"

	"github.com/botgate/botgate"
)

// The binary encoding of a version 1 Sealed, for a BLOB/bytea column:
//
//	offset  size  field
//	0       1     version (1)
//	1       8     master key id
//	9       12    key nonce
//	21      48    wrapped data key (32-byte key + 16-byte tag)
//	69      12    nonce
//	81      n+16  ciphertext and tag, to the end
//
// Every field but the ciphertext has a fixed size, so there are no length
// fields to get wrong, and the encoding of a value is unique.
const (
	offKeyID      = 1
	offKeyNonce   = offKeyID + len(KeyID{})
	offWrappedKey = offKeyNonce + NonceSize
	offNonce      = offWrappedKey + WrappedDataKeySize
	offCiphertext = offNonce + NonceSize
)

// MarshalBinary encodes s for storage. It returns a KindInternal error
// wrapping ErrCorrupt for a value that is not well formed.
func (s Sealed) MarshalBinary() ([]byte, error) {
	if err := s.check(); err != nil {
		return nil, corruptErr("sealed value", err.Error())
	}
	b := make([]byte, 0, offCiphertext+len(s.Ciphertext))
	b = append(b, s.Version)
	b = append(b, s.KeyID[:]...)
	b = append(b, s.KeyNonce...)
	b = append(b, s.WrappedDataKey...)
	b = append(b, s.Nonce...)
	b = append(b, s.Ciphertext...)
	return b, nil
}

// UnmarshalBinary decodes b, as MarshalBinary wrote it, into s. It copies b,
// so the caller may reuse it. It returns a KindInternal error wrapping
// ErrCorrupt for input that is not a well-formed encoding; it checks the
// shape only, Open checks authenticity.
func (s *Sealed) UnmarshalBinary(b []byte) error {
	if len(b) == 0 {
		return corruptErr("sealed value", "it is empty")
	}
	if b[0] != Version {
		return corruptErr("sealed value", fmt.Sprintf("unsupported format version %d (this botgate reads version %d)", b[0], Version))
	}
	if len(b) <= offCiphertext+TagSize {
		return corruptErr("sealed value", fmt.Sprintf("it is %d bytes, too short", len(b)))
	}
	b = append([]byte(nil), b...)
	out := Sealed{
		Version:        b[0],
		KeyNonce:       b[offKeyNonce:offWrappedKey:offWrappedKey],
		WrappedDataKey: b[offWrappedKey:offNonce:offNonce],
		Nonce:          b[offNonce:offCiphertext:offCiphertext],
		Ciphertext:     b[offCiphertext:],
	}
	copy(out.KeyID[:], b[offKeyID:offKeyNonce])
	if err := out.check(); err != nil {
		return corruptErr("sealed value", err.Error())
	}
	*s = out
	return nil
}

// ParseSealed decodes the storage encoding; see Sealed.UnmarshalBinary.
func ParseSealed(b []byte) (Sealed, error) {
	var s Sealed
	if err := s.UnmarshalBinary(b); err != nil {
		return Sealed{}, botgate.E("vault.ParseSealed", err)
	}
	return s, nil
}
