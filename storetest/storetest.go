// Package storetest is the conformance suite every botgate.Store backend
// must pass unchanged.
//
// A backend's tests call Exercise with a function that opens a new, empty
// store (and registers its cleanup with t.Cleanup), and ExerciseTwo with a
// function that opens two stores sharing one database, the way two botgate
// processes would:
//
//	func TestConformance(t *testing.T) {
//		storetest.Exercise(t, func(t *testing.T) botgate.Store { return openTemp(t) })
//	}
//
// The suite assumes nothing about a backend beyond the botgate.Store
// contract: IDs are positive and distinct, times come back in UTC and are
// compared at microsecond precision. Where the contract leaves a detail
// open, the suite pins the behaviour every backend must share:
//
//   - Searches (Search fields) are case-insensitive substring matches, with
//     '%' and '_' taken literally.
//   - Usernames, emails, group full paths and project paths are unique
//     regardless of case; an empty email is no email and never clashes.
//   - TokenFilter's After bounds are inclusive and its Before bounds
//     exclusive; AuditFilter's Since and Until are both inclusive.
//   - Token sorts break ties by ID in the sort's direction; tokens without
//     the sorted value (no expiry, never used) come last in either direction;
//     an unknown Sort is KindInvalid.
//   - FindMembers orders group memberships before project memberships, each
//     by resource ID, then by user ID.
//   - RecordTokenUsage with a LastUsedAt older than the stored one keeps the
//     stored time and appends the older clients after the stored ones.
//   - RevokeTokenFamily and RevokeUserTokens return IDs in any order.
//   - View sees one snapshot: a commit made while a View runs is not seen by
//     that View.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/botgate/botgate"
)

// Exercise runs the conformance suite. open must return a new, empty store
// for each call; the suite does not close it.
func Exercise(t *testing.T, open func(t *testing.T) botgate.Store) {
	t.Run("Users", func(t *testing.T) { testUsers(t, open) })
	t.Run("Groups", func(t *testing.T) { testGroups(t, open) })
	t.Run("Projects", func(t *testing.T) { testProjects(t, open) })
	t.Run("Members", func(t *testing.T) { testMembers(t, open) })
	t.Run("VisibleTo", func(t *testing.T) { testVisibleTo(t, open) })
	t.Run("Tokens", func(t *testing.T) { testTokens(t, open) })
	t.Run("TokenAutomation", func(t *testing.T) { testTokenAutomation(t, open(t)) })
	t.Run("Automations", func(t *testing.T) { testAutomations(t, open(t)) })
	t.Run("UsedTokenIDs", func(t *testing.T) { testUsedTokenIDs(t, open(t)) })
	t.Run("UsedTokenIDRace", func(t *testing.T) { testUsedTokenIDRace(t, []botgate.Store{open(t)}) })
	t.Run("Audit", func(t *testing.T) { testAudit(t, open) })
	t.Run("Settings", func(t *testing.T) { testSettings(t, open(t)) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, open(t)) })
	t.Run("TeamNotify", func(t *testing.T) { testTeamNotify(t, open(t)) })
	t.Run("ExpiryNotices", func(t *testing.T) { testExpiryNotices(t, open(t)) })
	t.Run("ExpiryNoticeRace", func(t *testing.T) { testExpiryNoticeRace(t, []botgate.Store{open(t)}) })
	t.Run("Transactions", func(t *testing.T) { testTransactions(t, open) })
	t.Run("Concurrency", func(t *testing.T) {
		t.Run("RevokeRace", func(t *testing.T) {
			s := open(t)
			testRevokeRace(t, []botgate.Store{s})
		})
		t.Run("UsernameRace", func(t *testing.T) {
			s := open(t)
			testUsernameRace(t, []botgate.Store{s})
		})
		t.Run("AuditAppendRace", func(t *testing.T) {
			s := open(t)
			testAuditRace(t, []botgate.Store{s})
		})
	})
}

// ExerciseTwo runs the cross-instance part of the suite: open2 must return
// two stores, new and empty, that share one database.
func ExerciseTwo(t *testing.T, open2 func(t *testing.T) (botgate.Store, botgate.Store)) {
	t.Run("UsedTokenIDRace", func(t *testing.T) {
		a, b := open2(t)
		testUsedTokenIDRace(t, []botgate.Store{a, b})
	})
	t.Run("CommitVisibleToOther", func(t *testing.T) {
		a, b := open2(t)
		testVisibleAcross(t, a, b)
	})
	t.Run("ViewIsOneSnapshot", func(t *testing.T) {
		a, b := open2(t)
		testViewSnapshot(t, b, a)
	})
	t.Run("RevokeRace", func(t *testing.T) {
		a, b := open2(t)
		testRevokeRace(t, []botgate.Store{a, b})
	})
	t.Run("UsernameRace", func(t *testing.T) {
		a, b := open2(t)
		testUsernameRace(t, []botgate.Store{a, b})
	})
	t.Run("AuditAppendRace", func(t *testing.T) {
		a, b := open2(t)
		testAuditRace(t, []botgate.Store{a, b})
	})
	t.Run("ExpiryNoticeRace", func(t *testing.T) {
		a, b := open2(t)
		testExpiryNoticeRace(t, []botgate.Store{a, b})
	})
}

