package ratelimit_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/ratelimit"
)

// A gateway asks the limiter about each request of a token and writes the
// headers on every response.
func ExampleMemory() {
	clock := ratelimit.NewManualClock(time.Date(2021, time.January, 5, 10, 59, 30, 0, time.UTC))
	lim := ratelimit.NewMemory(clock)
	limit := botgate.Limit{Rate: 2000, Period: time.Minute, Burst: 3}

	for range 4 {
		r, err := lim.Allow(context.Background(), "token:42", limit, 1)
		if err != nil {
			panic(err)
		}
		h := http.Header{}
		ratelimit.Headers(h, r, clock.Now())
		if r.Allowed {
			fmt.Println("200", h.Get("RateLimit-Limit"), h.Get("RateLimit-Remaining"))
		} else {
			fmt.Println("429", h.Get("RateLimit-Limit"), h.Get("RateLimit-Remaining"), "retry after", h.Get("Retry-After"))
		}
	}
	// Output:
	// 200 2000 2
	// 200 2000 1
	// 200 2000 0
	// 429 2000 0 retry after 1
}

// The loop breaker sees every request's shape; a caller records one audit
// event when the outcome is Tripped and refuses Tripped and Blocked alike.
func ExampleBreaker() {
	clock := ratelimit.NewManualClock(time.Date(2021, time.January, 5, 10, 59, 30, 0, time.UTC))
	br, err := ratelimit.NewBreaker(clock, ratelimit.BreakerConfig{Threshold: 3})
	if err != nil {
		panic(err)
	}
	shape := ratelimit.Shape(http.MethodPost, "/api/v4/projects/7/issues/1/notes", "", []byte(`{"body":"ping"}`))
	for range 5 {
		v, err := br.Observe(context.Background(), "token:42", shape)
		if err != nil {
			panic(err)
		}
		fmt.Println(v.Outcome, v.Count, v.RetryAfter)
	}
	fmt.Printf("%+v\n", br.Stats())
	// Output:
	// allowed 1 0s
	// allowed 2 0s
	// allowed 3 0s
	// tripped 4 5m0s
	// blocked 5 5m0s
	// {Trips:1 Blocked:1}
}
