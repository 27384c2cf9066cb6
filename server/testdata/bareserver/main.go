// Command bareserver is the baseline of BenchmarkStartToHealth: a Go HTTP
// server that answers /-/health and does nothing else.
package main

import (
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/-/health", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	if err := http.ListenAndServe(os.Args[1], nil); err != nil {
		os.Exit(1)
	}
}
