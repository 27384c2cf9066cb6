package vault

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/botgate/botgate"
)

var testAAD = AAD{SecretID: 42, OwnerGroupID: 7, Name: "upstream-gitlab-token"}

func TestSealOpenRoundTrip(t *testing.T) {
	kr := newKeyring(t, newKey(t))
	big := make([]byte, MaxPlaintext)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		plaintext []byte
	}{
		{"one byte", []byte{0}},
		{"token", []byte("glpat-abcdefghijklmnopqrstuvwx.01.0w1yz2cbx")},
		{"binary", []byte{0, 1, 2, 0xff, 0xfe, 0}},
		{"4 KiB", bytes.Repeat([]byte("x"), 4096)},
		{"maximum", big},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Seal(kr, tc.plaintext, testAAD)
			if err != nil {
				t.Fatal(err)
			}
			if s.Version != Version || s.KeyID != kr.Current() {
				t.Errorf("Version, KeyID = %d, %s; want %d, %s", s.Version, s.KeyID, Version, kr.Current())
			}
			if bytes.Contains(s.Ciphertext, tc.plaintext) && len(tc.plaintext) > 4 {
				t.Error("ciphertext contains the plaintext")
			}
			enc, err := s.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if len(enc) != len(tc.plaintext)+Overhead {
				t.Errorf("encoded length = %d, want %d + %d", len(enc), len(tc.plaintext), Overhead)
			}
			back, err := ParseSealed(enc)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Open(kr, back, testAAD)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.plaintext) {
				t.Errorf("Open = %q, want %q", got, tc.plaintext)
			}
		})
	}
}

func TestSealIsFreshEachTime(t *testing.T) {
	kr := newKeyring(t, newKey(t))
	a, err := Seal(kr, []byte("same value"), testAAD)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Seal(kr, []byte("same value"), testAAD)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name string
		a, b []byte
	}{
		{"KeyNonce", a.KeyNonce, b.KeyNonce},
		{"WrappedDataKey", a.WrappedDataKey, b.WrappedDataKey},
		{"Nonce", a.Nonce, b.Nonce},
		{"Ciphertext", a.Ciphertext, b.Ciphertext},
	} {
		if bytes.Equal(f.a, f.b) {
			t.Errorf("%s repeats across two seals: %x", f.name, f.a)
		}
	}
}

func TestSealInvalid(t *testing.T) {
	kr := newKeyring(t, newKey(t))
	for _, tc := range []struct {
		name      string
		plaintext []byte
		aad       AAD
		field     string
	}{
		{"empty value", nil, testAAD, "value"},
		{"value too large", make([]byte, MaxPlaintext+1), testAAD, "value"},
		{"no secret id", []byte("v"), AAD{OwnerGroupID: 1, Name: "n"}, "secret_id"},
		{"negative secret id", []byte("v"), AAD{SecretID: -1, OwnerGroupID: 1, Name: "n"}, "secret_id"},
		{"no owner", []byte("v"), AAD{SecretID: 1, Name: "n"}, "owner_group_id"},
		{"no name", []byte("v"), AAD{SecretID: 1, OwnerGroupID: 1}, "name"},
		{"name not UTF-8", []byte("v"), AAD{SecretID: 1, OwnerGroupID: 1, Name: "\xff"}, "name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Seal(kr, tc.plaintext, tc.aad)
			wantErr(t, err, botgate.KindInvalid, nil)
			if got := botgate.FieldOf(err); got != tc.field {
				t.Errorf("field = %q, want %q", got, tc.field)
			}
		})
	}
}

func TestSealRandomnessFailure(t *testing.T) {
	k := newKey(t)
	kr, err := NewKeyring(failingReader{}, k)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Seal(kr, []byte("value"), testAAD)
	wantErr(t, err, botgate.KindInternal, nil)

	s, err := Seal(newKeyring(t, newKey(t), k), []byte("value"), testAAD)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Rewrap(kr, s, testAAD)
	wantErr(t, err, botgate.KindInternal, nil)
}

