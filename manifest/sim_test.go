package manifest

import (
	"context"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/botgate/botgate"
)

var _ Applier = (*stateApplier)(nil)

// stateApplier is an Applier over an in-memory State: applying a plan
// through it gives the state a real apply would produce. It stands in for
// the live instance until the authority is wired; it enforces the same
// preconditions (parents exist, no duplicates, revoking twice conflicts).
type stateApplier struct {
	s      *State
	now    time.Time
	rnd    io.Reader
	nextID int64
	// failOn makes the named operation fail once, to test resumption.
	failOn map[string]error
}

func newStateApplier(s *State, now time.Time, seed uint64) *stateApplier {
	ap := &stateApplier{s: s, now: now, rnd: rand.NewChaCha8([32]byte{byte(seed)}), nextID: 1000, failOn: map[string]error{}}
	for _, id := range ids(s) {
		ap.nextID = max(ap.nextID, id)
	}
	return ap
}

func (ap *stateApplier) id() int64 { ap.nextID++; return ap.nextID }

func (ap *stateApplier) fail(op string) error {
	if err, ok := ap.failOn[op]; ok {
		delete(ap.failOn, op)
		return err
	}
	return nil
}

func (ap *stateApplier) hasGroup(p string) bool {
	for _, g := range ap.s.Groups {
		if strings.EqualFold(g.FullPath, p) {
			return true
		}
	}
	return false
}

func (ap *stateApplier) CreateGroup(_ context.Context, g GroupSpec) error {
	if err := ap.fail("CreateGroup"); err != nil {
		return err
	}
	if ap.hasGroup(g.FullPath) {
		return botgate.Errorf(botgate.KindConflict, "group %s exists", g.FullPath)
	}
	if g.Parent != "" && !ap.hasGroup(g.Parent) {
		return botgate.NotFound("Parent Group")
	}
	ap.s.Groups = append(ap.s.Groups, LiveGroup{ID: ap.id(), FullPath: g.FullPath})
	return nil
}

func (ap *stateApplier) CreateProject(_ context.Context, p ProjectSpec) error {
	if err := ap.fail("CreateProject"); err != nil {
		return err
	}
	if !ap.hasGroup(p.Group) {
		return botgate.NotFound("Group")
	}
	ap.s.Projects = append(ap.s.Projects, LiveProject{ID: ap.id(), FullPath: p.FullPath})
	return nil
}

func (ap *stateApplier) CreateServiceAccount(_ context.Context, sa ServiceAccountSpec) error {
	if err := ap.fail("CreateServiceAccount"); err != nil {
		return err
	}
	if !ap.hasGroup(sa.Owner) {
		return botgate.NotFound("Group")
	}
	ap.s.ServiceAccounts = append(ap.s.ServiceAccounts, LiveServiceAccount{ID: ap.id(), Username: sa.Name, Owner: sa.Owner})
	return nil
}

func (ap *stateApplier) SetMember(_ context.Context, m MemberSpec) error {
	if err := ap.fail("SetMember"); err != nil {
		return err
	}
	for i, cur := range ap.s.Members {
		if cur.Resource.key() == m.Resource.key() && strings.EqualFold(cur.User, m.User) {
			ap.s.Members[i].AccessLevel = m.AccessLevel
			return nil
		}
	}
	ap.s.Members = append(ap.s.Members, LiveMember{Resource: m.Resource, User: m.User, AccessLevel: m.AccessLevel})
	return nil
}

func (ap *stateApplier) RemoveMember(_ context.Context, m MemberSpec) error {
	if err := ap.fail("RemoveMember"); err != nil {
		return err
	}
	for i, cur := range ap.s.Members {
		if cur.Resource.key() == m.Resource.key() && strings.EqualFold(cur.User, m.User) {
			ap.s.Members = append(ap.s.Members[:i:i], ap.s.Members[i+1:]...)
			return nil
		}
	}
	return botgate.NotFound("Member")
}

