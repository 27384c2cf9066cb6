package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/botgate/botgate"
)

func tokenID(tk *botgate.Token) int64 { return tk.ID }

func testTokens(t *testing.T, open func(t *testing.T) botgate.Store) {
	t.Run("CreateAndRead", func(t *testing.T) { testCreateToken(t, open(t)) })
	t.Run("Find", func(t *testing.T) { testFindTokens(t, open(t)) })
	t.Run("Revoke", func(t *testing.T) { testRevokeToken(t, open(t)) })
	t.Run("RevokeFamily", func(t *testing.T) { testRevokeFamily(t, open(t)) })
	t.Run("RevokeUserTokens", func(t *testing.T) { testRevokeUserTokens(t, open(t)) })
	t.Run("Successor", func(t *testing.T) { testSuccessor(t, open(t)) })
	t.Run("RecordUsage", func(t *testing.T) { testRecordUsage(t, open(t)) })
	t.Run("ActiveAt", func(t *testing.T) { testTokensActiveAt(t, open(t)) })
}

func testCreateToken(t *testing.T, s botgate.Store) {
	ctx := t.Context()
	var u, bot *botgate.User
	var p *botgate.Project
	update(t, s, func(tx botgate.Tx) error {
		u = mustCreateUser(ctx, t, tx, newUser("owner", botgate.HumanUser))
		bot = mustCreateUser(ctx, t, tx, newUser("project_1_bot_q", botgate.ProjectBot))
		g := mustCreateGroup(ctx, t, tx, nil, "g")
		p = mustCreateProject(ctx, t, tx, g, "p")
		return nil
	})
	zone := time.FixedZone("UTC-3", -3*3600)
	first := &botgate.Token{
		UserID: u.ID, Kind: botgate.PersonalToken, Name: "laptop", Description: "my laptop",
		Scopes: botgate.Scopes{botgate.ScopeAPI, botgate.ScopeReadUser}, Digest: digestOf("first"),
		ExpiresAt: ptr(day(30)), CreatedAt: base.In(zone), CreatedByID: u.ID,
	}
	full := &botgate.Token{
		UserID: bot.ID, Kind: botgate.ProjectAccessToken, Name: "deploy", Description: "deploys the app",
		Scopes:      botgate.Scopes{botgate.ScopeReadAPI, botgate.ScopeReadRepository, botgate.ScopeReadSecret},
		AccessLevel: botgate.DeveloperAccess, Resource: botgate.Resource{Type: botgate.ProjectResource, ID: p.ID},
		Digest: digestOf("full"), Revoked: true, RevokedAt: ptr(at(2 * time.Hour).In(zone)), ExpiresAt: ptr(day(10)),
		CreatedAt: at(time.Hour), CreatedByID: u.ID, LastUsedAt: ptr(at(90 * time.Minute)),
		LastUsedIPs: []string{"203.0.113.9", "2001:db8::1"}, UserAgents: []string{"python-gitlab/4.0", "curl/8.5"},
		Automation: "release-bot",
	}
	update(t, s, func(tx botgate.Tx) error {
		mustCreateToken(ctx, t, tx, first)
		full.PreviousID, full.FamilyID = first.ID, first.FamilyID
		mustCreateToken(ctx, t, tx, full)
		return nil
	})
	distinctPositive(t, "CreateToken", first.ID, full.ID)
	if first.FamilyID != first.ID {
		t.Errorf("FamilyID of a new family: got %d, want the token's own ID %d", first.FamilyID, first.ID)
	}
	if full.FamilyID != first.ID {
		t.Errorf("FamilyID given: got %d, want %d", full.FamilyID, first.ID)
	}
	view(t, s, func(tx botgate.Tx) error {
		for _, w := range []*botgate.Token{first, full} {
			got, err := tx.Token(ctx, w.ID)
			if err != nil {
				t.Fatalf("Token(%d): %v", w.ID, err)
			}
			same(t, "Token", got, w, normToken)
			wantUTC(t, "Token times", &got.CreatedAt, got.ExpiresAt, got.RevokedAt, got.LastUsedAt)
			got, err = tx.TokenByDigest(ctx, w.Digest)
			if err != nil {
				t.Fatalf("TokenByDigest: %v", err)
			}
			same(t, "TokenByDigest", got, w, normToken)
		}
		_, err := tx.Token(ctx, full.ID+1000)
		wantKind(t, "Token(missing)", err, botgate.KindNotFound)
		_, err = tx.TokenByDigest(ctx, digestOf("unknown"))
		wantKind(t, "TokenByDigest(unknown)", err, botgate.KindNotFound)
		_, err = tx.TokenByDigest(ctx, digestOf("first")[:31])
		wantKind(t, "TokenByDigest(prefix)", err, botgate.KindNotFound)
		return nil
	})

	tests := []struct {
		name   string
		change func(tk *botgate.Token)
		kind   botgate.Kind
	}{
		{"digest clash", func(tk *botgate.Token) { tk.Digest = digestOf("first") }, botgate.KindConflict},
		{"user missing", func(tk *botgate.Token) { tk.UserID = bot.ID + 1000 }, botgate.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tk := newToken(u, "bad")
			tt.change(tk)
			err := s.Update(ctx, func(tx botgate.Tx) error { return tx.CreateToken(ctx, tk) })
			wantKind(t, "CreateToken", err, tt.kind)
		})
	}
}

