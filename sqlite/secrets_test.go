package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/sqlite"
	"github.com/botgate/botgate/storetest"
)

// openVaultTemp opens a new store in a temporary file.
func openVaultTemp(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestVaultConformance(t *testing.T) {
	storetest.ExerciseVault(t, func(t *testing.T) botgate.Store {
		return openVaultTemp(t, filepath.Join(t.TempDir(), "botgate.db"))
	})
}

func TestVaultConformanceTwoInstances(t *testing.T) {
	storetest.ExerciseVaultTwo(t, func(t *testing.T) (botgate.Store, botgate.Store) {
		path := filepath.Join(t.TempDir(), "botgate.db")
		a := openVaultTemp(t, path)
		return a, openVaultTemp(t, path)
	})
}