func TestAADBinding(t *testing.T) {
	kr := newKeyring(t, newKey(t))
	secret := []byte("hunter2-but-longer")
	s, err := Seal(kr, secret, testAAD)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		aad  AAD
	}{
		{"other secret id", AAD{SecretID: 43, OwnerGroupID: 7, Name: testAAD.Name}},
		{"other owner", AAD{SecretID: 42, OwnerGroupID: 8, Name: testAAD.Name}},
		{"other name", AAD{SecretID: 42, OwnerGroupID: 7, Name: testAAD.Name + "x"}},
		{"name differs in case", AAD{SecretID: 42, OwnerGroupID: 7, Name: strings.ToUpper(testAAD.Name)}},
		{"all swapped", AAD{SecretID: 7, OwnerGroupID: 42, Name: testAAD.Name}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Open(kr, s, tc.aad)
			wantErr(t, err, botgate.KindInternal, ErrCorrupt, fmt.Sprintf("secret %d", tc.aad.SecretID))
			if got != nil {
				t.Errorf("Open returned plaintext %q with an error", got)
			}
			if strings.Contains(err.Error(), string(secret)) {
				t.Errorf("error shows the plaintext: %v", err)
			}
			_, err = Rewrap(newKeyring(t, newKey(t), kr.current), s, tc.aad)
			wantErr(t, err, botgate.KindInternal, ErrCorrupt)
		})
	}
}

func TestAADStringIsUnambiguous(t *testing.T) {
	a := AAD{SecretID: 1, OwnerGroupID: 2, Name: "x|owner:group:3"}
	b := AAD{SecretID: 1, OwnerGroupID: 2, Name: "x"}
	if got, want := b.String(), "secret:1|owner:group:2|name:x"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if a.String() == b.String() {
		t.Errorf("two AADs share %q", a.String())
	}
}

func TestOpenWithWrongMasterKey(t *testing.T) {
	sealer := newKeyring(t, newKey(t))
	s, err := Seal(sealer, []byte("value"), testAAD)
	if err != nil {
		t.Fatal(err)
	}
	other := newKeyring(t, newKey(t), newKey(t))
	got, err := Open(other, s, testAAD)
	wantErr(t, err, botgate.KindInternal, ErrKeyNotLoaded,
		"secret 42", "sealed with master key "+sealer.Current().String(), "which is not loaded",
		other.IDs()[0].String(), other.IDs()[1].String())
	if got != nil {
		t.Errorf("Open returned plaintext %q", got)
	}
	if errors.Is(err, ErrCorrupt) {
		t.Error("a missing key is reported as corruption")
	}
}

// TestTamperEveryByte flips one bit in every byte of a stored value: each
// must be refused with a typed error, never opened and never a panic.
func TestTamperEveryByte(t *testing.T) {
	kr := newKeyring(t, newKey(t))
	s, err := Seal(kr, []byte("a secret worth protecting"), testAAD)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	region := func(i int) (string, error) {
		switch {
		case i < offKeyID:
			return "version", ErrCorrupt
		case i < offKeyNonce:
			return "key id", ErrKeyNotLoaded
		case i < offWrappedKey:
			return "key nonce", ErrCorrupt
		case i < offNonce:
			return "wrapped data key", ErrCorrupt
		case i < offCiphertext:
			return "nonce", ErrCorrupt
		case i < len(enc)-TagSize:
			return "ciphertext", ErrCorrupt
		default:
			return "tag", ErrCorrupt
		}
	}
	for i := range enc {
		name, cause := region(i)
		t.Run(fmt.Sprintf("%s byte %d", name, i), func(t *testing.T) {
			bad := bytes.Clone(enc)
			bad[i] ^= 0x01
			var err error
			if parsed, perr := ParseSealed(bad); perr != nil {
				err = perr
			} else {
				var got []byte
				got, err = Open(kr, parsed, testAAD)
				if got != nil {
					t.Fatalf("tampered value opened to %q", got)
				}
			}
			wantErr(t, err, botgate.KindInternal, cause)
		})
	}
	for _, tc := range []struct {
		name string
		mut  func(Sealed) Sealed
	}{
		{"truncated ciphertext", func(s Sealed) Sealed { s.Ciphertext = s.Ciphertext[:len(s.Ciphertext)-1]; return s }},
		{"extended ciphertext", func(s Sealed) Sealed { s.Ciphertext = append(s.Ciphertext, 0); return s }},
		{"short nonce", func(s Sealed) Sealed { s.Nonce = s.Nonce[:8]; return s }},
		{"nil key nonce", func(s Sealed) Sealed { s.KeyNonce = nil; return s }},
		{"short wrapped key", func(s Sealed) Sealed { s.WrappedDataKey = s.WrappedDataKey[:32]; return s }},
		{"version 2", func(s Sealed) Sealed { s.Version = 2; return s }},
		{"zero key id", func(s Sealed) Sealed { s.KeyID = KeyID{}; return s }},
		{"zero value", func(Sealed) Sealed { return Sealed{} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Open(kr, tc.mut(s.Clone()), testAAD)
			wantErr(t, err, botgate.KindInternal, ErrCorrupt, "secret 42")
			if got != nil {
				t.Fatalf("opened to %q", got)
			}
		})
	}
}

