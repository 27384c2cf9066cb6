package vault

import (
	"bytes"
	"errors"
	"testing"

	"github.com/botgate/botgate"
)

func TestCanary(t *testing.T) {
	initKey := newKey(t)
	canary, err := NewCanary(newKeyring(t, initKey))
	if err != nil {
		t.Fatal(err)
	}
	enc, err := canary.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	stored, err := ParseSealed(enc)
	if err != nil {
		t.Fatal(err)
	}
	rotated := newKey(t)
	for _, tc := range []struct {
		name   string
		kr     *Keyring
		canary Sealed
		cause  error // nil: VerifyMasterKey must succeed
		msg    []string
	}{
		{"right key", newKeyring(t, initKey), stored, nil, nil},
		{"right key as an old key", newKeyring(t, rotated, initKey), stored, nil, nil},
		{"wrong key", newKeyring(t, rotated), stored, ErrKeyNotLoaded,
			[]string{"wrong master key", initKey.ID().String(), rotated.ID().String(), EnvMasterKey}},
		{"altered canary", newKeyring(t, initKey), flip(stored, func(s *Sealed) { s.Ciphertext[0] ^= 1 }), ErrCorrupt,
			[]string{"does not open", initKey.ID().String()}},
		{"secret row posing as canary", newKeyring(t, initKey), sealedSecret(t, initKey), ErrCorrupt, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyMasterKey(tc.kr, tc.canary)
			if tc.cause == nil {
				if err != nil {
					t.Fatalf("VerifyMasterKey: %v", err)
				}
				return
			}
			wantErr(t, err, botgate.KindInternal, tc.cause, tc.msg...)
		})
	}
}

// TestCanaryRejectsOtherValue seals a different value under the canary's
// AAD, as someone with the key but not the code might: it must not pass.
func TestCanaryRejectsOtherValue(t *testing.T) {
	kr := newKeyring(t, newKey(t))
	s, err := seal(kr, []byte("not the canary"), canaryAAD)
	if err != nil {
		t.Fatal(err)
	}
	err = VerifyMasterKey(kr, s)
	wantErr(t, err, botgate.KindInternal, ErrCorrupt, "unexpected value")
}

func TestRewrapCanary(t *testing.T) {
	oldKey, newKeyM := newKey(t), newKey(t)
	canary, err := NewCanary(newKeyring(t, oldKey))
	if err != nil {
		t.Fatal(err)
	}
	r, err := RewrapCanary(newKeyring(t, newKeyM, oldKey), canary)
	if err != nil {
		t.Fatal(err)
	}
	if r.KeyID != newKeyM.ID() || !bytes.Equal(r.Ciphertext, canary.Ciphertext) {
		t.Errorf("rewrapped canary: KeyID %s (want %s), ciphertext kept %v", r.KeyID, newKeyM.ID(), bytes.Equal(r.Ciphertext, canary.Ciphertext))
	}
	if err := VerifyMasterKey(newKeyring(t, newKeyM), r); err != nil {
		t.Errorf("new key alone: %v", err)
	}
	err = VerifyMasterKey(newKeyring(t, oldKey), r)
	wantErr(t, err, botgate.KindInternal, ErrKeyNotLoaded, newKeyM.ID().String())

	_, err = RewrapCanary(newKeyring(t, newKey(t)), canary)
	if !errors.Is(err, ErrKeyNotLoaded) {
		t.Errorf("RewrapCanary without the old key: %v, want ErrKeyNotLoaded", err)
	}
}

func flip(s Sealed, f func(*Sealed)) Sealed {
	s = s.Clone()
	f(&s)
	return s
}

func sealedSecret(t *testing.T, k *MasterKey) Sealed {
	t.Helper()
	s, err := Seal(newKeyring(t, k), []byte(canaryPlaintext), testAAD)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
