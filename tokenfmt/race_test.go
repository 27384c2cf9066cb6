//go:build race

package tokenfmt

// raceEnabled reports whether the race detector is on: it drops sync.Pool
// items at random, so allocation counts mean nothing under it.
const raceEnabled = true
