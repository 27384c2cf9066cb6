package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/botgate/botgate"
)

func testSettings(t *testing.T, s botgate.Store) {
	ctx := t.Context()
	view(t, s, func(tx botgate.Tx) error {
		_, err := tx.Setting(ctx, "instance.name")
		wantKind(t, "Setting(missing)", err, botgate.KindNotFound)
		return nil
	})
	steps := []struct {
		name, key, value string
	}{
		{"put", "instance.name", "botgate test"},
		{"replace", "instance.name", "renamed"},
		{"empty value", "policy.max_days", ""},
		{"multi-line value", "banner", "line 1\nline 2 ✓"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			update(t, s, func(tx botgate.Tx) error { return tx.PutSetting(ctx, st.key, st.value) })
			view(t, s, func(tx botgate.Tx) error {
				got, err := tx.Setting(ctx, st.key)
				if err != nil {
					t.Fatal(err)
				}
				if got != st.value {
					t.Errorf("Setting(%q): got %q, want %q", st.key, got, st.value)
				}
				return nil
			})
		})
	}
}

func testTransactions(t *testing.T, open func(t *testing.T) botgate.Store) {
	t.Run("RollbackOnError", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		sentinel := errors.New("fn gives up")
		var u *botgate.User
		err := s.Update(ctx, func(tx botgate.Tx) error {
			u = mustCreateUser(ctx, t, tx, newUser("ghost", botgate.HumanUser))
			g := mustCreateGroup(ctx, t, tx, nil, "ghost-group")
			mustCreateProject(ctx, t, tx, g, "ghost-project")
			mustCreateToken(ctx, t, tx, newToken(u, "ghost-token"))
			if err := tx.PutSetting(ctx, "ghost", "1"); err != nil {
				return err
			}
			if err := appendEvent(ctx, tx, &botgate.AuditEvent{Time: base, Action: botgate.ActionUserCreate}); err != nil {
				return err
			}
			return sentinel
		})
		if err != sentinel {
			t.Fatalf("Update returned %v, want fn's error unchanged", err)
		}
		wantEmpty(t, s)
	})

	t.Run("RollbackAfterFailedWrite", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		update(t, s, func(tx botgate.Tx) error {
			mustCreateUser(ctx, t, tx, newUser("first", botgate.HumanUser))
			return nil
		})
		var clash error
		err := s.Update(ctx, func(tx botgate.Tx) error {
			mustCreateUser(ctx, t, tx, newUser("second", botgate.HumanUser))
			clash = tx.CreateUser(ctx, newUser("first", botgate.HumanUser))
			return clash
		})
		wantKind(t, "CreateUser(taken)", clash, botgate.KindConflict)
		if err != clash {
			t.Errorf("Update returned %v, want fn's error %v unchanged", err, clash)
		}
		view(t, s, func(tx botgate.Tx) error {
			_, err := tx.UserByUsername(ctx, "second")
			wantKind(t, "user created before the failed write", err, botgate.KindNotFound)
			_, total, err := tx.FindUsers(ctx, botgate.UserFilter{})
			wantTotal(t, "users", total, 1)
			return err
		})
	})

	t.Run("RollbackOnPanic", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		func() {
			defer func() {
				if recover() == nil {
					t.Error("the panic in fn did not reach the caller")
				}
			}()
			s.Update(ctx, func(tx botgate.Tx) error {
				mustCreateUser(ctx, t, tx, newUser("panicky", botgate.HumanUser))
				panic("fn panics")
			})
		}()
		wantEmpty(t, s)
		// The store still works.
		update(t, s, func(tx botgate.Tx) error {
			mustCreateUser(ctx, t, tx, newUser("calm", botgate.HumanUser))
			return nil
		})
	})

	t.Run("ViewSeesCommitted", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		var u *botgate.User
		update(t, s, func(tx botgate.Tx) error {
			u = mustCreateUser(ctx, t, tx, newUser("committed", botgate.HumanUser))
			return nil
		})
		view(t, s, func(tx botgate.Tx) error {
			got, err := tx.User(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			same(t, "committed user", got, u, normUser)
			return nil
		})
		sentinel := errors.New("view gives up")
		if err := s.View(ctx, func(botgate.Tx) error { return sentinel }); err != sentinel {
			t.Errorf("View returned %v, want fn's error unchanged", err)
		}
	})

	t.Run("UpdateSeesOwnWrites", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		update(t, s, func(tx botgate.Tx) error {
			u := mustCreateUser(ctx, t, tx, newUser("mine", botgate.HumanUser))
			got, err := tx.UserByUsername(ctx, "MINE")
			if err != nil {
				return err
			}
			same(t, "own write", got, u, normUser)
			return nil
		})
	})

	t.Run("ViewIsOneSnapshot", func(t *testing.T) {
		s := open(t)
		testViewSnapshot(t, s, s)
	})
}

