package server_test

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/internal/pgtest"
	"github.com/botgate/botgate/postgres"
)

// writeNode is one botgate node of the write benchmarks: its own
// connection pool and authority over the shared PostgreSQL schema, as two
// `botgate serve --store postgres://…` processes have.
type writeNode struct {
	auth *authority.Service
	bot  *botgate.User
}

// serialStore hides UpdateShared: every write takes the writer lock
// alone, as every write did before token writes could run side by side.
type serialStore struct{ botgate.Store }

var benchPepper = []byte(strings.Repeat("write-bench-pepper-", 2))

// openWriteNodes opens n nodes on one fresh schema, with an automation
// whose service account the workload cycle mints for.
func openWriteNodes(b *testing.B, url string, n int, serial bool) []*writeNode {
	ctx := context.Background()
	var nodes []*writeNode
	for i := range n {
		s, err := postgres.Open(ctx, url, postgres.WithMaxConns(16))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		var store botgate.Store = s
		if serial {
			store = serialStore{s}
		}
		auth, err := authority.New(authority.Config{Store: store, Pepper: benchPepper, RevisionPoll: -1})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { auth.Close() })
		node := &writeNode{auth: auth}
		if i == 0 {
			err = s.Update(ctx, func(tx botgate.Tx) error {
				g := botgate.Group{Name: "ci", Path: "ci", FullPath: "ci", Visibility: botgate.Private}
				if err := tx.CreateGroup(ctx, &g); err != nil {
					return err
				}
				u := botgate.User{Username: "ci-bot", Kind: botgate.ServiceAccount, State: botgate.UserActive}
				if err := tx.CreateUser(ctx, &u); err != nil {
					return err
				}
				return tx.CreateAutomation(ctx, &botgate.Automation{Name: "ci", OwnerGroupID: g.ID,
					Kind: botgate.AutomationServiceAccount, ServiceAccount: u.Username, Scopes: botgate.Scopes{botgate.ScopeReadAPI}})
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		if err := s.View(ctx, func(tx botgate.Tx) (err error) {
			node.bot, err = tx.UserByUsername(ctx, "ci-bot")
			return err
		}); err != nil {
			b.Fatal(err)
		}
		nodes = append(nodes, node)
	}
	return nodes
}

// writeRound runs op from clients goroutines, spread over the nodes in
// turn, for d, and returns operations per second and process CPU per
// operation.
func writeRound(b *testing.B, nodes []*writeNode, clients int, d time.Duration, op func(n *writeNode, worker, i int) error) (float64, time.Duration) {
	var (
		done  atomic.Int64
		stop  atomic.Bool
		wg    sync.WaitGroup
		first atomic.Value
	)
	cpu0 := cpuTime()
	start := time.Now()
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := nodes[w%len(nodes)]
			for i := 0; !stop.Load(); i++ {
				if err := op(n, w, i); err != nil {
					first.CompareAndSwap(nil, err)
					return
				}
				done.Add(1)
			}
		}()
	}
	time.Sleep(d)
	stop.Store(true)
	wg.Wait()
	elapsed := time.Since(start)
	if err, _ := first.Load().(error); err != nil {
		b.Fatal(err)
	}
	ops := done.Load()
	if ops == 0 {
		b.Fatal("no operation completed")
	}
	return float64(ops) / elapsed.Seconds(), (cpuTime() - cpu0) / time.Duration(ops)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var runSeq atomic.Int64

// createOp creates a personal token of the service account (as botgate
// itself, like `botgate apply`).
func createOp(n *writeNode, w, i int) error {
	_, err := n.auth.CreatePersonalToken(context.Background(), authority.SystemActor(), n.bot.ID,
		authority.NewToken{Name: fmt.Sprintf("w%d-%d", w, i), Scopes: []string{"read_api"}})
	return err
}

// cycleOp is a workload's life: exchange (the token minted for a verified
// identity, its jti recorded), one authenticated use on another node, and
// the token revoking itself on a third (botgate exec's DELETE
// /personal_access_tokens/self).
func cycleOp(nodes []*writeNode) func(n *writeNode, w, i int) error {
	return func(n *writeNode, w, i int) error {
		ctx := context.Background()
		now := time.Now()
		c, err := n.auth.MintWorkloadToken(ctx, authority.WorkloadGrant{Automation: "ci",
			ExpiresAt: now.Add(10 * time.Minute), Subject: "project_path:ci/app:ref_type:branch:ref:main", Issuer: "https://gitlab.example",
			JTI: fmt.Sprintf("%d-%d-%d", runSeq.Add(1), w, i), JTIExpiresAt: now.Add(time.Hour)})
		if err != nil {
			return err
		}
		other := nodes[(w+1)%len(nodes)]
		id, err := other.auth.Authenticate(ctx, c.Secret, authority.RequestMeta{})
		if err != nil {
			return err
		}
		return n.auth.RevokeToken(ctx, id.Actor(authority.RequestMeta{}), c.Token.ID)
	}
}

// BenchmarkWriteScaling measures token writes on PostgreSQL as they
// scale with concurrent clients and with nodes (each node its own pool
// and authority on one schema), against baselines in the same run: one
// client on one node, and the same loads with every write serialized
// (the writer lock exclusive, as before token writes ran side by side).
// Each case runs in interleaved rounds; the figures are per-round medians.
//
//	BOTGATE_TEST_POSTGRES_URL=… go test -run '^$' -bench WriteScaling -benchtime 1x ./server/
func BenchmarkWriteScaling(b *testing.B) {
	base := pgtest.URL(b, "the PostgreSQL write benchmark")
	shared := openWriteNodes(b, pgtest.Schema(b, base), 2, false)
	serial := openWriteNodes(b, pgtest.Schema(b, base), 2, true)
	const rounds, d = 5, time.Second
	type scenario struct {
		name    string
		nodes   []*writeNode
		clients int
		op      func(n *writeNode, w, i int) error
	}
	scenarios := []scenario{
		{"create 1 client 1 node", shared[:1], 1, createOp},
		{"create 8 clients 1 node", shared[:1], 8, createOp},
		{"create 16 clients 2 nodes", shared, 16, createOp},
		{"serialized: create 1 client 1 node", serial[:1], 1, createOp},
		{"serialized: create 8 clients 1 node", serial[:1], 8, createOp},
		{"serialized: create 16 clients 2 nodes", serial, 16, createOp},
		{"workload cycle 1 client 2 nodes", shared, 1, cycleOp(shared)},
		{"workload cycle 16 clients 2 nodes", shared, 16, cycleOp(shared)},
		{"serialized: workload cycle 16 clients 2 nodes", serial, 16, cycleOp(serial)},
	}
	rates := make([][]float64, len(scenarios))
	cpus := make([][]time.Duration, len(scenarios))
	for range b.N {
		for r := range rounds {
			for i, sc := range scenarios {
				writeRound(b, sc.nodes, sc.clients, 100*time.Millisecond, sc.op) // warm-up
				rate, cpu := writeRound(b, sc.nodes, sc.clients, d, sc.op)
				rates[i] = append(rates[i], rate)
				cpus[i] = append(cpus[i], cpu)
				_ = r
			}
		}
	}
	med := func(v []float64) float64 {
		s := append([]float64(nil), v...)
		sort.Float64s(s)
		return s[len(s)/2]
	}
	ratio := func(a, c int) []float64 {
		var out []float64
		for r := range rates[a] {
			out = append(out, rates[a][r]/rates[c][r])
		}
		return out
	}
	for i, sc := range scenarios {
		sort.Slice(cpus[i], func(x, y int) bool { return cpus[i][x] < cpus[i][y] })
		b.Logf("%-46s %8.0f ops/s (rounds %v), CPU %v/op", sc.name, med(rates[i]), rounded(rates[i]), cpus[i][len(cpus[i])/2])
	}
	b.Logf("GOMAXPROCS %d", runtime.GOMAXPROCS(0))
	b.ReportMetric(med(ratio(1, 0)), "8clients/1client")
	b.ReportMetric(med(ratio(2, 1)), "2nodes/1node")
	b.ReportMetric(med(ratio(4, 3)), "serial-8clients/1client")
	b.ReportMetric(med(ratio(5, 4)), "serial-2nodes/1node")
	b.ReportMetric(med(rates[7]), "cycles/s")
	b.ReportMetric(med(ratio(7, 8)), "cycles/serial-cycles")
}

func rounded(v []float64) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x + 0.5)
	}
	return out
}
