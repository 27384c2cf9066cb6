package server

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/datadir"
	"github.com/botgate/botgate/postgres"
	"github.com/botgate/botgate/sqlite"
)

// Store selections: the data directory's SQLite file (the default), or a
// PostgreSQL database shared by several nodes.
const (
	storeSQLite   = "sqlite"
	storePostgres = "postgres"
)

// storeKind tells which store spec selects: "" or "sqlite" the data
// directory's SQLite file, a postgres:// or postgresql:// URL PostgreSQL.
func storeKind(spec string) (string, error) {
	switch {
	case spec == "" || spec == storeSQLite:
		return storeSQLite, nil
	case strings.HasPrefix(spec, "postgres://"), strings.HasPrefix(spec, "postgresql://"):
		return storePostgres, nil
	}
	// Never echo spec: a URL can hold a password.
	return "", fmt.Errorf("--store must be sqlite or a postgres:// URL")
}

// openStore opens the store spec selects.
func openStore(ctx context.Context, spec string, d datadir.Dir, log *slog.Logger) (botgate.Store, error) {
	kind, err := storeKind(spec)
	if err != nil {
		return nil, err
	}
	if kind == storePostgres {
		st, err := postgres.Open(ctx, spec, postgres.WithLogger(log))
		if err != nil {
			return nil, fmt.Errorf("opening the PostgreSQL store: %w", err)
		}
		return st, nil
	}
	st, err := sqlite.Open(ctx, d.DatabasePath(), sqlite.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", d.DatabasePath(), err)
	}
	return st, nil
}

// refuseSharedReinit fails if spec selects a shared store that already
// holds an installation: a new node joins it with a copy of the first
// node's pepper and vault master key, never with fresh ones.
func refuseSharedReinit(ctx context.Context, spec string, d datadir.Dir, log *slog.Logger) error {
	kind, err := storeKind(spec)
	if err != nil || kind != storePostgres {
		return err
	}
	st, err := openStore(ctx, spec, d, log)
	if err != nil {
		return err
	}
	defer st.Close()
	done, err := authority.Initialized(ctx, st)
	if err != nil {
		return err
	}
	if done {
		return fmt.Errorf("the PostgreSQL store already holds a botgate installation: copy the pepper and the vault master key from an initialised node into %s (see docs/deployment.md) instead of initialising it again", d.Path)
	}
	return nil
}
