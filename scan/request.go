package scan

import (
	"context"
	"io"

	"github.com/botgate/botgate"
)

// Request is what 'botgate scan' is asked to do.
type Request struct {
	// Paths are files and directories, or with Git repositories whose
	// history to scan; none scans ".". FromStdin scans standard input
	// instead.
	Paths     []string
	Git       bool
	FromStdin bool
	// Prefixes and Ignore are Config's; MaxSize is Config.MaxFileSize,
	// with 0 for no limit.
	Prefixes, Ignore []string
	MaxSize          int64
}

// Run scans what req names, stdin for standard input. A request that
// cannot be carried out is a KindInvalid error; a path that does not exist
// is KindNotFound.
func Run(ctx context.Context, req Request, stdin io.Reader) (*Result, error) {
	if req.Git && req.FromStdin {
		return nil, botgate.Errorf(botgate.KindInvalid, "--git and --stdin do not go together")
	}
	src := Sources{Paths: req.Paths, Git: req.Git}
	if req.FromStdin {
		src.Stdin = stdin
	} else if len(req.Paths) == 0 {
		src.Paths = []string{"."}
	}
	maxSize := req.MaxSize
	if maxSize == 0 {
		maxSize = -1
	}
	s, err := New(Config{Prefixes: req.Prefixes, Ignore: req.Ignore, MaxFileSize: maxSize})
	if err != nil {
		return nil, err
	}
	res := &Result{}
	if err := s.Scan(ctx, src, res); err != nil {
		return nil, err
	}
	return res, nil
}
