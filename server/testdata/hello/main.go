// Command hello is the baseline of BenchmarkVersion: a Go program that
// prints one line and exits.
package main

import "fmt"

func main() { fmt.Println("hello") }
