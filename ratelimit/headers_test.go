package ratelimit_test

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/ratelimit"
)

func TestPerMinute(t *testing.T) {
	tests := []struct {
		name  string
		limit botgate.Limit
		want  int64
	}{
		{"GitLab.com authenticated API", botgate.Limit{Rate: 2000, Period: time.Minute}, 2000},
		{"self-managed 7200 per hour", botgate.Limit{Rate: 7200, Period: time.Hour}, 120},
		{"10 per second", botgate.Limit{Rate: 10, Period: time.Second}, 600},
		{"1 per 7 seconds rounds up", botgate.Limit{Rate: 1, Period: 7 * time.Second}, 9},
		{"1 per day rounds up to 1", botgate.Limit{Rate: 1, Period: 24 * time.Hour}, 1},
		{"zero limit", botgate.Limit{}, 0},
		{"saturates", botgate.Limit{Rate: math.MaxInt, Period: time.Nanosecond}, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ratelimit.PerMinute(tt.limit); got != tt.want {
				t.Fatalf("PerMinute(%+v) = %d, want %d", tt.limit, got, tt.want)
			}
		})
	}
}

func TestHeaders(t *testing.T) {
	gitlabCom := botgate.Limit{Rate: 2000, Period: time.Minute, Burst: 2000}
	hourly := botgate.Limit{Rate: 7200, Period: time.Hour, Burst: 7200}
	// 2021-01-05 11:00:00 UTC, GitLab's documented example, is 1609844400.
	at := func(s string) time.Time {
		t.Helper()
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		name string
		r    botgate.LimitResult
		now  time.Time
		want map[string]string // "" means the header must be absent
	}{
		{
			name: "allowed",
			r:    botgate.LimitResult{Allowed: true, Limit: gitlabCom, Remaining: 1999, ResetAfter: 30 * time.Millisecond},
			now:  at("2021-01-05T10:59:30Z"),
			want: map[string]string{
				"RateLimit-Limit": "2000", "RateLimit-Remaining": "1999", "RateLimit-Observed": "1",
				"RateLimit-Reset": "1609844400", "Retry-After": "", "RateLimit-ResetTime": "",
			},
		},
		{
			name: "allowed, per-minute figure of an hourly limit: Remaining never above Limit",
			r:    botgate.LimitResult{Allowed: true, Limit: hourly, Remaining: 7000, ResetAfter: 100 * time.Second},
			now:  at("2021-01-05T10:59:20Z"),
			want: map[string]string{
				"RateLimit-Limit": "120", "RateLimit-Remaining": "120", "RateLimit-Observed": "0",
				"RateLimit-Reset": "1609844400", "Retry-After": "",
			},
		},
		{
			name: "allowed, a burst smaller than the per-minute figure",
			r:    botgate.LimitResult{Allowed: true, Limit: botgate.Limit{Rate: 7200, Period: time.Hour, Burst: 10}, Remaining: 4},
			now:  at("2021-01-05T10:59:00Z"),
			want: map[string]string{
				"RateLimit-Limit": "120", "RateLimit-Remaining": "4", "RateLimit-Observed": "6",
				"RateLimit-Reset": "1609844400",
			},
		},
		{
			name: "denied: GitLab's documented example",
			r:    botgate.LimitResult{Limit: gitlabCom, RetryAfter: 29500 * time.Millisecond, ResetAfter: time.Minute},
			now:  at("2021-01-05T10:59:30.5Z"),
			want: map[string]string{
				"RateLimit-Limit": "2000", "RateLimit-Remaining": "0", "RateLimit-Observed": "2984",
				"RateLimit-Reset": "1609844400", "Retry-After": "30",
				"RateLimit-ResetTime": "Tue, 05 Jan 2021 11:00:00 GMT",
			},
		},
		{
			name: "denied for less than a second: Retry-After is at least 1",
			r:    botgate.LimitResult{Limit: gitlabCom, RetryAfter: 30 * time.Millisecond, ResetAfter: time.Minute},
			now:  at("2021-01-05T10:59:59.5Z"),
			want: map[string]string{
				"RateLimit-Reset": "1609844400", "Retry-After": "1",
				"RateLimit-ResetTime": "Tue, 05 Jan 2021 11:00:00 GMT",
			},
		},
		{
			name: "denied on a whole second: nothing to round",
			r:    botgate.LimitResult{Limit: gitlabCom, RetryAfter: 2 * time.Second},
			now:  at("2021-01-05T10:59:58Z"),
			want: map[string]string{"RateLimit-Reset": "1609844400", "Retry-After": "2"},
		},
		{
			name: "now in another zone: the HTTP-date is GMT",
			r:    botgate.LimitResult{Limit: gitlabCom, RetryAfter: time.Second},
			now:  at("2021-01-05T11:59:59+01:00"),
			want: map[string]string{"RateLimit-ResetTime": "Tue, 05 Jan 2021 11:00:00 GMT"},
		},
		{
			name: "zero limit: no headers",
			r:    botgate.LimitResult{Allowed: true},
			now:  at("2021-01-05T10:59:30Z"),
			want: map[string]string{"RateLimit-Limit": "", "RateLimit-Remaining": "", "RateLimit-Reset": ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			ratelimit.Headers(h, tt.r, tt.now)
			for name, want := range tt.want {
				if got := h.Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

// TestHeadersOverHTTP sends a real limiter's decisions through a real
// server and client: the headers parse as GitLab's clients parse them, and
// a client that waits until RateLimit-Reset is allowed again.
func TestHeadersOverHTTP(t *testing.T) {
	clock := ratelimit.NewManualClock(t0.Add(123 * time.Millisecond))
	m := ratelimit.NewMemory(clock)
	l := botgate.Limit{Rate: 120, Period: time.Minute, Burst: 3} // T = 500ms
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := m.Allow(r.Context(), "token:7", l, 1)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		ratelimit.Headers(w.Header(), res, clock.Now())
		if !res.Allowed {
			w.WriteHeader(http.StatusTooManyRequests)
		}
	}))
	defer srv.Close()
	get := func() *http.Response {
		t.Helper()
		resp, err := srv.Client().Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i := range 3 {
		resp := get()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: status %d", i, resp.StatusCode)
		}
		if got := resp.Header.Get("RateLimit-Limit"); got != "120" {
			t.Fatalf("RateLimit-Limit = %q, want 120", got)
		}
		if got, want := resp.Header.Get("RateLimit-Remaining"), strconv.Itoa(2-i); got != want {
			t.Fatalf("request %d: RateLimit-Remaining = %q, want %q", i, got, want)
		}
	}
	resp := get()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("4th request: status %d, want 429", resp.StatusCode)
	}
	reset, err := strconv.ParseInt(resp.Header.Get("RateLimit-Reset"), 10, 64)
	if err != nil {
		t.Fatalf("RateLimit-Reset: %v", err)
	}
	retry, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || retry < 1 {
		t.Fatalf("Retry-After = %q, want a positive integer", resp.Header.Get("Retry-After"))
	}
	resetTime, err := http.ParseTime(resp.Header.Get("RateLimit-ResetTime"))
	if err != nil || resetTime.Unix() != reset {
		t.Fatalf("RateLimit-ResetTime = %q (%v), want the HTTP-date of %d", resp.Header.Get("RateLimit-ResetTime"), err, reset)
	}
	// A client sleeping until RateLimit-Reset (client-go) is allowed.
	clock.Set(time.Unix(reset, 0))
	if r, _ := m.Allow(context.Background(), "token:7", l, 0); r.Remaining < 1 {
		t.Fatalf("at RateLimit-Reset nothing is allowed: %+v", r)
	}
	// So is one sleeping Retry-After seconds (python-gitlab).
	m2 := ratelimit.NewMemory(clock)
	for range 3 {
		if _, err := m2.Allow(context.Background(), "k", l, 1); err != nil {
			t.Fatal(err)
		}
	}
	r, _ := m2.Allow(context.Background(), "k", l, 1)
	h := http.Header{}
	ratelimit.Headers(h, r, clock.Now())
	secs, _ := strconv.Atoi(h.Get("Retry-After"))
	clock.Advance(time.Duration(secs) * time.Second)
	if r, _ := m2.Allow(context.Background(), "k", l, 1); !r.Allowed {
		t.Fatalf("after Retry-After %ds still denied: %+v", secs, r)
	}
}

// TestHeadersMapEntries checks what Headers stores in the map itself: the
// canonical keys http.Header.Set would use (so Get, Values and the wire
// see ordinary headers), replacing earlier values, and one-element values
// that an Add extends without touching another header.
func TestHeadersMapEntries(t *testing.T) {
	l := botgate.Limit{Rate: 2000, Period: time.Minute, Burst: 2000}
	now := time.Date(2021, 1, 5, 10, 59, 30, 0, time.UTC)
	tests := []struct {
		name string
		r    botgate.LimitResult
		keys []string
	}{
		{"allowed", botgate.LimitResult{Allowed: true, Limit: l, Remaining: 10, ResetAfter: time.Second},
			[]string{ratelimit.HeaderLimit, ratelimit.HeaderRemaining, ratelimit.HeaderObserved, ratelimit.HeaderReset}},
		{"denied", botgate.LimitResult{Limit: l, RetryAfter: 2 * time.Second, ResetAfter: time.Minute},
			[]string{ratelimit.HeaderLimit, ratelimit.HeaderRemaining, ratelimit.HeaderObserved, ratelimit.HeaderReset,
				ratelimit.HeaderRetryAfter, ratelimit.HeaderResetTime}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := http.Header{}
			for _, k := range tt.keys {
				want.Set(k, "stale")
			}
			h := want.Clone()
			ratelimit.Headers(h, tt.r, now)
			if len(h) != len(tt.keys) {
				t.Fatalf("Headers wrote %d keys, want %d: %v", len(h), len(tt.keys), h)
			}
			for _, k := range tt.keys {
				ck := http.CanonicalHeaderKey(k)
				vs, ok := h[ck]
				if !ok || len(vs) != 1 || vs[0] == "stale" || vs[0] == "" {
					t.Errorf("h[%q] = %q, want one fresh value", ck, vs)
				}
			}
			before := map[string]string{}
			for _, k := range tt.keys {
				before[k] = h.Get(k)
			}
			for _, k := range tt.keys {
				h.Add(k, "added")
			}
			for _, k := range tt.keys {
				if got := h.Values(k); len(got) != 2 || got[0] != before[k] || got[1] != "added" {
					t.Errorf("after Add, %s = %q, want [%q added]", k, got, before[k])
				}
			}
		})
	}
}

