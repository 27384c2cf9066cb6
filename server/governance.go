package server

import (
	"context"
	"fmt"
	"log/slog"

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
