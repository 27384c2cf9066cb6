//go:build unix

package benchrun

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/botgate/botgate/loadgen"
)

// BenchmarkAgainstWrk measures one forward-auth server, built as botgate
// bench builds it, with botgate bench's load generator and with wrk, on the
// same URL with the same tokens and request (testdata/auth.lua sends what
// the Rotation below sends), 16 connections each, rounds alternating which
// tool goes first. It reports each tool's median throughput, their ratio
// (bench ÷ wrk), and the CPU time per request: the whole process's under
// bench (its load generator runs in the server's process), the server's
// alone and wrk's under wrk, and the cores each kept busy.
//
//	go test -run '^$' -bench AgainstWrk -benchtime 1x ./benchrun/
//
// BENCH_WRK_DURATION (default 5s) sets each run's length.
func BenchmarkAgainstWrk(b *testing.B) {
	wrkPath, err := exec.LookPath("wrk")
	if err != nil {
		b.Skip("wrk is not installed: nothing to compare botgate bench with")
	}
	dur := 5 * time.Second
	if v := os.Getenv("BENCH_WRK_DURATION"); v != "" {
		if dur, err = time.ParseDuration(v); err != nil || dur < time.Second || dur%time.Second != 0 {
			b.Fatalf("BENCH_WRK_DURATION=%q: want whole seconds, at least 1s", v)
		}
	}
	const conns, threads, rounds, tokens = 16, 2, 3, 2000
	ctx := b.Context()
	log := slog.New(slog.DiscardHandler)
	w, err := newBenchWorld(ctx, tokens, nil, 0, log)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	run := &benchRunner{o: Options{Connections: conns}, w: w, log: log, prog: io.Discard}
	gw, srv, err := run.forwardAuthServer()
	if err != nil {
		b.Fatal(err)
	}
	defer gw.Close()
	defer srv.Close()

	var list strings.Builder
	for _, t := range w.tokens {
		fmt.Fprintf(&list, "%s %s\n", t.Secret, t.Tag)
	}
	tokFile := filepath.Join(b.TempDir(), "tokens")
	if err := os.WriteFile(tokFile, []byte(list.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	script, err := filepath.Abs("testdata/auth.lua")
	if err != nil {
		b.Fatal(err)
	}
	fn, err := loadgen.Rotation{Target: srv.url, Tokens: w.tokens, Shapes: []loadgen.Shape{{Method: http.MethodGet, Path: "/-/auth",
		Header: http.Header{"X-Original-Method": {"GET"}, "X-Original-Uri": {"/api/v4/projects/{tag}/pipelines?page={n}"},
			"User-Agent": {"botgate-bench/1"}}}}}.Func()
	if err != nil {
		b.Fatal(err)
	}
	if err := run.warm(ctx, srv.url, fn, len(w.tokens)); err != nil {
		b.Fatal(err)
	}

	// bench runs one side of a botgate bench round, as the auth scenario
	// configures it (its default 300 ms warm-up, excluded).
	bench := func() (rps float64, cpuPerReq time.Duration) {
		res, err := loadgen.Run(ctx, loadgen.Config{Name: "bench", Target: srv.url, Connections: conns, Duration: dur,
			Warmup: 300 * time.Millisecond, Request: fn})
		if err != nil {
			b.Fatal(err)
		}
		if err := checkResult(res); err != nil {
			b.Fatal(err)
		}
		return res.Throughput, res.CPUPerRequest()
	}
	// wrk runs wrk; it returns its throughput, the server's CPU time per
	// request (this process's, wrk being another) and wrk's.
	wrk := func() (rps float64, serverCPU, clientCPU time.Duration) {
		args := []string{"-t" + strconv.Itoa(threads), "-c" + strconv.Itoa(conns), "-d" + dur.String(), "-s", script,
			srv.url + "/-/auth", "--", tokFile, strconv.Itoa(threads)}
		cmd := exec.CommandContext(ctx, wrkPath, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		cpu0 := selfCPU()
		if err := cmd.Run(); err != nil {
			b.Fatalf("wrk %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
		cpu := selfCPU() - cpu0
		text := out.String()
		if strings.Contains(text, "Non-2xx") || strings.Contains(text, "Socket errors") {
			b.Fatalf("wrk got failures:\n%s", text)
		}
		m := regexp.MustCompile(`(\d+) requests in`).FindStringSubmatch(text)
		r := regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`).FindStringSubmatch(text)
		if m == nil || r == nil {
			b.Fatalf("no throughput in wrk's output:\n%s", text)
		}
		n, _ := strconv.ParseInt(m[1], 10, 64)
		rps, _ = strconv.ParseFloat(r[1], 64)
		if n == 0 {
			b.Fatalf("wrk completed no request:\n%s", text)
		}
		client := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		return rps, cpu / time.Duration(n), client / time.Duration(n)
	}

	var benchRPS, wrkRPS, ratios, benchCPU, srvCPU, wrkCPU []float64
	for range b.N {
		for i := 1; i <= rounds; i++ {
			var brps, wrps float64
			var bcpu, scpu, wcpu time.Duration
			if loadgen.FirstInRound(i) {
				brps, bcpu = bench()
				wrps, scpu, wcpu = wrk()
			} else {
				wrps, scpu, wcpu = wrk()
				brps, bcpu = bench()
			}
			first := map[bool]string{true: "bench", false: "wrk"}[loadgen.FirstInRound(i)]
			b.Logf("round %d (%s first): bench %.0f req/s, %v CPU/req (client and server) | wrk %.0f req/s, server %v CPU/req, wrk %v CPU/req | bench/wrk %.3f",
				i, first, brps, bcpu, wrps, scpu, wcpu, brps/wrps)
			benchRPS, wrkRPS, ratios = append(benchRPS, brps), append(wrkRPS, wrps), append(ratios, brps/wrps)
			benchCPU, srvCPU, wrkCPU = append(benchCPU, float64(bcpu)), append(srvCPU, float64(scpu)), append(wrkCPU, float64(wcpu))
		}
	}
	b.ReportMetric(loadgen.Median(benchRPS), "bench-req/s")
	b.ReportMetric(loadgen.Median(wrkRPS), "wrk-req/s")
	b.ReportMetric(loadgen.Median(ratios), "bench/wrk")
	b.ReportMetric(loadgen.Median(benchCPU)/1e3, "bench-cpu-µs/req")
	b.ReportMetric(loadgen.Median(srvCPU)/1e3, "server-cpu-µs/req-under-wrk")
	b.ReportMetric(loadgen.Median(wrkCPU)/1e3, "wrk-cpu-µs/req")
	// The cores each side kept busy: throughput × CPU per request. On a
	// shared machine the scheduler hands out CPU per runnable thread, so
	// the side with more of them (wrk's threads beside the server's)
	// gets more of it; this, not the cost of a request, is what the
	// throughput ratio then shows.
	b.ReportMetric(loadgen.Median(benchRPS)*loadgen.Median(benchCPU)/1e9, "bench-cores")
	b.ReportMetric(loadgen.Median(wrkRPS)*(loadgen.Median(srvCPU)+loadgen.Median(wrkCPU))/1e9, "wrk-cores")
	// CPU per request, wrk's and the server's over bench's: the
	// throughput ratio both would reach on the same share of CPU.
	b.ReportMetric((loadgen.Median(srvCPU)+loadgen.Median(wrkCPU))/loadgen.Median(benchCPU), "cpu-bench/wrk")
}

// selfCPU is this process's CPU time, user and system.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
