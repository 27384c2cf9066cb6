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
	bin := filepath.Join(dir, "botgate")
	bare := filepath.Join(dir, "bareserver")
	for _, c := range [][]string{{"-o", bin, "../cmd/botgate"}, {"-o", bare, "./testdata/bareserver"}} {
		cmd := exec.Command("go", append([]string{"build"}, c...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("go build %v: %v\n%s", c, err, out)
		}
	}
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

// BenchmarkVersionCPU measures the CPU time (user + system) of one
// `botgate version`, against a Go program that prints one line
// (testdata/hello), alternating the two in one run. Nearly all of it is
// the Go runtime starting a large binary and running every linked
// package's init. It reports the mean of each and their ratio.
//
//	go test -run '^$' -bench VersionCPU -benchtime 30x ./server
func BenchmarkVersionCPU(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "botgate")
	hello := filepath.Join(dir, "hello")
	for _, c := range [][]string{{"-o", bin, "../cmd/botgate"}, {"-o", hello, "./testdata/hello"}} {
		cmd := exec.Command("go", append([]string{"build"}, c...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("go build %v: %v\n%s", c, err, out)
		}
	}
	cpu := func(path string, args ...string) time.Duration {
		cmd := exec.Command(path, args...)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%s: %v\n%s", path, err, out)
		}
		return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	var tBot, tHello time.Duration
	b.ResetTimer()
	for range b.N {
		tHello += cpu(hello)
		tBot += cpu(bin, "version")
	}
	n := float64(b.N)
	b.ReportMetric(float64(tBot.Microseconds())/1000/n, "botgate-cpu-ms")
	b.ReportMetric(float64(tHello.Microseconds())/1000/n, "hello-cpu-ms")
	b.ReportMetric(float64(tBot)/float64(tHello), "ratio")
}
