package vault

import (
	"bytes"
	"errors"
	mrand "math/rand/v2"
	"testing"

	"github.com/botgate/botgate"
)

// FuzzParseSealed feeds arbitrary bytes to the storage decoder and, when
// they decode, to Open. Neither may panic; a decoded value re-encodes to
// the same bytes; and only the exact bytes Seal produced may open.
func FuzzParseSealed(f *testing.F) {
	k, err := NewMasterKey(bytes.Repeat([]byte{0x11}, KeySize))
	if err != nil {
		f.Fatal(err)
	}
	// A fixed random stream: every fuzz worker process runs this setup and
	// must produce the same valid encoding as the one that seeded the corpus.
	kr, err := NewKeyring(mrand.NewChaCha8([32]byte{1}), k)
	if err != nil {
		f.Fatal(err)
	}
	plaintext := []byte("fuzzed secret")
	s, err := Seal(kr, plaintext, testAAD)
	if err != nil {
		f.Fatal(err)
	}
	valid, err := s.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(valid[:Overhead])
	f.Add([]byte{})
	f.Add([]byte{Version})
	f.Add(append([]byte{2}, valid[1:]...))
	f.Add(append(bytes.Clone(valid), make([]byte, MaxPlaintext)...))

	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		got, err := ParseSealed(b)
		if !bytes.Equal(in, b) {
			t.Fatal("ParseSealed modified its input")
		}
		if err != nil {
			if !errors.Is(err, ErrCorrupt) || botgate.KindOf(err) != botgate.KindInternal {
				t.Fatalf("decode error %v is not a KindInternal ErrCorrupt", err)
			}
			return
		}
		re, err := got.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded value does not encode: %v", err)
		}
		if !bytes.Equal(re, b) {
			t.Fatalf("re-encoding differs:\n in  %x\n out %x", b, re)
		}
		pt, err := Open(kr, got, testAAD)
		if err == nil {
			if !bytes.Equal(b, valid) || !bytes.Equal(pt, plaintext) {
				t.Fatalf("forged value opened to %q", pt)
			}
			return
		}
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrKeyNotLoaded) {
			t.Fatalf("Open error %v is neither ErrCorrupt nor ErrKeyNotLoaded", err)
		}
	})
}
