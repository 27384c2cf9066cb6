// Package datadir lays out and reads botgate's data directory: the SQLite
// database, the token pepper and the vault master key. The pepper and the
// master key live in files beside the database, never in it, with 0600
// permissions.
package datadir

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// File names inside the data directory.
const (
	DatabaseFile  = "botgate.db"
	PepperFile    = "pepper"
	MasterKeyFile = "master.key"
)

// Dir is a data directory.
type Dir struct {
	Path string
}

// Default returns the per-user default data directory:
// $XDG_DATA_HOME/botgate, else ~/.local/share/botgate.
func Default(getenv func(string) string) string {
	if x := getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "botgate")
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".local", "share", "botgate")
	}
	return filepath.Join(".", ".botgate")
}

// DatabasePath returns the SQLite database path.
func (d Dir) DatabasePath() string { return filepath.Join(d.Path, DatabaseFile) }

// MasterKeyPath returns the vault master key path.
func (d Dir) MasterKeyPath() string { return filepath.Join(d.Path, MasterKeyFile) }

// Initialized reports whether the directory holds a pepper.
func (d Dir) Initialized() bool {
	_, err := os.Stat(filepath.Join(d.Path, PepperFile))
	return err == nil
}

// Create makes the directory (0700) and a fresh pepper from rand. It refuses
// to overwrite an existing pepper: losing it invalidates every token.
func (d Dir) Create(rand io.Reader) error {
	if err := os.MkdirAll(d.Path, 0o700); err != nil {
		return fmt.Errorf("creating data directory: %w", err)
	}
	pepper := make([]byte, 32)
	if _, err := io.ReadFull(rand, pepper); err != nil {
		return fmt.Errorf("generating pepper: %w", err)
	}
	return WriteSecretFile(filepath.Join(d.Path, PepperFile), []byte(base64.StdEncoding.EncodeToString(pepper)+"\n"))
}

// Pepper reads the pepper.
func (d Dir) Pepper() ([]byte, error) {
	p := filepath.Join(d.Path, PepperFile)
	b, err := ReadSecretFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s not found: run 'botgate init --data-dir %s' first", p, d.Path)
	}
	if err != nil {
		return nil, err
	}
	pepper, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(pepper) < 32 {
		return nil, fmt.Errorf("%s is not a valid pepper (want base64 of at least 32 bytes)", p)
	}
	return pepper, nil
}

// WriteSecretFile writes data to a new file with 0600 permissions; it
// refuses to overwrite.
func WriteSecretFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists; refusing to overwrite it", path)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ReadSecretFile reads a secret file, refusing one that others can read.
func ReadSecretFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is readable by others (mode %v); run 'chmod 600 %s'", path, fi.Mode().Perm(), path)
	}
	return os.ReadFile(path)
}
