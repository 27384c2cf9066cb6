package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LockFile is the file a serving process holds locked in the data
// directory, with its process id inside.
const LockFile = "serve.lock"

// ErrLocked is returned, wrapped, by Lock when another process holds the
// data directory.
var ErrLocked = errors.New("data directory in use")

// Lock is a held lock on a data directory.
type Lock struct {
	f *os.File
}

// Lock takes the data directory's lock without waiting, creating the
// directory (0700) if needed: one serving process per directory, so that
// two servers never share one SQLite database, pepper and checkpoint. The
// lock (flock) is released by Unlock or when the process ends, even if it
// is killed. It fails with ErrLocked, naming the holder's process id,
// when another process (or another Lock in this one) holds it.
func (d Dir) Lock() (*Lock, error) {
	if err := os.MkdirAll(d.Path, 0o700); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	path := filepath.Join(d.Path, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	if err := flock(f); err != nil {
		holder := "another process"
		if b, rerr := os.ReadFile(path); rerr == nil {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil && pid > 0 {
				holder = fmt.Sprintf("another process (pid %d)", pid)
			}
		}
		f.Close()
		return nil, fmt.Errorf("%w: %s is serving the data directory %s; stop it first, or give this server another --data-dir (several nodes share a PostgreSQL --store instead, each with its own data directory)", ErrLocked, holder, d.Path)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

// Unlock releases the lock.
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
