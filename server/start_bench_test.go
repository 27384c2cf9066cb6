package server

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkStartToHealth measures how long the botgate binary takes from
// exec to its first 200 on /-/health, against a bare Go server
// (testdata/bareserver) started the same way, alternating the two in one
// run. It reports the mean of each and their ratio (goal: ≤ 2).
//
//	go test -run '^$' -bench StartToHealth -benchtime 40x ./server
func BenchmarkStartToHealth(b *testing.B) {
	dir := b.TempDir()
	bin, bare := build(b, dir, "../cmd/botgate"), build(b, dir, "./testdata/bareserver")
	data := filepath.Join(dir, "data")
	botgate := func(addr string) *exec.Cmd {
		return exec.Command(bin, "serve", "--listen", addr, "--data-dir", data,
			"--admin-token-file", filepath.Join(dir, "admin.token"))
	}
	baseline := func(addr string) *exec.Cmd { return exec.Command(bare, addr) }
	startOnce(b, botgate) // initialises the data directory
	var tBot, tBare time.Duration
	b.ResetTimer()
	for range b.N {
		tBare += startOnce(b, baseline)
		tBot += startOnce(b, botgate)
	}
	n := float64(b.N)
	b.ReportMetric(float64(tBot.Microseconds())/1000/n, "botgate-ms")
	b.ReportMetric(float64(tBare.Microseconds())/1000/n, "bare-ms")
	b.ReportMetric(float64(tBot)/float64(tBare), "ratio")
}

// startOnce starts the command on a free loopback port, polls /-/health
// until it answers 200, stops the process and returns the time to health.
func startOnce(b *testing.B, mk func(addr string) *exec.Cmd) time.Duration {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := mk(addr)
	cmd.Stdout, cmd.Stderr = nil, nil
	client := &http.Client{Timeout: time.Second}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	for time.Since(start) < 20*time.Second {
		resp, err := client.Get("http://" + addr + "/-/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start)
			}
		}
		time.Sleep(200 * time.Microsecond)
	}
	b.Fatalf("%s did not answer /-/health within 20s", cmd.Path)
	return 0
}

// build builds the command in pkg into dir and returns the binary's path.
func build(b *testing.B, dir, pkg string) string {
	b.Helper()
	bin := filepath.Join(dir, filepath.Base(pkg))
	if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		b.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// BenchmarkVersion measures `botgate version` from exec to exit against a
// Go program that prints one line (testdata/hello), alternating the two
// in one run: what botgate's start costs a short command (goal: ≤ 20 ms).
// Beside the wall time it reports the CPU time (user and system) of each,
// which a loaded machine disturbs much less.
//
//	go test -run '^$' -bench Version -benchtime 50x ./server
func BenchmarkVersion(b *testing.B) {
	dir := b.TempDir()
	bin, hello := build(b, dir, "../cmd/botgate"), build(b, dir, "./testdata/hello")
	run := func(name string, args ...string) (wall, cpu time.Duration) {
		cmd := exec.Command(name, args...)
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%s: %v\n%s", name, err, out)
		}
		return time.Since(start), cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	run(bin, "version") // the page cache holds the binaries
	run(hello)
	var wBot, wHello, cBot, cHello time.Duration
	for b.Loop() {
		w, c := run(hello)
		wHello, cHello = wHello+w, cHello+c
		w, c = run(bin, "version")
		wBot, cBot = wBot+w, cBot+c
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
	b.ReportMetric(ms(wBot), "version-ms")
	b.ReportMetric(ms(wHello), "hello-ms")
	b.ReportMetric(float64(wBot)/float64(wHello), "ratio")
	b.ReportMetric(ms(cBot), "version-cpu-ms")
	b.ReportMetric(ms(cHello), "hello-cpu-ms")
}