// wantEmpty fails the test unless the store holds nothing at all.
func wantEmpty(t *testing.T, s botgate.Store) {
	t.Helper()
	ctx := t.Context()
	view(t, s, func(tx botgate.Tx) error {
		counts := map[string]func() (int, error){
			"users":    func() (int, error) { _, n, err := tx.FindUsers(ctx, botgate.UserFilter{}); return n, err },
			"groups":   func() (int, error) { _, n, err := tx.FindGroups(ctx, botgate.GroupFilter{}); return n, err },
			"projects": func() (int, error) { _, n, err := tx.FindProjects(ctx, botgate.ProjectFilter{}); return n, err },
			"members":  func() (int, error) { _, n, err := tx.FindMembers(ctx, botgate.MemberFilter{}); return n, err },
			"tokens":   func() (int, error) { _, n, err := tx.FindTokens(ctx, botgate.TokenFilter{}); return n, err },
			"audit events": func() (int, error) {
				e, err := tx.FindAudit(ctx, botgate.AuditFilter{})
				return len(e), err
			},
		}
		for what, count := range counts {
			n, err := count()
			if err != nil {
				t.Fatalf("counting %s: %v", what, err)
			}
			if n != 0 {
				t.Errorf("%d %s left behind by a rolled-back Update", n, what)
			}
		}
		_, err := tx.Setting(ctx, "ghost")
		wantKind(t, "setting left behind", err, botgate.KindNotFound)
		return nil
	})
}

// testVisibleAcross checks that a commit through one store is seen through
// the other.
func testVisibleAcross(t *testing.T, a, b botgate.Store) {
	ctx := t.Context()
	var u *botgate.User
	var tk *botgate.Token
	update(t, a, func(tx botgate.Tx) error {
		u = mustCreateUser(ctx, t, tx, newUser("shared", botgate.HumanUser))
		tk = mustCreateToken(ctx, t, tx, newToken(u, "shared-token"))
		return tx.PutSetting(ctx, "shared", "yes")
	})
	view(t, b, func(tx botgate.Tx) error {
		got, err := tx.TokenByDigest(ctx, tk.Digest)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "token seen by the other store", got, tk, normToken)
		v, err := tx.Setting(ctx, "shared")
		if err != nil || v != "yes" {
			t.Errorf("setting seen by the other store: %q, %v", v, err)
		}
		return nil
	})
	update(t, b, func(tx botgate.Tx) error { return tx.RevokeToken(ctx, tk.ID, at(time.Hour)) })
	err := a.Update(ctx, func(tx botgate.Tx) error { return tx.RevokeToken(ctx, tk.ID, at(2*time.Hour)) })
	wantKind(t, "revoking through the other store again", err, botgate.KindConflict)
}

// workers is how many goroutines race per store.
const workers = 8

// race runs fn in workers goroutines per store, all released at once, and
// returns their errors.
func race(stores []botgate.Store, fn func(s botgate.Store, i int) error) []error {
	n := workers * len(stores)
	errs := make([]error, n)
	var start, wg sync.WaitGroup
	start.Add(1)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start.Wait()
			errs[i] = fn(stores[i%len(stores)], i)
		}()
	}
	start.Done()
	wg.Wait()
	return errs
}

// wantOneWinner fails the test unless exactly one error is nil and the
// rest are KindConflict.
func wantOneWinner(t *testing.T, what string, errs []error) {
	t.Helper()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
			continue
		}
		wantKind(t, what+" (loser)", err, botgate.KindConflict)
	}
	if wins != 1 {
		t.Errorf("%s: %d of %d racers won, want exactly 1", what, wins, len(errs))
	}
}