// TestSwapParts moves parts between two secrets sealed under the same key:
// none of the hybrids opens.
func TestSwapParts(t *testing.T) {
	kr := newKeyring(t, newKey(t))
	aadB := AAD{SecretID: 43, OwnerGroupID: 7, Name: "other"}
	a, err := Seal(kr, []byte("value of a"), testAAD)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Seal(kr, []byte("value of b"), aadB)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		mix  Sealed
	}{
		{"b's data key in a", Sealed{a.Version, a.KeyID, b.KeyNonce, b.WrappedDataKey, a.Nonce, a.Ciphertext}},
		{"b's ciphertext in a", Sealed{a.Version, a.KeyID, a.KeyNonce, a.WrappedDataKey, b.Nonce, b.Ciphertext}},
		{"a's nonces swapped", Sealed{a.Version, a.KeyID, a.Nonce, a.WrappedDataKey, a.KeyNonce, a.Ciphertext}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Open(kr, tc.mix, testAAD)
			wantErr(t, err, botgate.KindInternal, ErrCorrupt)
			if got != nil {
				t.Fatalf("opened to %q", got)
			}
		})
	}
}

func TestRewrap(t *testing.T) {
	oldKey, newKeyM := newKey(t), newKey(t)
	before := newKeyring(t, oldKey)
	plaintext := []byte("rotate me")
	s, err := Seal(before, plaintext, testAAD)
	if err != nil {
		t.Fatal(err)
	}

	during := newKeyring(t, newKeyM, oldKey)
	got, err := Open(during, s, testAAD)
	if err != nil {
		t.Fatalf("old key in the keyring does not open an old secret: %v", err)
	}
	if !bytes.Equal(got, plaintext) {
		t.Fatalf("Open = %q", got)
	}

	r, err := Rewrap(during, s, testAAD)
	if err != nil {
		t.Fatal(err)
	}
	if r.KeyID != newKeyM.ID() {
		t.Errorf("rewrapped KeyID = %s, want %s", r.KeyID, newKeyM.ID())
	}
	if !bytes.Equal(r.Ciphertext, s.Ciphertext) || !bytes.Equal(r.Nonce, s.Nonce) {
		t.Error("Rewrap changed the ciphertext or its nonce")
	}
	if bytes.Equal(r.WrappedDataKey, s.WrappedDataKey) || bytes.Equal(r.KeyNonce, s.KeyNonce) {
		t.Error("Rewrap did not re-wrap the data key")
	}

	after := newKeyring(t, newKeyM)
	got, err = Open(after, r, testAAD)
	if err != nil {
		t.Fatalf("new key alone does not open the rewrapped secret: %v", err)
	}
	if !bytes.Equal(got, plaintext) {
		t.Errorf("Open = %q, want %q", got, plaintext)
	}
	_, err = Open(after, s, testAAD)
	wantErr(t, err, botgate.KindInternal, ErrKeyNotLoaded, oldKey.ID().String())
	_, err = Open(before, r, testAAD)
	wantErr(t, err, botgate.KindInternal, ErrKeyNotLoaded, newKeyM.ID().String())

	t.Run("already current is unchanged", func(t *testing.T) {
		again, err := Rewrap(after, r, testAAD)
		if err != nil {
			t.Fatal(err)
		}
		encR, _ := r.MarshalBinary()
		encAgain, _ := again.MarshalBinary()
		if !bytes.Equal(encR, encAgain) {
			t.Error("rewrapping a current value changed it")
		}
		again.Ciphertext[0] ^= 1
		if again.Ciphertext[0] == r.Ciphertext[0] {
			t.Error("Rewrap returned a value sharing memory with its input")
		}
	})
	t.Run("already current, other secret", func(t *testing.T) {
		_, err := Rewrap(after, r, AAD{SecretID: 99, OwnerGroupID: 7, Name: testAAD.Name})
		wantErr(t, err, botgate.KindInternal, ErrCorrupt, "secret 99")
	})
	t.Run("old key missing", func(t *testing.T) {
		_, err := Rewrap(newKeyring(t, newKey(t)), s, testAAD)
		wantErr(t, err, botgate.KindInternal, ErrKeyNotLoaded, oldKey.ID().String())
	})
	t.Run("tampered wrapped key", func(t *testing.T) {
		bad := s.Clone()
		bad.WrappedDataKey[5] ^= 0x80
		_, err := Rewrap(during, bad, testAAD)
		wantErr(t, err, botgate.KindInternal, ErrCorrupt)
	})
}

