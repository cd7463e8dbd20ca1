package hist

import (
	"math"

	"sync/atomic"
)

// numGroups bounds the groups of a histogram of uint64 units: group g > 0
// holds values in [2^(g+subBits), 2^(g+subBits+1)).
const numGroups = 64 - (subBits + 1)

// Recorder records non-negative integer values (in units of 1/scale of the
// value's unit, as in New) from many goroutines at once: no lock, and no
// allocation once a power of two has been seen (each group of 1,024
// buckets is allocated the first time a value falls in it). It keeps no
// exact values; Snapshot returns its distribution as a folded Hist. The
// zero Recorder is not usable: make one with NewRecorder.
type Recorder struct {
	scale  float64
	groups [numGroups]atomic.Pointer[[]atomic.Uint64]
	n      atomic.Int64
	sum    atomic.Int64 // units
	min    atomic.Int64 // units; math.MaxInt64 when empty
	max    atomic.Int64 // units
}

// NewRecorder returns an empty Recorder whose values are in units of
// 1/scale of its snapshot's value unit (scale 1000 with values in µs gives
// a Hist in ms, as New(1000)).
func NewRecorder(scale float64) *Recorder {
	r := &Recorder{scale: scale}
	r.min.Store(math.MaxInt64)
	return r
}

// Record adds one value v, in units (negative values count as 0).
func (r *Recorder) Record(v int64) {
	v = max(v, 0)
	g, i := bucket(uint64(v))
	b := r.groups[g].Load()
	if b == nil {
		n := 1 << subBits
		if g == 0 {
			n = 2 << subBits
		}
		nb := make([]atomic.Uint64, n)
		if !r.groups[g].CompareAndSwap(nil, &nb) {
			b = r.groups[g].Load()
		} else {
			b = &nb
		}
	}
	(*b)[i].Add(1)
	r.n.Add(1)
	r.sum.Add(v)
	for m := r.min.Load(); v < m && !r.min.CompareAndSwap(m, v); m = r.min.Load() {
	}
	for m := r.max.Load(); v > m && !r.max.CompareAndSwap(m, v); m = r.max.Load() {
	}
}

// Count returns the number of values recorded.
func (r *Recorder) Count() int64 { return r.n.Load() }

// Snapshot returns the values recorded so far as a Hist in value units
// (units ÷ scale). Recording may go on meanwhile; the snapshot then holds
// some of the concurrent values.
func (r *Recorder) Snapshot() *Hist {
	h := New(r.scale)
	n := r.n.Load()
	if n == 0 {
		return h
	}
	h.groups = make([][]uint64, numGroups)
	var seen int64
	for g := range r.groups {
		b := r.groups[g].Load()
		if b == nil {
			continue
		}
		h.groups[g] = make([]uint64, len(*b))
		for i := range *b {
			c := (*b)[i].Load()
			h.groups[g][i] = c
			seen += int64(c)
		}
	}
	if h.groups[0] == nil {
		h.groups[0] = make([]uint64, 2<<subBits)
	}
	h.n = seen
	h.sum = float64(r.sum.Load()) / r.scale
	h.min = float64(r.min.Load()) / r.scale
	h.max = float64(r.max.Load()) / r.scale
	return h
}
