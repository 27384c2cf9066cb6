package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"

	"github.com/botgate/botgate/datadir"
	"github.com/botgate/botgate/governance"
)

// OpenGovernor opens the installation cfg names, the store alone (a change
// bumps the store's authentication revision, which every server polls each
// second), and returns a Governor acting as botgate itself, and a function
// that closes it all. withVault also opens the vault, for apply; plan and
// lint read no secret value, so they do without it and never create a
// master key.
func OpenGovernor(ctx context.Context, cfg Config, withVault bool, log *slog.Logger) (*governance.Governor, func(), error) {
	if !(datadir.Dir{Path: cfg.DataDir}).Initialized() {
		return nil, nil, fmt.Errorf("%s is not a botgate data directory: run 'botgate init' (or 'botgate serve') first, or pass --data-dir", cfg.DataDir)
	}
	if err := requireStore(cfg); err != nil {
		return nil, nil, err
	}
	in, err := Open(ctx, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	gcfg := governance.Config{Authority: in.Authority, Store: in.Store, Logger: log}
	done := func() { in.Close() }
	if withVault {
		v, err := in.OpenVault(ctx, log)
		if err != nil {
			in.Close()
			return nil, nil, err
		}
		gcfg.Vault = v
		done = func() {
			v.Keyring().Destroy()
			in.Close()
		}
	}
	gov, err := governance.New(gcfg)
	if err != nil {
		done()
		return nil, nil, err
	}
	return gov, done, nil
}

// requireStore refuses to go on when cfg selects the data directory's
// SQLite database and there is none: opening it would create an empty
// one, and a plan or apply against it would report an empty instance (on
// a PostgreSQL node that forgot --store, "applied" into a new file while
// the cluster stayed unchanged). Only 'botgate init' and 'botgate serve'
// create a database.
func requireStore(cfg Config) error {
	kind, err := storeKind(cfg.Store)
	if err != nil || kind != storeSQLite {
		return err
	}
	path := datadir.Dir{Path: cfg.DataDir}.DatabasePath()
	if _, err := os.Stat(path); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("checking the database %s: %w", path, err)
	}
	return fmt.Errorf("the database %s does not exist, and plan, apply and lint never create one: "+
		"if this node uses PostgreSQL, pass --store (or BOTGATE_STORE, or store: in botgate.yaml with --config); "+
		"if the data directory is elsewhere, pass --data-dir; to work through a running server, set BOTGATE_URL and BOTGATE_TOKEN; "+
		"to create a new instance here, run 'botgate init'", path)
}
