// Package heapstat measures the live heap, for benchmarks that report the
// memory a structure keeps (bytes per token) rather than what it allocates.
package heapstat

import "runtime"

// Live returns the heap in use after two full collections, so that what
// is still reachable is all that is counted.
func Live() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