// tokenFixture is six tokens with distinct, known field values.
type tokenFixture struct {
	ann, pbot, gbot, svc *botgate.User
	g                    *botgate.Group
	p                    *botgate.Project
	tk                   [6]*botgate.Token
}

func makeTokenFixture(t *testing.T, s botgate.Store) *tokenFixture {
	ctx := t.Context()
	f := &tokenFixture{}
	update(t, s, func(tx botgate.Tx) error {
		f.ann = mustCreateUser(ctx, t, tx, newUser("ann", botgate.HumanUser))
		f.pbot = mustCreateUser(ctx, t, tx, newUser("pbot", botgate.ProjectBot))
		f.gbot = mustCreateUser(ctx, t, tx, newUser("gbot", botgate.GroupBot))
		f.svc = mustCreateUser(ctx, t, tx, newUser("svc", botgate.ServiceAccount))
		f.g = mustCreateGroup(ctx, t, tx, nil, "team")
		f.p = mustCreateProject(ctx, t, tx, f.g, "app")
		h := time.Hour
		mk := func(u *botgate.User, kind botgate.TokenKind, name string, created time.Duration, expires *time.Time,
			lastUsed *time.Time, automation string) *botgate.Token {
			tk := newToken(u, name)
			tk.Kind, tk.CreatedAt, tk.ExpiresAt, tk.LastUsedAt, tk.Automation = kind, at(created), expires, lastUsed, automation
			return tk
		}
		f.tk[0] = mk(f.ann, botgate.PersonalToken, "alpha", 1*h, ptr(day(30)), ptr(at(2*h)), "triage")
		f.tk[1] = mk(f.ann, botgate.PersonalToken, "bravo", 2*h, nil, nil, "")
		f.tk[1].Revoked, f.tk[1].RevokedAt = true, ptr(at(150*time.Minute))
		f.tk[2] = mk(f.pbot, botgate.ProjectAccessToken, "charlie", 3*h, ptr(day(10)), ptr(at(1*h)), "release")
		f.tk[2].Resource, f.tk[2].AccessLevel = botgate.Resource{Type: botgate.ProjectResource, ID: f.p.ID}, botgate.DeveloperAccess
		f.tk[3] = mk(f.gbot, botgate.GroupAccessToken, "delta", 4*h, ptr(day(20)), ptr(at(3*h)), "triage")
		f.tk[3].Resource, f.tk[3].AccessLevel = botgate.Resource{Type: botgate.GroupResource, ID: f.g.ID}, botgate.MaintainerAccess
		f.tk[4] = mk(f.ann, botgate.PersonalToken, "alpha-rotated", 5*h, ptr(day(30)), nil, "triage")
		f.tk[5] = mk(f.svc, botgate.ServiceAccountToken, "echo", 6*h, ptr(day(5)), ptr(at(4*h)), "")
		for i, tk := range f.tk {
			if i == 4 {
				tk.PreviousID, tk.FamilyID = f.tk[0].ID, f.tk[0].FamilyID
			}
			mustCreateToken(ctx, t, tx, tk)
		}
		return nil
	})
	return f
}