func (ap *stateApplier) PutAutomation(_ context.Context, a Automation) error {
	if err := ap.fail("PutAutomation"); err != nil {
		return err
	}
	rec := LiveAutomation{Name: a.Name, Owner: a.Owner, Purpose: a.Purpose, Kind: a.EffectiveKind(), Temporary: a.Temporary,
		RateLimit: a.RateLimit, Upstream: a.Upstream, Routes: a.Routes, Enforcement: a.Mode().String()}
	for _, tp := range a.TrustPolicies() {
		rec.Trust = append(rec.Trust, tp.String())
	}
	for i := range ap.s.Automations {
		if ap.s.Automations[i].Name == a.Name {
			ap.s.Automations[i] = rec
			return nil
		}
	}
	ap.s.Automations = append(ap.s.Automations, rec)
	return nil
}

func (ap *stateApplier) secret() string {
	b := make([]byte, 16)
	_, _ = io.ReadFull(ap.rnd, b)
	return "glpat-" + hex.EncodeToString(b)
}

func (ap *stateApplier) CreateToken(_ context.Context, t TokenSpec) (Issued, error) {
	if err := ap.fail("CreateToken"); err != nil {
		return Issued{}, err
	}
	lt := LiveToken{ID: ap.id(), Name: t.Name, Automation: t.Automation, Kind: t.Kind, Resource: t.Resource, User: t.ServiceAccount,
		Scopes: t.Scopes, AccessLevel: t.AccessLevel, ExpiresAt: t.ExpiresAt, CreatedAt: ap.now}
	ap.s.Tokens = append(ap.s.Tokens, lt)
	return Issued{TokenID: lt.ID, ExpiresAt: t.ExpiresAt, Secret: ap.secret()}, nil
}

func (ap *stateApplier) token(id int64) (*LiveToken, error) {
	for i := range ap.s.Tokens {
		if ap.s.Tokens[i].ID == id {
			return &ap.s.Tokens[i], nil
		}
	}
	return nil, botgate.NotFound("Token")
}

func (ap *stateApplier) RotateToken(_ context.Context, id int64, expiresAt *time.Time) (Issued, error) {
	if err := ap.fail("RotateToken"); err != nil {
		return Issued{}, err
	}
	old, err := ap.token(id)
	if err != nil {
		return Issued{}, err
	}
	if old.Revoked {
		return Issued{}, botgate.Errorf(botgate.KindConflict, "Token already revoked")
	}
	old.Revoked = true
	nt := *old
	nt.ID, nt.Revoked, nt.ExpiresAt, nt.CreatedAt = ap.id(), false, expiresAt, ap.now
	ap.s.Tokens = append(ap.s.Tokens, nt)
	return Issued{TokenID: nt.ID, ExpiresAt: expiresAt, Secret: ap.secret()}, nil
}

func (ap *stateApplier) RevokeToken(_ context.Context, id int64) error {
	if err := ap.fail("RevokeToken"); err != nil {
		return err
	}
	t, err := ap.token(id)
	if err != nil {
		return err
	}
	if t.Revoked {
		return botgate.Errorf(botgate.KindConflict, "Token already revoked")
	}
	t.Revoked = true
	return nil
}

// Simulate returns the state that applying c to s at now produces. It is
// only for tests: it shows what apply leads to without a live instance.
func Simulate(c *Changes, s State, now time.Time) (State, error) {
	out := cloneState(s)
	_, err := Apply(context.Background(), c, newStateApplier(&out, now, 1), io.Discard)
	return out, err
}

func cloneState(s State) State {
	out := State{}
	out.Groups = append(out.Groups, s.Groups...)
	out.Projects = append(out.Projects, s.Projects...)
	out.ServiceAccounts = append(out.ServiceAccounts, s.ServiceAccounts...)
	out.Members = append(out.Members, s.Members...)
	out.Automations = append(out.Automations, s.Automations...)
	out.Tokens = append(out.Tokens, s.Tokens...)
	return out
}

func ids(s *State) []int64 {
	var out []int64
	for _, g := range s.Groups {
		out = append(out, g.ID)
	}
	for _, p := range s.Projects {
		out = append(out, p.ID)
	}
	for _, a := range s.ServiceAccounts {
		out = append(out, a.ID)
	}
	for _, t := range s.Tokens {
		out = append(out, t.ID)
	}
	return out
}
