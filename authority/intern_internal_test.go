package authority

import (
	"runtime"
	"testing"
	"time"

	"github.com/botgate/botgate"
)

func TestUserInternSharesEqualRowsOnly(t *testing.T) {
	in := newUserIntern()
	now := time.Now().UTC()
	row := func() *botgate.User {
		return &botgate.User{ID: 7, Username: "ci-bot", Name: "CI", Kind: botgate.ServiceAccount, State: botgate.UserActive, CreatedAt: now}
	}
	first := in.get(row())
	if got := in.get(row()); got != first {
		t.Fatal("an equal row was not shared")
	}
	blocked := row()
	blocked.State = botgate.UserBlocked
	if got := in.get(blocked); got == first || got.State != botgate.UserBlocked {
		t.Fatalf("a changed row was answered with the kept one: %+v", got)
	}
	other := row()
	other.ID = 8
	if got := in.get(other); got != other {
		t.Fatal("another user's row was not kept as loaded")
	}
	runtime.KeepAlive(first)
}

func TestUserInternForgetsCollectedRows(t *testing.T) {
	in := newUserIntern()
	for i := range int64(100) {
		in.get(&botgate.User{ID: i, Username: "u"})
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		in.mu.Lock()
		n := len(in.m)
		in.mu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d entries left after their rows were collected", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
