package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"testing"
)

// The benchmarks compare the envelope (two GCM operations and a fresh data
// key per secret) with one bare AES-256-GCM seal under a fixed key, so the
// cost of the envelope reads as a ratio.

var benchSizes = []int{64, 4096}

func BenchmarkSeal(b *testing.B) {
	kr := newKeyring(b, newKey(b))
	for _, n := range benchSizes {
		pt := make([]byte, n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				if _, err := Seal(kr, pt, testAAD); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	kr := newKeyring(b, newKey(b))
	for _, n := range benchSizes {
		s, err := Seal(kr, make([]byte, n), testAAD)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				if _, err := Open(kr, s, testAAD); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRewrap(b *testing.B) {
	oldKey := newKey(b)
	s, err := Seal(newKeyring(b, oldKey), make([]byte, 64), testAAD)
	if err != nil {
		b.Fatal(err)
	}
	kr := newKeyring(b, newKey(b), oldKey)
	for b.Loop() {
		if _, err := Rewrap(kr, s, testAAD); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBareGCMSeal is the baseline: one AES-256-GCM seal under a key
// whose cipher is already set up, with a random nonce.
func BenchmarkBareGCMSeal(b *testing.B) {
	key := make([]byte, KeySize)
	rand.Read(key)
	block, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCM(block)
	for _, n := range benchSizes {
		pt := make([]byte, n)
		nonce := make([]byte, NonceSize)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				if _, err := rand.Read(nonce); err != nil {
					b.Fatal(err)
				}
				aead.Seal(nil, nonce, pt, testAAD.bytes())
			}
		})
	}
}
