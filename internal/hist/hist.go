package hist

import (
	"math"
	"math/bits"
	"slices"

	"github.com/agentperf/agentperf/capacity"
)

// ExactValues is how many values a Hist keeps exactly before it folds them
// into its histogram. Up to this count percentiles are exact; beyond it they
// carry a relative error of at most 2^-11 (0.05 %) of the value plus half
// the Hist's resolution.
const ExactValues = 1 << 15

// subBits sets the histogram's precision: 2^subBits buckets per power of
// two, so a bucket is at most 2^-subBits of its values wide.
const subBits = 10

// Hist is the distribution of one metric (a speed, a latency, a token
// count). It keeps up to ExactValues values exactly, then switches to a
// log-linear histogram (HDR-style: exact below 2^(subBits+1) units, 1024
// buckets per power of two above) whose memory grows with the range of the
// values, not their count. The zero Hist is not usable: make one with New.
// Negative values are recorded as 0. A Hist is not safe for concurrent use;
// Recorder is its lock-free counterpart for hot paths.
type Hist struct {
	// scale converts a value to histogram units (units per value unit): 1000
	// for a speed in tok/s gives milli-tok/s resolution.
	scale  float64
	exact  []float64
	sorted bool
	groups [][]uint64 // nil while exact; groups[0] has 2^(subBits+1) buckets, others 2^subBits
	n      int64
	sum    float64
	min    float64
	max    float64
}

// New returns an empty Hist whose histogram resolution is 1/scale of the
// value's unit (scale 1000 for tok/s: 0.001 tok/s).
func New(scale float64) *Hist {
	return &Hist{scale: scale, min: math.Inf(1), max: math.Inf(-1)}
}

// Count returns the number of values added.
func (d *Hist) Count() int64 { return d.n }

// Mean returns the mean value, NaN when empty.
func (d *Hist) Mean() float64 {
	if d.n == 0 {
		return math.NaN()
	}
	return d.sum / float64(d.n)
}

// Min returns the smallest value, NaN when empty.
func (d *Hist) Min() float64 {
	if d.n == 0 {
		return math.NaN()
	}
	return d.min
}

// Max returns the largest value, NaN when empty.
func (d *Hist) Max() float64 {
	if d.n == 0 {
		return math.NaN()
	}
	return d.max
}

// Exact reports whether percentiles are exact (no more than ExactValues
// values were added).
func (d *Hist) Exact() bool { return d.groups == nil }

// Add records one value.
func (d *Hist) Add(v float64) {
	if !(v > 0) { // negative or NaN
		v = 0
	}
	d.n++
	d.sum += v
	d.min = min(d.min, v)
	d.max = max(d.max, v)
	if d.groups == nil {
		d.exact = append(d.exact, v)
		d.sorted = false
		if len(d.exact) > ExactValues {
			d.fold()
		}
		return
	}
	d.addHist(v)
}

// AddUS records a duration given in µs into a Hist of milliseconds
// (scale 1000): the ITL path.
func (d *Hist) AddUS(us int32) {
	d.Add(float64(us) / 1000)
}

// AddGapsUS records the gaps between consecutive offsets (µs) into a Hist
// of milliseconds (scale 1000): the ITL hot path, without float rounding
// once folded.
func (d *Hist) AddGapsUS(offsets []int32) {
	i := 1
	for ; i < len(offsets) && d.groups == nil; i++ {
		d.Add(float64(offsets[i]-offsets[i-1]) / 1000)
	}
	if i >= len(offsets) {
		return
	}
	for len(d.groups) < 64-(subBits+1) {
		d.groups = append(d.groups, nil)
	}
	g0 := d.groups[0]
	var sum int64
	lo, hi := int32(math.MaxInt32), int32(0)
	n := 0
	for ; i < len(offsets); i++ {
		gap := max(offsets[i]-offsets[i-1], 0)
		sum += int64(gap)
		lo, hi = min(lo, gap), max(hi, gap)
		n++
		x := uint64(gap)
		if x < 2<<subBits {
			g0[x]++
			continue
		}
		s := bits.Len64(x) - (subBits + 1)
		b := d.groups[s]
		if b == nil {
			b = make([]uint64, 1<<subBits)
			d.groups[s] = b
		}
		b[int(x>>s)-1<<subBits]++
	}
	d.n += int64(n)
	d.sum += float64(sum) / 1000
	d.min = min(d.min, float64(lo)/1000)
	d.max = max(d.max, float64(hi)/1000)
}

