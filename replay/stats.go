package replay

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// lagHistogram counts durations in log-linear buckets (16 per power of two
// of microseconds, so ≤ 6.25 % relative error) with atomic adds: no lock
// and no allocation on the record path.
type lagHistogram struct {
	counts [64 * 16]atomic.Int64
	n      atomic.Int64
	max    atomic.Int64
}

func lagBucket(us int64) int {
	if us < 16 {
		if us < 0 {
			return 0
		}
		return int(us)
	}
	e := bits.Len64(uint64(us)) - 5 // us >> e is in [16, 32)
	return (e+1)*16 + int(us>>e) - 16
}

func lagBucketLow(b int) int64 {
	if b < 16 {
		return int64(b)
	}
	e := b/16 - 1
	return int64(16+b%16) << e
}

func (h *lagHistogram) record(d time.Duration) {
	us := d.Microseconds()
	b := lagBucket(us)
	if b >= len(h.counts) {
		b = len(h.counts) - 1
	}
	h.counts[b].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if us <= m || h.max.CompareAndSwap(m, us) {
			break
		}
	}
}

// quantile returns the q-quantile (0..1) as the upper bound of its bucket.
func (h *lagHistogram) quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(n)))
	if rank < 1 {
		rank = 1
	}
	var seen int64
	for b := range h.counts {
		seen += h.counts[b].Load()
		if seen >= rank {
			hi := lagBucketLow(b + 1)
			if m := h.max.Load(); hi > m {
				hi = m
			}
			return time.Duration(hi) * time.Microsecond
		}
	}
	return time.Duration(h.max.Load()) * time.Microsecond
}