func testRevokeRace(t *testing.T, stores []botgate.Store) {
	ctx := t.Context()
	var tk *botgate.Token
	update(t, stores[0], func(tx botgate.Tx) error {
		u := mustCreateUser(ctx, t, tx, newUser("target", botgate.HumanUser))
		tk = mustCreateToken(ctx, t, tx, newToken(u, "contested"))
		return nil
	})
	errs := race(stores, func(s botgate.Store, i int) error {
		return s.Update(ctx, func(tx botgate.Tx) error {
			// Read first, as a revoke handler does, so that a backend that
			// checks and then writes is caught.
			cur, err := tx.Token(ctx, tk.ID)
			if err != nil {
				return err
			}
			if cur.ID != tk.ID {
				return fmt.Errorf("read token %d, want %d", cur.ID, tk.ID)
			}
			return tx.RevokeToken(ctx, tk.ID, at(time.Duration(i)*time.Second))
		})
	})
	wantOneWinner(t, "RevokeToken race", errs)
	view(t, stores[len(stores)-1], func(tx botgate.Tx) error {
		got, err := tx.Token(ctx, tk.ID)
		if err != nil {
			return err
		}
		if !got.Revoked || got.RevokedAt == nil {
			t.Errorf("token after the race: revoked %v at %v", got.Revoked, got.RevokedAt)
		}
		return nil
	})
}

func testUsernameRace(t *testing.T, stores []botgate.Store) {
	ctx := t.Context()
	errs := race(stores, func(s botgate.Store, i int) error {
		return s.Update(ctx, func(tx botgate.Tx) error {
			u := newUser("contested", botgate.HumanUser)
			u.Email = fmt.Sprintf("racer%d@example.com", i)
			return tx.CreateUser(ctx, u)
		})
	})
	wantOneWinner(t, "CreateUser race", errs)
	view(t, stores[0], func(tx botgate.Tx) error {
		_, n, err := tx.FindUsers(ctx, botgate.UserFilter{})
		wantTotal(t, "users after the race", n, 1)
		return err
	})
}

func testAuditRace(t *testing.T, stores []botgate.Store) {
	ctx := t.Context()
	const perWorker = 5
	errs := race(stores, func(s botgate.Store, i int) error {
		for j := range perWorker {
			err := s.Update(ctx, func(tx botgate.Tx) error {
				return appendEvent(ctx, tx, &botgate.AuditEvent{
					Time: at(time.Duration(i*perWorker+j) * time.Millisecond), ActorID: int64(i + 1), Action: botgate.ActionTokenCreate,
					Details: map[string]string{"worker": fmt.Sprint(i), "n": fmt.Sprint(j)},
				})
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("appender %d: %v", i, err)
		}
	}
	events := wantChain(t, stores[0], len(errs)*perWorker)
	seen := map[string]bool{}
	for _, e := range events {
		k := e.Details["worker"] + "/" + e.Details["n"]
		if seen[k] {
			t.Errorf("event %s appended twice", k)
		}
		seen[k] = true
	}
}

// testViewSnapshot checks that a View through r does not see a commit made
// through w while it runs.
func testViewSnapshot(t *testing.T, r, w botgate.Store) {
	ctx := t.Context()
	update(t, w, func(tx botgate.Tx) error {
		mustCreateUser(ctx, t, tx, newUser("before", botgate.HumanUser))
		return nil
	})
	view(t, r, func(tx botgate.Tx) error {
		_, n1, err := tx.FindUsers(ctx, botgate.UserFilter{})
		if err != nil {
			return err
		}
		// Commit from another goroutine while this View is open.
		done := make(chan error, 1)
		go func() {
			done <- w.Update(ctx, func(tx botgate.Tx) error {
				return tx.CreateUser(ctx, newUser("during", botgate.HumanUser))
			})
		}()
		if err := <-done; err != nil {
			t.Fatalf("Update during a View: %v", err)
		}
		_, n2, err := tx.FindUsers(ctx, botgate.UserFilter{})
		if err != nil {
			return err
		}
		if n1 != 1 || n2 != n1 {
			t.Errorf("one View counted %d then %d users; want 1 both times", n1, n2)
		}
		return nil
	})
	view(t, r, func(tx botgate.Tx) error {
		_, n, err := tx.FindUsers(ctx, botgate.UserFilter{})
		wantTotal(t, "users after the View", n, 2)
		return err
	})
}
