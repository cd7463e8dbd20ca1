package inspect

import (
	"math"
	"slices"
)

// histogram summarizes non-negative values in bounded memory: exact count,
// sum, min and max; the values themselves up to exactLimit of them (exact
// nearest-rank quantiles), then log-spaced buckets 1 % wide (quantiles
// within 1 % of the true value).
type histogram struct {
	n        int64
	sum      float64
	min, max float64
	exact    []float64 // nil once the buckets took over
	zero     int64
	buckets  map[int32]int64
}

// exactLimit is the number of values a histogram keeps exactly (8 MiB).
const exactLimit = 1 << 20

const bucketBase = 1.01

var logBase = math.Log(bucketBase)

func (h *histogram) add(v float64) {
	if v < 0 {
		v = 0
	}
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if h.n == 0 || v > h.max {
		h.max = v
	}
	h.n++
	h.sum += v
	if h.n <= exactLimit {
		h.exact = append(h.exact, v)
		if h.n < exactLimit {
			return
		}
		// Switch to buckets: move the kept values over.
		for _, x := range h.exact {
			h.bucket(x)
		}
		h.exact = nil
		return
	}
	h.bucket(v)
}

func (h *histogram) bucket(v float64) {
	if v < 1 {
		h.zero++
		return
	}
	if h.buckets == nil {
		h.buckets = map[int32]int64{}
	}
	h.buckets[int32(math.Floor(math.Log(v)/logBase))]++
}

// quantile returns the q quantile (0–1): the value of rank ceil(q·n), or,
// once bucketed, the lower bound of the bucket that holds it, clamped to
// [min, max] (values below 1 are reported as min).
func (h *histogram) quantile(q float64) float64 {
	if h.n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	if h.n < exactLimit {
		if !slices.IsSorted(h.exact) {
			slices.Sort(h.exact)
		}
		return h.exact[rank-1]
	}
	if rank <= h.zero {
		return h.min
	}
	seen := h.zero
	keys := make([]int32, 0, len(h.buckets))
	for k := range h.buckets {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		seen += h.buckets[k]
		if seen >= rank {
			// Inputs are integers (tokens, ns, turns): the bucket's lower
			// bound rounds up to the smallest integer it can hold.
			v := math.Ceil(math.Pow(bucketBase, float64(k)) - 1e-9)
			return min(max(v, h.min), h.max)
		}
	}
	return h.max
}

// Dist is a distribution summary as inspect reports it.
type Dist struct {
	// Count is the number of values.
	Count int64 `json:"count"`
	// Min, Mean, P50, P95, P99 and Max are in the unit the field names
	// (tokens, seconds, turns); 0 when Count is 0. Percentiles are nearest
	// rank: exact up to 1,048,576 values, within 1 % beyond.
	Min  float64 `json:"min"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// dist summarizes the values divided by div (1, or 1e9 for ns → s).
func (h *histogram) dist(div float64) Dist {
	if h.n == 0 {
		return Dist{}
	}
	return Dist{
		Count: h.n,
		Min:   h.min / div,
		Mean:  h.sum / float64(h.n) / div,
		P50:   h.quantile(0.50) / div,
		P95:   h.quantile(0.95) / div,
		P99:   h.quantile(0.99) / div,
		Max:   h.max / div,
	}
}