// base is the suite's reference time. It has nanoseconds, so a store that
// keeps more or less than microseconds is caught.
var base = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.UTC)

// at returns base plus d.
func at(d time.Duration) time.Time { return base.Add(d) }

// atUS returns base plus d at microsecond precision, for filter bounds
// that must match stored times exactly.
func atUS(d time.Duration) time.Time { return normTime(base.Add(d)) }

// day returns the date d days after base's date, 00:00 UTC.
func day(d int) time.Time { return botgate.Date(base).AddDate(0, 0, d) }

func ptr[T any](v T) *T { return &v }

// auditKey keys the audit chains the suite writes.
var auditKey = []byte("storetest audit chain key, 32 by")

// update runs fn in an Update and fails the test on error.
func update(t *testing.T, s botgate.Store, fn func(tx botgate.Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// view runs fn in a View and fails the test on error.
func view(t *testing.T, s botgate.Store, fn func(tx botgate.Tx) error) {
	t.Helper()
	if err := s.View(t.Context(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// wantKind fails the test unless err is a *botgate.Error of kind k.
func wantKind(t *testing.T, what string, err error, k botgate.Kind) {
	t.Helper()
	var be *botgate.Error
	switch {
	case err == nil:
		t.Errorf("%s: got no error, want %v", what, k)
	case !errors.As(err, &be):
		t.Errorf("%s: got %T (%v), want a *botgate.Error of kind %v", what, err, err, k)
	case botgate.KindOf(err) != k:
		t.Errorf("%s: got kind %v (%v), want %v", what, botgate.KindOf(err), err, k)
	}
}

// normTime is t as the store keeps it: UTC, microseconds.
func normTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func normTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	return ptr(normTime(*t))
}

// wantUTC fails the test unless every time is in UTC.
func wantUTC(t *testing.T, what string, times ...*time.Time) {
	t.Helper()
	for _, tm := range times {
		if tm != nil && tm.Location() != time.UTC {
			t.Errorf("%s: time %v is in %v, want UTC", what, tm, tm.Location())
		}
	}
}

func emptyNil[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

func normUser(u botgate.User) botgate.User {
	u.CreatedAt = normTime(u.CreatedAt)
	return u
}

func normGroup(g botgate.Group) botgate.Group {
	g.CreatedAt = normTime(g.CreatedAt)
	return g
}

func normProject(p botgate.Project) botgate.Project {
	p.CreatedAt = normTime(p.CreatedAt)
	return p
}

func normMember(m botgate.Member) botgate.Member {
	m.CreatedAt = normTime(m.CreatedAt)
	m.ExpiresAt = normTimePtr(m.ExpiresAt)
	return m
}

func normToken(tk botgate.Token) botgate.Token {
	tk.Scopes = emptyNil(tk.Scopes)
	tk.Digest = emptyNil(tk.Digest)
	tk.LastUsedIPs = emptyNil(tk.LastUsedIPs)
	tk.UserAgents = emptyNil(tk.UserAgents)
	tk.CreatedAt = normTime(tk.CreatedAt)
	tk.RevokedAt = normTimePtr(tk.RevokedAt)
	tk.ExpiresAt = normTimePtr(tk.ExpiresAt)
	tk.LastUsedAt = normTimePtr(tk.LastUsedAt)
	return tk
}

func normAudit(e botgate.AuditEvent) botgate.AuditEvent {
	e.Time = normTime(e.Time)
	if len(e.Details) == 0 {
		e.Details = nil
	}
	return e
}

// same fails the test unless got equals want after both are normalized.
func same[T any](t *testing.T, what string, got, want *T, norm func(T) T) {
	t.Helper()
	if got == nil || want == nil {
		if got != want {
			t.Errorf("%s: got %s, want %s", what, dump(got), dump(want))
		}
		return
	}
	g, w := norm(*got), norm(*want)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %s\nwant %s", what, dump(g), dump(w))
	}
}

func dump(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// longIDs returns real among 40,000 IDs that match nothing: more than one
// query parameter per ID allows in SQLite or PostgreSQL.
func longIDs(real ...int64) []int64 {
	out := make([]int64, 0, 40_000+len(real))
	for i := range 40_000 {
		out = append(out, 1_000_000_000_000+int64(i))
		if i == 20_000 {
			out = append(out, real...)
		}
	}
	return out
}

// ids returns the IDs of the values, in order.
func ids[T any](vals []*T, id func(*T) int64) []int64 {
	out := make([]int64, 0, len(vals))
	for _, v := range vals {
		out = append(out, id(v))
	}
	return out
}

// wantIDs fails the test unless got lists want, in order.
func wantIDs(t *testing.T, what string, got, want []int64) {
	t.Helper()
	if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Errorf("%s: got IDs %v, want %v", what, got, want)
	}
}

// wantTotal fails the test unless got is want.
func wantTotal(t *testing.T, what string, got, want int) {
	t.Helper()
	if got != want {
		t.Errorf("%s: got total %d, want %d", what, got, want)
	}
}

// distinctPositive fails the test unless the IDs are positive and distinct.
func distinctPositive(t *testing.T, what string, idList ...int64) {
	t.Helper()
	seen := map[int64]bool{}
	for _, id := range idList {
		if id <= 0 || seen[id] {
			t.Fatalf("%s: IDs %v are not positive and distinct", what, idList)
		}
		seen[id] = true
	}
}

// fixtures

func newUser(username string, kind botgate.UserKind) *botgate.User {
	return &botgate.User{
		Username:  username,
		Name:      "Name of " + username,
		Email:     username + "@example.com",
		Kind:      kind,
		State:     botgate.UserActive,
		CreatedAt: at(time.Minute),
	}
}

func mustCreateUser(ctx context.Context, t *testing.T, tx botgate.Tx, u *botgate.User) *botgate.User {
	t.Helper()
	if err := tx.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser %s: %v", u.Username, err)
	}
	return u
}

func mustCreateGroup(ctx context.Context, t *testing.T, tx botgate.Tx, parent *botgate.Group, path string) *botgate.Group {
	t.Helper()
	g := &botgate.Group{Name: "Group " + path, Path: path, FullPath: path, Visibility: botgate.Private, CreatedAt: at(2 * time.Minute)}
	if parent != nil {
		g.ParentID = parent.ID
		g.FullPath = parent.FullPath + "/" + path
	}
	if err := tx.CreateGroup(ctx, g); err != nil {
		t.Fatalf("CreateGroup %s: %v", g.FullPath, err)
	}
	return g
}

func mustCreateProject(ctx context.Context, t *testing.T, tx botgate.Tx, ns *botgate.Group, path string) *botgate.Project {
	t.Helper()
	p := &botgate.Project{Name: "Project " + path, Path: path, PathWithNamespace: ns.FullPath + "/" + path,
		NamespaceID: ns.ID, Visibility: botgate.Internal, DefaultBranch: "main", CreatedAt: at(3 * time.Minute)}
	if err := tx.CreateProject(ctx, p); err != nil {
		t.Fatalf("CreateProject %s: %v", p.PathWithNamespace, err)
	}
	return p
}

// digestOf returns a distinct 32-byte digest for n.
func digestOf(n string) []byte {
	d := make([]byte, 32)
	copy(d, "digest:"+n)
	return d
}

func newToken(u *botgate.User, name string) *botgate.Token {
	return &botgate.Token{
		UserID:    u.ID,
		Kind:      botgate.PersonalToken,
		Name:      name,
		Scopes:    botgate.Scopes{botgate.ScopeReadAPI},
		Digest:    digestOf(name),
		CreatedAt: at(time.Hour),
	}
}

func mustCreateToken(ctx context.Context, t *testing.T, tx botgate.Tx, tk *botgate.Token) *botgate.Token {
	t.Helper()
	if err := tx.CreateToken(ctx, tk); err != nil {
		t.Fatalf("CreateToken %s: %v", tk.Name, err)
	}
	return tk
}

// appendEvent seals e after the head of the lane the transaction takes,
// appends it and moves the lane's head.
func appendEvent(ctx context.Context, tx botgate.Tx, e *botgate.AuditEvent) error {
	head, seqs, err := tx.LockAuditLane(ctx, 1)
	if err != nil {
		return err
	}
	return AppendAfter(ctx, tx, auditKey, head, seqs[0], e)
}

// AppendAfter seals e under key after head, a lane the transaction holds,
// as the log's event seq, appends it and moves the lane's head, recorded
// as signed "signed HASH" (not a MAC: the store keeps what it is given).
func AppendAfter(ctx context.Context, tx botgate.Tx, key []byte, head botgate.AuditHead, seq int64, e *botgate.AuditEvent) error {
	e.Seal(key, head, seq)
	if err := tx.AppendAudit(ctx, e); err != nil {
		return err
	}
	to := botgate.AuditHead{Lane: e.Lane, Seq: e.LaneSeq, Hash: e.Hash}
	return tx.AdvanceAuditLane(ctx, head, botgate.AuditLane{AuditHead: to, Signed: "signed " + e.Hash})
}