// TestHeadersAllocations pins Headers' allocations on the decision path:
// one string for every value and one backing array for their slices.
func TestHeadersAllocations(t *testing.T) {
	l := botgate.Limit{Rate: 2000, Period: time.Minute, Burst: 2000}
	now := time.Date(2021, 1, 5, 10, 59, 30, 0, time.UTC)
	tests := []struct {
		name string
		r    botgate.LimitResult
	}{
		{"allowed", botgate.LimitResult{Allowed: true, Limit: l, Remaining: 1999, ResetAfter: time.Second}},
		{"denied", botgate.LimitResult{Limit: l, RetryAfter: 2 * time.Second, ResetAfter: time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := make(http.Header, 8)
			allocs := testing.AllocsPerRun(100, func() { ratelimit.Headers(h, tt.r, now) })
			if allocs > 2 {
				t.Fatalf("Headers allocates %.0f times, want at most 2", allocs)
			}
		})
	}
}

// TestHeadersConsistent drives a real limiter past its limit and checks
// what throttlers compute from the headers: Remaining never exceeds
// Limit, Observed + Remaining is the quota while allowed and passes it
// when refused, and Reset names the same instant on every answer of a
// minute (allowed) or of a wait (refused).
func TestHeadersConsistent(t *testing.T) {
	clock := ratelimit.NewManualClock(time.Date(2026, 11, 24, 10, 11, 12, 0, time.UTC))
	m := ratelimit.NewMemory(clock)
	l := botgate.Limit{Rate: 7200, Period: time.Hour, Burst: 600} // botgate's API default
	num := func(h http.Header, name string) int64 {
		t.Helper()
		v, err := strconv.ParseInt(h.Get(name), 10, 64)
		if err != nil {
			t.Fatalf("%s = %q: %v", name, h.Get(name), err)
		}
		return v
	}
	resets := map[bool]map[int64]bool{true: {}, false: {}}
	var lastObserved int64
	refused := 0
	for i := range 700 {
		r, err := m.Allow(context.Background(), "user:1", l, 1)
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		ratelimit.Headers(h, r, clock.Now())
		limit, remaining, observed := num(h, "RateLimit-Limit"), num(h, "RateLimit-Remaining"), num(h, "RateLimit-Observed")
		if remaining > limit {
			t.Fatalf("request %d: Remaining %d > Limit %d", i, remaining, limit)
		}
		if r.Allowed && observed+remaining != limit {
			t.Fatalf("request %d: Observed %d + Remaining %d != Limit %d", i, observed, remaining, limit)
		}
		if !r.Allowed {
			refused++
			if observed <= limit || observed < lastObserved {
				t.Fatalf("request %d refused: Observed %d, want above Limit %d and not below %d", i, observed, limit, lastObserved)
			}
		}
		lastObserved = observed
		resets[r.Allowed][num(h, "RateLimit-Reset")] = true
		clock.Advance(10 * time.Millisecond)
	}
	if refused == 0 {
		t.Fatal("no request was refused; the test proves nothing")
	}
	// 7 seconds of requests: one minute boundary at most while allowed.
	if len(resets[true]) > 2 {
		t.Errorf("allowed answers gave %d different RateLimit-Reset values", len(resets[true]))
	}
	if len(resets[false]) > 2 {
		t.Errorf("refused answers gave %d different RateLimit-Reset values", len(resets[false]))
	}
}