func testFindTokens(t *testing.T, s botgate.Store) {
	ctx := t.Context()
	f := makeTokenFixture(t, s)
	id := func(i ...int) []int64 {
		out := []int64{}
		for _, n := range i {
			out = append(out, f.tk[n].ID)
		}
		return out
	}
	h := time.Hour
	pr := botgate.Resource{Type: botgate.ProjectResource, ID: f.p.ID}
	gr := botgate.Resource{Type: botgate.GroupResource, ID: f.g.ID}
	tests := []struct {
		name  string
		f     botgate.TokenFilter
		want  []int64
		total int
	}{
		// Sorts.
		{"default sort is created_desc", botgate.TokenFilter{}, id(5, 4, 3, 2, 1, 0), 6},
		{"created_desc", botgate.TokenFilter{Sort: "created_desc"}, id(5, 4, 3, 2, 1, 0), 6},
		{"created_asc", botgate.TokenFilter{Sort: "created_asc"}, id(0, 1, 2, 3, 4, 5), 6},
		{"expires_asc", botgate.TokenFilter{Sort: "expires_asc"}, id(5, 2, 3, 0, 4, 1), 6},
		{"expires_desc", botgate.TokenFilter{Sort: "expires_desc"}, id(4, 0, 3, 2, 5, 1), 6},
		{"last_used_asc", botgate.TokenFilter{Sort: "last_used_asc"}, id(2, 0, 3, 5, 1, 4), 6},
		{"last_used_desc", botgate.TokenFilter{Sort: "last_used_desc"}, id(5, 3, 0, 2, 4, 1), 6},
		{"name_asc", botgate.TokenFilter{Sort: "name_asc"}, id(0, 4, 1, 2, 3, 5), 6},
		{"name_desc", botgate.TokenFilter{Sort: "name_desc"}, id(5, 3, 2, 1, 4, 0), 6},
		// Filters.
		{"IDs", botgate.TokenFilter{IDs: id(0, 2)}, id(2, 0), 2},
		{"IDs, a long list", botgate.TokenFilter{IDs: longIDs(id(0, 2)...)}, id(2, 0), 2},
		{"UserID", botgate.TokenFilter{UserID: f.ann.ID}, id(4, 1, 0), 3},
		{"Kinds", botgate.TokenFilter{Kinds: []botgate.TokenKind{botgate.ProjectAccessToken, botgate.GroupAccessToken}}, id(3, 2), 2},
		{"Resource project", botgate.TokenFilter{Resource: &pr}, id(2), 1},
		{"Resource group", botgate.TokenFilter{Resource: &gr}, id(3), 1},
		{"FamilyID", botgate.TokenFilter{FamilyID: f.tk[0].FamilyID}, id(4, 0), 2},
		{"Revoked true", botgate.TokenFilter{Revoked: ptr(true)}, id(1), 1},
		{"Revoked false", botgate.TokenFilter{Revoked: ptr(false)}, id(5, 4, 3, 2, 0), 5},
		{"Search any case", botgate.TokenFilter{Search: "ALPHA"}, id(4, 0), 2},
		{"Search substring", botgate.TokenFilter{Search: "rot"}, id(4), 1},
		{"Search literal underscore", botgate.TokenFilter{Search: "_"}, nil, 0},
		{"Automation", botgate.TokenFilter{Automation: "triage"}, id(4, 3, 0), 3},
		{"CreatedAfter inclusive", botgate.TokenFilter{CreatedAfter: ptr(atUS(3 * h))}, id(5, 4, 3, 2), 4},
		{"CreatedBefore exclusive", botgate.TokenFilter{CreatedBefore: ptr(atUS(3 * h))}, id(1, 0), 2},
		{"Created range", botgate.TokenFilter{CreatedAfter: ptr(atUS(2 * h)), CreatedBefore: ptr(atUS(4 * h))}, id(2, 1), 2},
		{"ExpiresAfter inclusive", botgate.TokenFilter{ExpiresAfter: ptr(day(20))}, id(4, 3, 0), 3},
		{"ExpiresBefore exclusive", botgate.TokenFilter{ExpiresBefore: ptr(day(20))}, id(5, 2), 2},
		{"NeverExpires", botgate.TokenFilter{NeverExpires: true}, id(1), 1},
		{"LastUsedAfter inclusive", botgate.TokenFilter{LastUsedAfter: ptr(atUS(2 * h))}, id(5, 3, 0), 3},
		{"LastUsedBefore exclusive", botgate.TokenFilter{LastUsedBefore: ptr(atUS(2 * h))}, id(2), 1},
		{"combined", botgate.TokenFilter{UserID: f.ann.ID, Revoked: ptr(false), Sort: "created_asc"}, id(0, 4), 2},
		// Pages.
		{"page", botgate.TokenFilter{Sort: "created_asc", Page: botgate.Page{Offset: 1, Limit: 2}}, id(1, 2), 6},
		{"last page", botgate.TokenFilter{Sort: "created_asc", Page: botgate.Page{Offset: 5, Limit: 2}}, id(5), 6},
		{"beyond the end", botgate.TokenFilter{Page: botgate.Page{Offset: 6, Limit: 2}}, nil, 6},
		{"sorted page", botgate.TokenFilter{Sort: "expires_asc", Page: botgate.Page{Offset: 2, Limit: 3}}, id(3, 0, 4), 6},
		{"filter and page", botgate.TokenFilter{UserID: f.ann.ID, Page: botgate.Page{Limit: 1}}, id(4), 3},
	}
	view(t, s, func(tx botgate.Tx) error {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, total, err := tx.FindTokens(ctx, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				wantIDs(t, "FindTokens", ids(got, tokenID), tt.want)
				wantTotal(t, "FindTokens", total, tt.total)
			})
		}
		t.Run("rows are whole", func(t *testing.T) {
			got, _, err := tx.FindTokens(ctx, botgate.TokenFilter{Sort: "created_asc"})
			if err != nil || len(got) != len(f.tk) {
				t.Fatalf("FindTokens: %d tokens, %v", len(got), err)
			}
			for i := range got {
				same(t, "FindTokens row", got[i], f.tk[i], normToken)
			}
		})
		t.Run("unknown sort", func(t *testing.T) {
			_, _, err := tx.FindTokens(ctx, botgate.TokenFilter{Sort: "random"})
			wantKind(t, "FindTokens(bad sort)", err, botgate.KindInvalid)
		})
		return nil
	})
}

