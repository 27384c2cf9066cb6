package ratelimit_test

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/botgate/botgate/internal/heapstat"
	"github.com/botgate/botgate/ratelimit"
)

// BenchmarkBreakerMemoryPerToken reports the live heap the loop breaker
// keeps per active token, for tokens that each send one request shape
// (the common automation) and tokens that send twelve:
//
//	go test -run '^$' -bench BreakerMemoryPerToken -benchtime 1x ./ratelimit
func BenchmarkBreakerMemoryPerToken(b *testing.B) {
	const tokens = 50_000
	for _, shapes := range []int{1, 12} {
		b.Run(strconv.Itoa(shapes)+"-shapes", func(b *testing.B) {
			for b.Loop() {
				before := heapstat.Live()
				br, err := ratelimit.NewBreaker(ratelimit.NewManualClock(time.Unix(1e9, 0)), ratelimit.BreakerConfig{})
				if err != nil {
					b.Fatal(err)
				}
				for i := range tokens {
					key := strconv.Itoa(i + 1)
					for s := range shapes {
						br.Observe(context.Background(), key, "GET /api/v4/projects/:id/pipelines "+strconv.Itoa(s))
					}
				}
				after := heapstat.Live()
				runtime.KeepAlive(br)
				b.ReportMetric(float64(int64(after)-int64(before))/tokens, "B/token")
			}
		})
	}
}
