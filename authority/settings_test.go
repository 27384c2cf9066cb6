package authority_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/sqlite"
)

// TestInitializedAndHasVaultCanary: a new store holds neither an
// installation nor a canary; Bootstrap begins the audit chain and
// EnsureCanary stores the canary.
func TestInitializedAndHasVaultCanary(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "botgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	check := func(name string, wantInit, wantCanary bool) {
		t.Helper()
		if got, err := authority.Initialized(ctx, st); err != nil || got != wantInit {
			t.Errorf("%s: Initialized = %v, %v; want %v", name, got, err, wantInit)
		}
		if got, err := authority.HasVaultCanary(ctx, st); err != nil || got != wantCanary {
			t.Errorf("%s: HasVaultCanary = %v, %v; want %v", name, got, err, wantCanary)
		}
	}
	check("new store", false, false)
	svc, err := authority.New(authority.Config{Store: st, Pepper: pepper})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if _, _, _, err := svc.Bootstrap(ctx, authority.NewUser{Username: "root", Email: "root@example.com"}); err != nil {
		t.Fatal(err)
	}
	check("after Bootstrap", true, false)
	if _, err := svc.Vault(testKeyring(t, 1)).EnsureCanary(ctx); err != nil {
		t.Fatal(err)
	}
	check("after EnsureCanary", true, true)
}