func testRevokeToken(t *testing.T, s botgate.Store) {
	ctx := t.Context()
	var tk, other *botgate.Token
	update(t, s, func(tx botgate.Tx) error {
		u := mustCreateUser(ctx, t, tx, newUser("u", botgate.HumanUser))
		tk = mustCreateToken(ctx, t, tx, newToken(u, "one"))
		other = mustCreateToken(ctx, t, tx, newToken(u, "two"))
		return nil
	})
	first := at(10 * time.Hour)
	update(t, s, func(tx botgate.Tx) error { return tx.RevokeToken(ctx, tk.ID, first) })
	err := s.Update(ctx, func(tx botgate.Tx) error { return tx.RevokeToken(ctx, tk.ID, at(11*time.Hour)) })
	wantKind(t, "RevokeToken twice", err, botgate.KindConflict)
	err = s.Update(ctx, func(tx botgate.Tx) error { return tx.RevokeToken(ctx, other.ID+1000, first) })
	wantKind(t, "RevokeToken(missing)", err, botgate.KindNotFound)
	view(t, s, func(tx botgate.Tx) error {
		got, err := tx.Token(ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := *tk
		want.Revoked, want.RevokedAt = true, &first
		same(t, "revoked Token (the first revocation's time stays)", got, &want, normToken)
		got, err = tx.Token(ctx, other.ID)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "other Token", got, other, normToken)
		return nil
	})
}

