package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/sqlite"
	"github.com/botgate/botgate/storetest"
)

// openTemp opens a store on a new database file in a temporary directory.
func openTemp(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "botgate.db")
	}
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Exercise(t, func(t *testing.T) botgate.Store { return openTemp(t, "") })
}

func TestConformanceTwoStores(t *testing.T) {
	storetest.ExerciseTwo(t, func(t *testing.T) (botgate.Store, botgate.Store) {
		path := filepath.Join(t.TempDir(), "shared.db")
		return openTemp(t, path), openTemp(t, path)
	})
}
