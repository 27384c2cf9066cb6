package authority

import (
	"runtime"
	"sync"
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
// returned user is shared and read-only.
func (in *userIntern) get(u *botgate.User) *botgate.User {
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
