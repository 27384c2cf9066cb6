// Command hello is the baseline of BenchmarkVersionCPU: a Go program that
// prints one line and exits, as `botgate version` does.
package main

import "fmt"

func main() { fmt.Println("hello") }