func TestRebind(t *testing.T) {
	kr := newKeyring(t, newKey(t))
	s, err := Seal(kr, []byte("moving"), testAAD)
	if err != nil {
		t.Fatal(err)
	}
	to := AAD{SecretID: 42, OwnerGroupID: 9, Name: "renamed"}
	r, err := Rebind(kr, s, testAAD, to)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Open(kr, r, to); err != nil || string(got) != "moving" {
		t.Errorf("Open(new identity) = %q, %v", got, err)
	}
	_, err = Open(kr, r, testAAD)
	wantErr(t, err, botgate.KindInternal, ErrCorrupt)
	_, err = Rebind(kr, s, to, testAAD)
	wantErr(t, err, botgate.KindInternal, ErrCorrupt)
	_, err = Rebind(kr, s, testAAD, AAD{})
	wantErr(t, err, botgate.KindInvalid, nil)
}

func TestNewKeyring(t *testing.T) {
	a, b := newKey(t), newKey(t)
	destroyed := newKey(t)
	destroyed.Destroy()
	aCopy, err := NewMasterKey(a.key)
	if err != nil {
		t.Fatal(err)
	}
	// Two different keys can only share an id by forging one.
	forged := &MasterKey{id: a.id, key: b.key, aead: b.aead}

	for _, tc := range []struct {
		name    string
		current *MasterKey
		old     []*MasterKey
		wantIDs []KeyID
		field   string
	}{
		{"current only", a, nil, []KeyID{a.ID()}, ""},
		{"current and old", a, []*MasterKey{b}, []KeyID{a.ID(), b.ID()}, ""},
		{"same key twice", a, []*MasterKey{a, b}, []KeyID{a.ID(), b.ID()}, ""},
		{"nil current", nil, nil, nil, "current"},
		{"nil old", a, []*MasterKey{nil}, nil, "old"},
		{"destroyed current", destroyed, nil, nil, "current"},
		{"forged id", a, []*MasterKey{forged}, nil, "old"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kr, err := NewKeyring(rand.Reader, tc.current, tc.old...)
			if tc.field != "" {
				wantErr(t, err, botgate.KindInvalid, nil)
				if got := botgate.FieldOf(err); got != tc.field {
					t.Errorf("field = %q, want %q", got, tc.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(kr.IDs()) != fmt.Sprint(tc.wantIDs) {
				t.Errorf("IDs = %v, want %v", kr.IDs(), tc.wantIDs)
			}
			if kr.Current() != tc.current.ID() {
				t.Errorf("Current = %s", kr.Current())
			}
			for _, id := range tc.wantIDs {
				if !kr.Has(id) {
					t.Errorf("Has(%s) = false", id)
				}
			}
		})
	}
	t.Run("copy of a held key", func(t *testing.T) {
		kr, err := NewKeyring(rand.Reader, a, aCopy)
		if err != nil {
			t.Fatal(err)
		}
		if len(kr.IDs()) != 1 {
			t.Errorf("IDs = %v, want one", kr.IDs())
		}
	})
	t.Run("nil rand", func(t *testing.T) {
		_, err := NewKeyring(nil, a)
		wantErr(t, err, botgate.KindInvalid, nil)
	})
}

func TestConcurrentSealOpen(t *testing.T) {
	kr := newKeyring(t, newKey(t), newKey(t))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				aad := AAD{SecretID: int64(g*1000 + i + 1), OwnerGroupID: 1, Name: "n"}
				want := fmt.Appendf(nil, "value %d/%d", g, i)
				s, err := Seal(kr, want, aad)
				if err != nil {
					errs <- err
					return
				}
				got, err := Open(kr, s, aad)
				if err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(got, want) {
					errs <- fmt.Errorf("Open = %q, want %q", got, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
