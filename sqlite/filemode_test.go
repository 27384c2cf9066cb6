package sqlite_test

import (
	"os"
	"path/filepath"
	"testing"
)

// TestOpenFileModes: the database and its WAL and shared memory are
// readable by their owner alone, whether Open creates the file or finds
// it with looser permissions.
func TestOpenFileModes(t *testing.T) {
	check := func(t *testing.T, path string) {
		t.Helper()
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != 0o600 {
				t.Errorf("%s: mode %v, want -rw-------", filepath.Base(p), got)
			}
		}
	}
	t.Run("Created", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "botgate.db")
		openTemp(t, path)
		check(t, path)
	})
	t.Run("Loose", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "botgate.db")
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		openTemp(t, path)
		check(t, path)
	})
}
