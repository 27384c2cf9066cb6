package authority_test

import (
	"context"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/internal/benchdata"
	"github.com/botgate/botgate/internal/heapstat"
	"github.com/botgate/botgate/sqlite"
	"github.com/botgate/botgate/tokenfmt"
)

// BenchmarkStoredTokens measures Authenticate over many stored tokens, by
// default 100,000; BOTGATE_BENCH_TOKENS sets how many (1000000 for the
// million). Each token is a project access token of its own project bot,
// written straight through the store in transactions of 10,000, and every
// token is then authenticated once (the warm-up), so that all of them are
// active and cached. In the same run it reports:
//
//   - memory: the live heap and the resident set gained per active token
//     across the warm-up, and the whole process's resident set after it;
//     the store's build and the warm-up's wall time per token;
//   - floor-vs-cached: the checksum and HMAC of a token (CheckDigest, the
//     floor every presented token pays) against the cached Authenticate of
//     the same tokens, in a random order over all of them. The two sides
//     alternate in blocks of 1,000, each timed by the CPU time of the
//     benchmark's thread, and carry profile labels (side=floor,
//     side=cached, side=warm) for reading a -cpuprofile of either alone.
//
// BOTGATE_BENCH_HEAPPROFILE, if set, names a file to which the heap profile
// is written just after the warm-up (go tool pprof -sample_index
// inuse_space reads what the active tokens keep).
//
//	TMPDIR=/dev/shm BOTGATE_BENCH_TOKENS=1000000 \
//	  go test -run '^$' -bench StoredTokens -benchtime 200x -timeout 30m ./authority/
func BenchmarkStoredTokens(b *testing.B) {
	n := 100_000
	if v := os.Getenv("BOTGATE_BENCH_TOKENS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("BOTGATE_BENCH_TOKENS=%q: want a positive count", v)
		}
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "botgate.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	start := time.Now()
	d, err := tokenfmt.NewDigester(pepper)
	if err != nil {
		b.Fatal(err)
	}
	_, secrets, err := benchdata.ProjectBots(ctx, st, d, benchdata.Bots{N: n, Batch: 10_000})
	if err != nil {
		b.Fatal(err)
	}
	build := time.Since(start)
	order := make([]int32, n)
	for i, j := range mrand.Perm(n) {
		order[i] = int32(j)
	}

	// What the build left behind is returned to the system first, so that
	// the resident set gained is the warm-up's alone.
	debug.FreeOSMemory()
	heap0, rss0 := heapstat.Live(), heapstat.RSS()
	svc, err := authority.New(authority.Config{Store: st, Pepper: pepper, CacheTTL: time.Hour, UsageFlushInterval: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { svc.Close() })
	meta := authority.RequestMeta{IP: "192.0.2.1", UserAgent: "bench/1.0"}
	start = time.Now()
	pprof.Do(ctx, pprof.Labels("side", "warm"), func(ctx context.Context) {
		for _, s := range secrets {
			if _, err := svc.Authenticate(ctx, s, meta); err != nil {
				b.Fatal(err)
			}
		}
	})
	warm := time.Since(start)
	rss1 := heapstat.RSS()
	heap1 := heapstat.Live()
	if path := os.Getenv("BOTGATE_BENCH_HEAPPROFILE"); path != "" {
		writeHeapProfile(b, path)
	}
	runtime.KeepAlive(svc)

	b.Run("memory", func(b *testing.B) {
		for b.Loop() {
		}
		b.ReportMetric(float64(int64(heap1)-int64(heap0))/float64(n), "heap-B/token")
		b.ReportMetric(float64(int64(rss1)-int64(rss0))/float64(n), "rss-B/token")
		b.ReportMetric(float64(rss1)/(1<<20), "rss-MiB")
		b.ReportMetric(float64(build.Nanoseconds())/float64(n), "build-ns/token")
		b.ReportMetric(float64(warm.Nanoseconds())/float64(n), "warm-ns/token")
	})

	b.Run("floor-vs-cached", func(b *testing.B) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		block := min(1000, n)
		floorSide, cachedSide := pprof.Labels("side", "floor"), pprof.Labels("side", "cached")
		var floor, cached time.Duration
		var ops, next int
		for b.Loop() {
			idx := order[next : next+block]
			if next += block; next+block > n {
				next = 0
			}
			var t0, t1, t2 time.Duration
			pprof.Do(ctx, floorSide, func(context.Context) {
				t0 = benchdata.ThreadCPU()
				for _, j := range idx {
					if _, err := d.CheckDigest(secrets[j], tokenfmt.DefaultPrefix); err != nil {
						b.Fatal(err)
					}
				}
				t1 = benchdata.ThreadCPU()
			})
			pprof.Do(ctx, cachedSide, func(ctx context.Context) {
				for _, j := range idx {
					if _, err := svc.Authenticate(ctx, secrets[j], meta); err != nil {
						b.Fatal(err)
					}
				}
				t2 = benchdata.ThreadCPU()
			})
			floor, cached, ops = floor+t1-t0, cached+t2-t1, ops+len(idx)
		}
		b.ReportMetric(float64(floor.Nanoseconds())/float64(ops), "floor-cpu-ns/op")
		b.ReportMetric(float64(cached.Nanoseconds())/float64(ops), "cached-cpu-ns/op")
		b.ReportMetric(float64(cached)/float64(floor), "cached/floor")
	})
}

// writeHeapProfile writes the heap profile to path.
func writeHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}