func testRevokeFamily(t *testing.T, s botgate.Store) {
	ctx := t.Context()
	var fam [3]*botgate.Token
	var otherFam *botgate.Token
	early := at(-time.Hour)
	update(t, s, func(tx botgate.Tx) error {
		u := mustCreateUser(ctx, t, tx, newUser("u", botgate.HumanUser))
		fam[0] = newToken(u, "f0")
		fam[0].Revoked, fam[0].RevokedAt = true, &early
		mustCreateToken(ctx, t, tx, fam[0])
		for i := 1; i < len(fam); i++ {
			fam[i] = newToken(u, fmt.Sprintf("f%d", i))
			fam[i].FamilyID, fam[i].PreviousID = fam[0].FamilyID, fam[i-1].ID
			mustCreateToken(ctx, t, tx, fam[i])
		}
		otherFam = mustCreateToken(ctx, t, tx, newToken(u, "other"))
		return nil
	})
	when := at(5 * time.Hour)
	var revoked []int64
	update(t, s, func(tx botgate.Tx) error {
		var err error
		revoked, err = tx.RevokeTokenFamily(ctx, fam[0].FamilyID, when)
		return err
	})
	slices.Sort(revoked)
	wantIDs(t, "RevokeTokenFamily", revoked, []int64{fam[1].ID, fam[2].ID})
	view(t, s, func(tx botgate.Tx) error {
		for i, w := range fam {
			got, err := tx.Token(ctx, w.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := *w
			want.Revoked = true
			if i > 0 {
				want.RevokedAt = &when
			}
			same(t, fmt.Sprintf("family token %d", i), got, &want, normToken)
		}
		got, err := tx.Token(ctx, otherFam.ID)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "token of another family", got, otherFam, normToken)
		return nil
	})
	update(t, s, func(tx botgate.Tx) error {
		again, err := tx.RevokeTokenFamily(ctx, fam[0].FamilyID, at(6*time.Hour))
		wantIDs(t, "RevokeTokenFamily again", again, nil)
		if err != nil {
			return err
		}
		none, err := tx.RevokeTokenFamily(ctx, otherFam.ID+1000, when)
		wantIDs(t, "RevokeTokenFamily(unknown)", none, nil)
		return err
	})
}

func testRevokeUserTokens(t *testing.T, s botgate.Store) {
	ctx := t.Context()
	var mine [3]*botgate.Token
	var theirs *botgate.Token
	var me *botgate.User
	early := at(-time.Hour)
	update(t, s, func(tx botgate.Tx) error {
		me = mustCreateUser(ctx, t, tx, newUser("me", botgate.ProjectBot))
		them := mustCreateUser(ctx, t, tx, newUser("them", botgate.HumanUser))
		for i := range mine {
			mine[i] = newToken(me, fmt.Sprintf("m%d", i))
		}
		mine[1].Revoked, mine[1].RevokedAt = true, &early
		for _, tk := range mine {
			mustCreateToken(ctx, t, tx, tk)
		}
		theirs = mustCreateToken(ctx, t, tx, newToken(them, "t"))
		return nil
	})
	when := at(3 * time.Hour)
	var revoked []int64
	update(t, s, func(tx botgate.Tx) error {
		var err error
		revoked, err = tx.RevokeUserTokens(ctx, me.ID, when)
		return err
	})
	slices.Sort(revoked)
	wantIDs(t, "RevokeUserTokens", revoked, []int64{mine[0].ID, mine[2].ID})
	view(t, s, func(tx botgate.Tx) error {
		for i, w := range mine {
			got, err := tx.Token(ctx, w.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := *w
			if i != 1 {
				want.Revoked, want.RevokedAt = true, &when
			}
			same(t, fmt.Sprintf("user token %d", i), got, &want, normToken)
		}
		got, err := tx.Token(ctx, theirs.ID)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "another user's token", got, theirs, normToken)
		return nil
	})
}

