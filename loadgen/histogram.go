package loadgen

import (
	"math"
	"math/bits"
	"time"
)

// subBits is the histogram's precision: each power of two above
// 2^subBits is split into 2^(subBits-1) buckets, so a recorded value is
// known to within 1/2^(subBits-1) (0.8%) of itself; values below 2^subBits
// nanoseconds are exact.
const subBits = 8

const (
	linear     = 1 << subBits       // values below this have a bucket each
	perOctave  = 1 << (subBits - 1) // buckets per power of two above it
	maxShift   = 64 - subBits       // the largest shift of a uint64 value
	numBuckets = linear + maxShift*perOctave
)

// Histogram counts latencies in logarithmic buckets of bounded relative
// width (the HDR histogram's layout, simplified): its memory is fixed
// (about 60 KiB) however many values it holds, and any percentile it
// reports is within 0.8% above the true sample value. The zero value is
// not usable; create one with NewHistogram. A Histogram is not safe for
// concurrent use: give each worker its own and Merge them.
type Histogram struct {
	counts []uint64
	n      uint64
	min    int64
	max    int64
	sum    float64
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	return &Histogram{counts: make([]uint64, numBuckets), min: math.MaxInt64}
}

// bucketOf returns the bucket of a non-negative value.
func bucketOf(v int64) int {
	u := uint64(v)
	if u < linear {
		return int(u)
	}
	shift := bits.Len64(u) - subBits // ≥ 1
	top := u >> shift                // in [perOctave, 2*perOctave)
	return linear + (shift-1)*perOctave + int(top-perOctave)
}

// bucketHigh returns the largest value that falls into bucket i.
func bucketHigh(i int) int64 {
	if i < linear {
		return int64(i)
	}
	shift := (i-linear)/perOctave + 1
	top := uint64((i-linear)%perOctave + perOctave)
	hi := (top+1)<<shift - 1
	if hi > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(hi)
}

// Record adds one latency; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := max(int64(d), 0)
	h.counts[bucketOf(v)]++
	h.n++
	h.sum += float64(v)
	h.min = min(h.min, v)
	h.max = max(h.max, v)
}

// Merge adds every value of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.min = min(h.min, o.min)
	h.max = max(h.max, o.max)
}

// Count returns the number of recorded values.
func (h *Histogram) Count() uint64 { return h.n }

// Max returns the largest recorded value (exact), or 0 if there is none.
func (h *Histogram) Max() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.max)
}

// Min returns the smallest recorded value (exact), or 0 if there is none.
func (h *Histogram) Min() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.min)
}

// Mean returns the arithmetic mean of the recorded values (exact).
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.n))
}

// Percentile returns the nearest-rank p-th percentile (0 < p ≤ 100): the
// smallest recorded value v such that at least p% of the values are ≤ v,
// reported as the top of its bucket (so at most 0.8% above the sample)
// and never above the exact maximum. It returns 0 for an empty histogram.
func (h *Histogram) Percentile(p float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	p = min(max(p, 0), 100)
	// The epsilon keeps float error (99.9/100·10000 = 9990.000000000002)
	// from moving the rank up by one.
	rank := uint64(math.Ceil(p*float64(h.n)/100 - 1e-9))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(bucketHigh(i), h.max))
		}
	}
	return time.Duration(h.max)
}
