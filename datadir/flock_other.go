//go:build !unix

package datadir

import "os"

// flock does nothing where flock(2) does not exist: the data directory is
// not locked there.
func flock(*os.File) error { return nil }