func testSuccessor(t *testing.T, s botgate.Store) {
	ctx := t.Context()
	f := makeTokenFixture(t, s)
	view(t, s, func(tx botgate.Tx) error {
		got, err := tx.SuccessorToken(ctx, f.tk[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "SuccessorToken", got, f.tk[4], normToken)
		_, err = tx.SuccessorToken(ctx, f.tk[4].ID)
		wantKind(t, "SuccessorToken(not rotated)", err, botgate.KindNotFound)
		_, err = tx.SuccessorToken(ctx, f.tk[5].ID+1000)
		wantKind(t, "SuccessorToken(missing)", err, botgate.KindNotFound)
		return nil
	})
}

func testRecordUsage(t *testing.T, s botgate.Store) {
	ctx := t.Context()
	var tk, other *botgate.Token
	update(t, s, func(tx botgate.Tx) error {
		u := mustCreateUser(ctx, t, tx, newUser("u", botgate.HumanUser))
		tk = mustCreateToken(ctx, t, tx, newToken(u, "used"))
		other = mustCreateToken(ctx, t, tx, newToken(u, "unused"))
		return nil
	})
	many := make([]string, 15)
	for i := range many {
		many[i] = fmt.Sprintf("198.51.100.%d", i+1)
	}
	steps := []struct {
		name       string
		usage      []botgate.TokenUsage
		wantLast   time.Time
		wantIPs    []string
		wantAgents []string
	}{
		{
			name:     "first use",
			usage:    []botgate.TokenUsage{{TokenID: tk.ID, LastUsedAt: at(time.Hour), IPs: []string{"a", "b"}, UserAgents: []string{"x"}}},
			wantLast: at(time.Hour), wantIPs: []string{"a", "b"}, wantAgents: []string{"x"},
		},
		{
			name:     "newer use goes first, without duplicates",
			usage:    []botgate.TokenUsage{{TokenID: tk.ID, LastUsedAt: at(2 * time.Hour), IPs: []string{"c", "a"}, UserAgents: []string{"y", "x"}}},
			wantLast: at(2 * time.Hour), wantIPs: []string{"c", "a", "b"}, wantAgents: []string{"y", "x"},
		},
		{
			name:     "older use never moves LastUsedAt back",
			usage:    []botgate.TokenUsage{{TokenID: tk.ID, LastUsedAt: at(90 * time.Minute), IPs: []string{"d", "c"}, UserAgents: []string{"z"}}},
			wantLast: at(2 * time.Hour), wantIPs: []string{"c", "a", "b", "d"}, wantAgents: []string{"y", "x", "z"},
		},
		{
			name: "unknown tokens are ignored; batches apply in order",
			usage: []botgate.TokenUsage{
				{TokenID: other.ID + 1000, LastUsedAt: at(5 * time.Hour), IPs: []string{"ghost"}},
				{TokenID: tk.ID, LastUsedAt: at(3 * time.Hour), IPs: []string{"e"}},
				{TokenID: tk.ID, LastUsedAt: at(4 * time.Hour), IPs: []string{"f"}},
			},
			wantLast: at(4 * time.Hour), wantIPs: []string{"f", "e", "c", "a", "b", "d"}, wantAgents: []string{"y", "x", "z"},
		},
		{
			name:     "bounded by MaxRecentClients",
			usage:    []botgate.TokenUsage{{TokenID: tk.ID, LastUsedAt: at(5 * time.Hour), IPs: many}},
			wantLast: at(5 * time.Hour), wantIPs: many[:botgate.MaxRecentClients], wantAgents: []string{"y", "x", "z"},
		},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			update(t, s, func(tx botgate.Tx) error { return tx.RecordTokenUsage(ctx, st.usage) })
			view(t, s, func(tx botgate.Tx) error {
				got, err := tx.Token(ctx, tk.ID)
				if err != nil {
					t.Fatal(err)
				}
				want := *tk
				want.LastUsedAt, want.LastUsedIPs, want.UserAgents = &st.wantLast, st.wantIPs, st.wantAgents
				same(t, "used token", got, &want, normToken)
				got, err = tx.Token(ctx, other.ID)
				if err != nil {
					t.Fatal(err)
				}
				same(t, "unused token", got, other, normToken)
				return nil
			})
		})
	}
	t.Run("empty batch", func(t *testing.T) {
		update(t, s, func(tx botgate.Tx) error { return tx.RecordTokenUsage(ctx, nil) })
	})
}

