package authority_test

import (
	"testing"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
)

// TestDerivedKeptWithIdentity checks that a value derived from an identity
// is made once and kept with that identity alone, and that a value of
// another type is not mistaken for it.
func TestDerivedKeptWithIdentity(t *testing.T) {
	type info struct{ name string }
	type other struct{ n int }
	made := 0
	mk := func(id *authority.Identity) *info { made++; return &info{name: id.User.Username} }
	a := &authority.Identity{User: &botgate.User{Username: "a"}, Token: &botgate.Token{ID: 1}}
	b := &authority.Identity{User: &botgate.User{Username: "b"}, Token: &botgate.Token{ID: 2}}

	first := authority.Derived(a, mk)
	if again := authority.Derived(a, mk); again != first || made != 1 {
		t.Fatalf("second call: got %p (made %d times), want %p made once", again, made, first)
	}
	if got := authority.Derived(b, mk); got == first || got.name != "b" || made != 2 {
		t.Fatalf("another identity: got %+v (made %d times), want its own value", got, made)
	}
	o1 := authority.Derived(a, func(*authority.Identity) *other { return &other{n: 1} })
	o2 := authority.Derived(a, func(*authority.Identity) *other { return &other{n: 2} })
	if o1.n != 1 || o2.n != 2 {
		t.Fatalf("a type other than the one kept: got %d and %d, want each made afresh", o1.n, o2.n)
	}
	if got := authority.Derived(a, mk); got != first {
		t.Fatalf("after another type was asked for: got %p, want the kept %p", got, first)
	}
}
