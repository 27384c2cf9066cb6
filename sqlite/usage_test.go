package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/sqlite"
	"github.com/botgate/botgate/storetest"
)

func TestRouteUsageConformance(t *testing.T) {
	storetest.ExerciseRouteUsage(t, func(t *testing.T) botgate.Store {
		s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "botgate.db"))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