// testTokensActiveAt checks FindTokens' Active filter: a token is active at
// a time when it is not revoked and its expiry, if any, lies after that
// time; paging and the total count only the tokens selected.
func testTokensActiveAt(t *testing.T, s botgate.Store) {
	ctx := t.Context()
	var u *botgate.User
	var forever, later, expiring, revoked *botgate.Token
	update(t, s, func(tx botgate.Tx) error {
		u = mustCreateUser(ctx, t, tx, newUser("holder", botgate.HumanUser))
		forever, later, expiring, revoked = newToken(u, "forever"), newToken(u, "later"), newToken(u, "expiring"), newToken(u, "revoked")
		later.ExpiresAt = ptr(day(5))
		expiring.ExpiresAt = ptr(day(2))
		for _, tk := range []*botgate.Token{forever, later, expiring, revoked} {
			if err := tx.CreateToken(ctx, tk); err != nil {
				return err
			}
		}
		return tx.RevokeToken(ctx, revoked.ID, at(time.Hour))
	})
	yes, no := true, false
	tests := []struct {
		name   string
		active *bool
		at     time.Time
		page   botgate.Page
		want   []int64
		total  int
	}{
		{"active before any expiry", &yes, day(1), botgate.Page{}, []int64{forever.ID, later.ID, expiring.ID}, 3},
		{"active at an expiry date", &yes, day(2), botgate.Page{}, []int64{forever.ID, later.ID}, 2},
		{"active just before an expiry", &yes, day(2).Add(-time.Microsecond), botgate.Page{}, []int64{forever.ID, later.ID, expiring.ID}, 3},
		{"inactive at an expiry date", &no, day(2), botgate.Page{}, []int64{expiring.ID, revoked.ID}, 2},
		{"inactive before any expiry", &no, day(1), botgate.Page{}, []int64{revoked.ID}, 1},
		{"active, paged", &yes, day(1), botgate.Page{Offset: 1, Limit: 1}, []int64{later.ID}, 3},
		{"either", nil, day(9), botgate.Page{}, []int64{forever.ID, later.ID, expiring.ID, revoked.ID}, 4},
	}
	view(t, s, func(tx botgate.Tx) error {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, total, err := tx.FindTokens(ctx, botgate.TokenFilter{UserID: u.ID, Sort: "created_asc", Active: tt.active, At: tt.at, Page: tt.page})
				if err != nil {
					t.Fatalf("FindTokens: %v", err)
				}
				wantIDs(t, "FindTokens", ids(got, tokenID), tt.want)
				wantTotal(t, "FindTokens", total, tt.total)
			})
		}
		return nil
	})
}
