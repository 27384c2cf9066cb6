// Package heapstat measures the live heap, for benchmarks that report the
// memory a structure keeps (bytes per token) rather than what it allocates.
package heapstat

import (
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Live returns the heap in use after two full collections, so that what
// is still reachable is all that is counted.
func Live() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// RSS returns the process's resident set size in bytes, from
// /proc/self/statm; 0 where that cannot be read.
func RSS() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * uint64(os.Getpagesize())
}