func (d *Hist) fold() {
	d.groups = make([][]uint64, 1, 16)
	d.groups[0] = make([]uint64, 2<<subBits)
	for _, v := range d.exact {
		d.addHist(v)
	}
	d.exact = nil
}

func (d *Hist) addHist(v float64) {
	u := v*d.scale + 0.5
	var x uint64
	if u >= 1<<62 {
		x = 1 << 62
	} else {
		x = uint64(u)
	}
	g, i := bucket(x)
	for len(d.groups) <= g {
		d.groups = append(d.groups, nil)
	}
	if d.groups[g] == nil {
		d.groups[g] = make([]uint64, 1<<subBits)
	}
	d.groups[g][i]++
}

// bucket returns the group and index of histogram value x.
func bucket(x uint64) (group, index int) {
	if x < 2<<subBits {
		return 0, int(x)
	}
	s := bits.Len64(x) - (subBits + 1)
	return s, int(x>>s) - 1<<subBits
}

// bucketValue returns the midpoint of bucket (group, index) in value units.
func (d *Hist) bucketValue(group, index int) float64 {
	if group == 0 {
		return float64(index) / d.scale
	}
	lo := uint64(index+1<<subBits) << group
	w := uint64(1) << group
	return (float64(lo) + float64(w-1)/2) / d.scale
}

// Merge adds every value of o to d. Both must have the same scale.
func (d *Hist) Merge(o *Hist) {
	if o.n == 0 {
		return
	}
	if o.groups == nil {
		for _, v := range o.exact {
			d.Add(v)
		}
		return
	}
	if d.groups == nil {
		d.fold()
	}
	for g, b := range o.groups {
		for i, c := range b {
			if c == 0 {
				continue
			}
			for len(d.groups) <= g {
				d.groups = append(d.groups, nil)
			}
			if d.groups[g] == nil {
				d.groups[g] = make([]uint64, len(b))
			}
			d.groups[g][i] += c
		}
	}
	d.n += o.n
	d.sum += o.sum
	d.min = min(d.min, o.min)
	d.max = max(d.max, o.max)
}

// Percentile returns the p-th percentile (0 ≤ p ≤ 100) by linear
// interpolation between the two nearest ranks (rank h = (n−1)·p/100, the
// definition of numpy's default and DuckDB's quantile_cont); NaN when empty.
// The definition is capacity.PercentileOf's, the one owner, so the
// bootstrap's point figures are these.
func (d *Hist) Percentile(p float64) float64 {
	return capacity.PercentileOf(d.n, p, d.nth)
}

// nth returns the k-th smallest value (0-based).
func (d *Hist) nth(k int64) float64 {
	if d.groups == nil {
		if !d.sorted {
			slices.Sort(d.exact)
			d.sorted = true
		}
		return d.exact[k]
	}
	if k == 0 {
		return d.min
	}
	if k == d.n-1 {
		return d.max
	}
	var seen uint64
	for g, b := range d.groups {
		for i, c := range b {
			seen += c
			if seen > uint64(k) {
				v := d.bucketValue(g, i)
				return min(max(v, d.min), d.max)
			}
		}
	}
	return d.max
}

// CDF returns the fraction of values ≤ v (0 when empty).
func (d *Hist) CDF(v float64) float64 {
	if d.n == 0 {
		return 0
	}
	if d.groups == nil {
		if !d.sorted {
			slices.Sort(d.exact)
			d.sorted = true
		}
		i, _ := slices.BinarySearch(d.exact, math.Nextafter(v, math.Inf(1)))
		return float64(i) / float64(d.n)
	}
	var seen uint64
	for g, b := range d.groups {
		for i, c := range b {
			if c > 0 && d.bucketValue(g, i) > v {
				return float64(seen) / float64(d.n)
			}
			seen += c
		}
	}
	return 1
}

// Quantile returns the nearest-rank q-quantile (0 ≤ q ≤ 1): the value of
// rank ⌈q·n⌉ (at least 1), exact while Exact, else the midpoint of its
// bucket clamped to [Min, Max]; 0 when empty.
func (d *Hist) Quantile(q float64) float64 {
	if d.n == 0 || math.IsNaN(q) {
		return 0
	}
	rank := int64(math.Ceil(q * float64(d.n)))
	rank = min(max(rank, 1), d.n)
	return d.nth(rank - 1)
}
