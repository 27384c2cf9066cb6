package vault

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/botgate/botgate"
)

// newKey returns a fresh random master key, destroyed when the test ends.
func newKey(t testing.TB) *MasterKey {
	t.Helper()
	raw := make([]byte, KeySize)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	k, err := NewMasterKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newKeyring returns a keyring over crypto/rand with current and old.
func newKeyring(t testing.TB, current *MasterKey, old ...*MasterKey) *Keyring {
	t.Helper()
	kr, err := NewKeyring(rand.Reader, current, old...)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// wantErr checks err's kind, that it wraps cause (when not nil), and that
// its message contains every string in contains.
func wantErr(t *testing.T, err error, kind botgate.Kind, cause error, contains ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want a %v error", kind)
	}
	if got := botgate.KindOf(err); got != kind {
		t.Errorf("KindOf(%v) = %v, want %v", err, got, kind)
	}
	if cause != nil && !errors.Is(err, cause) {
		t.Errorf("errors.Is(%v, %v) = false", err, cause)
	}
	msg := botgate.MessageOf(err)
	for _, c := range contains {
		if !strings.Contains(msg, c) {
			t.Errorf("message %q does not contain %q", msg, c)
		}
	}
}

// failingReader fails every read.
type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("entropy source broken") }
