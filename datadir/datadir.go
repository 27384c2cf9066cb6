// Package datadir lays out and reads botgate's data directory: the SQLite
// database, the token pepper, the vault master key and the audit
// checkpoint. The pepper and the
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

	"github.com/botgate/botgate"
)

// File names inside the data directory.
const (
	DatabaseFile  = "botgate.db"
	PepperFile    = "pepper"
	MasterKeyFile = "master.key"
	// AuditCheckpointFile anchors the audit log outside the database (see
	// authority.SignCheckpoint).
	AuditCheckpointFile = "audit-checkpoint"
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

// AuditCheckpointPath returns the audit checkpoint's path.
func (d Dir) AuditCheckpointPath() string { return filepath.Join(d.Path, AuditCheckpointFile) }

// ReadAuditCheckpoint returns the audit checkpoint's content; ok is false
// when there is none.
func (d Dir) ReadAuditCheckpoint() (content string, ok bool, err error) {
	b, err := ReadSecretFile(d.AuditCheckpointPath())
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return string(b), true, nil
}

// WriteAuditCheckpoint replaces the audit checkpoint with content: written
// to a new 0600 file, synced, then renamed over the old one, so that a
// crash leaves the old checkpoint or the new one, never half of one.
func (d Dir) WriteAuditCheckpoint(content string) error {
	f, err := os.CreateTemp(d.Path, "."+AuditCheckpointFile+"-*") // 0600
	if err != nil {
		return fmt.Errorf("writing the audit checkpoint: %w", err)
	}
	_, err = f.WriteString(content)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), d.AuditCheckpointPath())
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("writing the audit checkpoint: %w", err)
	}
	return nil
}

// Initialized reports whether the directory holds a pepper.
func (d Dir) Initialized() bool {
	_, err := os.Stat(filepath.Join(d.Path, PepperFile))
	return err == nil
}

// Create makes the directory (0700, also when it exists already: it is
// about to hold the pepper, the master key and the database) and a fresh
// pepper from rand. It refuses to overwrite an existing pepper: losing it
// invalidates every token.
func (d Dir) Create(rand io.Reader) error {
	if err := os.MkdirAll(d.Path, 0o700); err != nil {
		return fmt.Errorf("creating data directory: %w", err)
	}
	if err := os.Chmod(d.Path, 0o700); err != nil {
		return fmt.Errorf("making the data directory private: %w", err)
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

// ReadSecretFile reads a secret file, refusing one that others can read
// (KindInvalid: the file's mode is to be fixed, not the server).
func ReadSecretFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, botgate.Errorf(botgate.KindInvalid, "%s is readable by others (mode %v); run 'chmod 600 %s'", path, fi.Mode().Perm(), path)
	}
	return os.ReadFile(path)
}
