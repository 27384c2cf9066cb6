package authority

import (
	"runtime"
	"sync"
	"sync/atomic"
	"unique"
	"weak"

	"github.com/botgate/botgate"
)

// userIntern lets the cached tokens of one user share one copy of the
// user's row: a user with many active tokens (a service account's CI
// jobs, a person's scripts) would otherwise keep a copy per token. A row
// is shared only with a loaded row equal to it in every field, so a
// change to the user is never hidden; a copy no cached token uses any more
// is collected as before, and forgotten here with it.
type userIntern struct {
	mu sync.Mutex
	m  map[int64]weak.Pointer[botgate.User]
}

func newUserIntern() *userIntern {
	return &userIntern{m: make(map[int64]weak.Pointer[botgate.User])}
}

// get returns the kept copy equal to u, or keeps u and returns it. The
// returned user is shared and read-only. A project or group bot has one
// token (and its rotations): its row is returned as it is, without the
// bookkeeping, and only its short, common strings are shared.
func (in *userIntern) get(u *botgate.User) *botgate.User {
	u.Kind, u.State, u.Owner.Type = intern(u.Kind), intern(u.State), intern(u.Owner.Type)
	if u.Kind == botgate.ProjectBot || u.Kind == botgate.GroupBot {
		return u
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if p := in.m[u.ID].Value(); p != nil && *p == *u {
		return p
	}
	in.m[u.ID] = weak.Make(u)
	runtime.AddCleanup(u, in.forget, u.ID)
	return u
}

// forget drops id's entry once no copy of it is alive.
func (in *userIntern) forget(id int64) {
	in.mu.Lock()
	if wp, ok := in.m[id]; ok && wp.Value() == nil {
		delete(in.m, id)
	}
	in.mu.Unlock()
}

// intern returns s sharing the memory of every equal string interned
// before: for the few distinct values of a kind, a state or an
// automation's name, kept once instead of once per cached token.
func intern[S ~string](s S) S {
	if s == "" {
		return s
	}
	return S(unique.Make(string(s)).Value())
}

// scopeSets shares the scope lists of cached tokens: most tokens have one
// of a few lists. Lists are kept by their text and never changed; past
// maxScopeSets distinct lists, further ones are not shared.
var (
	scopeSets  sync.Map // string → botgate.Scopes
	scopeCount atomic.Int64
)

const maxScopeSets = 1024

// internScopes returns a shared list equal to s.
func internScopes(s botgate.Scopes) botgate.Scopes {
	if len(s) == 0 {
		return s
	}
	k := s.String()
	if v, ok := scopeSets.Load(k); ok {
		return v.(botgate.Scopes)
	}
	for i := range s {
		s[i] = intern(s[i])
	}
	if scopeCount.Load() >= maxScopeSets {
		return s
	}
	v, loaded := scopeSets.LoadOrStore(k, s)
	if !loaded {
		scopeCount.Add(1)
	}
	return v.(botgate.Scopes)
}
