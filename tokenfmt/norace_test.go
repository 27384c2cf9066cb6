//go:build !race

package tokenfmt

// raceEnabled reports whether the race detector is on.
const raceEnabled = false
