package capacity

import "math"

// weighted is a sorted sample whose values belong to clusters; a bootstrap
// replicate gives each cluster a multiplicity, and the replicate's sample is
// every value repeated its cluster's multiplicity times.
type weighted struct {
	vals []float64 // ascending
	cl   []int32   // cluster of vals[i]
}

// pivot lets walks for one percentile skip the values every replicate's
// percentile lies beyond: the first skip values in walking order (ascending,
// or descending when top). below[c] counts cluster c's values among them.
// A replicate accumulates, as it draws clusters, the weight of the skipped
// values (Σ w·below) and the two sums Woodruff's variance needs over them
// (Σ w·below², Σ w·below·n), so neither walks them.
type pivot struct {
	top   bool
	skip  int
	below []int32
}

// newPivot returns the pivot for the percentile p of s that skips the
// values lying more than margin percentage points nearer the walk's start
// than p in the full sample (no skip when margin is NaN or the pivot would
// be at the start).
func newPivot(s *weighted, k int, p, margin float64) pivot {
	pv := pivot{top: p > 50, below: make([]int32, k)}
	q := p
	if pv.top {
		q = 100 - p
	}
	if math.IsNaN(margin) || len(s.vals) == 0 {
		return pv
	}
	pv.skip = max(int(math.Floor(float64(len(s.vals)-1)*(q-margin)/100)), 0)
	for j := range pv.skip {
		_, c := at(s, pv.top, j)
		pv.below[c]++
	}
	return pv
}

// at returns the j-th value of s and its cluster in walking order.
func at(s *weighted, top bool, j int) (float64, int32) {
	if top {
		j = len(s.vals) - 1 - j
	}
	return s.vals[j], s.cl[j]
}

// walker finds order statistics of one bootstrap replicate of a weighted
// sample. It walks the sorted values once from the end nearer the
// percentile (from the top when top is set, so "rank r" counts from the
// largest), starting past a pivot's skipped values when it can, recording
// cumulative weights: ranks within the walk's reach are a binary search,
// ranks beyond it extend the walk. O(values walked), no sorting.
type walker struct {
	s      *weighted
	w      []int32
	top    bool
	total  int64   // Σ weights: the replicate sample's size
	start  int     // values skipped (walked positions are start, start+1, …)
	base   int64   // weight of the skipped values
	cum    []int64 // cum[j]: base + weight of walked positions start…start+j
	n      int     // positions walked
	pv     *pivot  // the pivot used; nil when walking from the start
	bw, bn float64 // Σ w·below², Σ w·below·n over the draws, for woodruffSE
}

// reset starts a walk of the replicate with weights w (total values). With
// a pivot pv whose skipped weight is base and sums bw, bn, it starts past
// the skipped values; rank falls back to the start when asked below them.
func (k *walker) reset(s *weighted, w []int32, total int64, top bool, pv *pivot, base int64, bw, bn float64) {
	k.s, k.w, k.total, k.top, k.n = s, w, total, top, 0
	k.pv, k.start, k.base, k.bw, k.bn = nil, 0, 0, 0, 0
	if pv != nil && pv.skip > 0 {
		k.pv, k.start, k.base, k.bw, k.bn = pv, pv.skip, base, bw, bn
	}
	if cap(k.cum) < len(s.vals) {
		k.cum = make([]int64, len(s.vals))
	}
	k.cum = k.cum[:len(s.vals)-k.start]
}

// rank returns the value of 0-based rank r in walking order.
func (k *walker) rank(r int64) float64 {
	if r < k.base { // below the pivot: walk from the start
		k.reset(k.s, k.w, k.total, k.top, nil, 0, 0, 0)
	}
	if k.n > 0 && k.cum[k.n-1] > r {
		lo, hi := 0, k.n-1 // the first j with cum[j] > r
		for lo < hi {
			mid := (lo + hi) / 2
			if k.cum[mid] > r {
				hi = mid
			} else {
				lo = mid + 1
			}
		}
		v, _ := at(k.s, k.top, k.start+lo)
		return v
	}
	for k.start+k.n < len(k.s.vals) {
		v, c := at(k.s, k.top, k.start+k.n)
		prev := k.base
		if k.n > 0 {
			prev = k.cum[k.n-1]
		}
		k.cum[k.n] = prev + int64(k.w[c])
		k.n++
		if k.cum[k.n-1] > r {
			return v
		}
	}
	v, _ := at(k.s, k.top, len(k.s.vals)-1)
	return v
}

// quantile returns the percentile at q (0–100) in walking order, by
// PercentileOf's definition; NaN when the replicate is empty.
func (k *walker) quantile(q float64) float64 {
	return PercentileOf(k.total, q, k.rank)
}

// percentile returns the p-th percentile (0 ≤ p ≤ 100) of the replicate of
// s with cluster weights w (total values), by Percentile's definition,
// walking from the nearer end (past pv's skipped values, of weight base,
// when pv is not nil); NaN when total is 0.
func (k *walker) percentile(s *weighted, w []int32, total int64, p float64, pv *pivot, base int64, bw, bn float64) float64 {
	k.reset(s, w, total, p > 50, pv, base, bw, bn)
	if k.top {
		return k.quantile(100 - p)
	}
	return k.quantile(p)
}

// woodruffSE returns the standard error se, in value units, of theta, the
// p-th percentile the last call to percentile returned, and se_p, in
// percentage points (NaN when undefined), by Woodruff's method:
// the linearised with-replacement cluster variance of the proportion of
// values on theta's side of the walk, se_p, mapped through the replicate's
// quantile function, |Q(p + se_p) − Q(p − se_p)| ÷ 2.
//
// nPer[c] is cluster c's count of values, clusters the number of draws,
// and sumN2 = Σ over draws of nPer[c]²; acc (len(nPer), all zero) and
// touched are scratch, left as found. The variance Σ_draws (a_c − F·n_c)²
// is expanded as Σ w·a² − 2F·Σ w·a·n + F²·sumN2, with a_c = below_c + x_c
// (the pivot's skipped values plus those walked), so only the clusters the
// walk touches are visited. (R. S. Woodruff, "Confidence intervals for
// medians and other position measures", JASA 47, 1952; C. A. Francisco and
// W. A. Fuller, "Quantile estimation with a complex survey design", Ann.
// Statist. 19, 1991.)
func (k *walker) woodruffSE(nPer []int32, clusters int, sumN2 float64, p, theta float64, acc []float64, touched *[]int32) (se, sep float64) {
	if k.total < 2 || clusters < 2 || math.IsNaN(theta) {
		return 0, math.NaN()
	}
	q := p
	if k.top {
		q = 100 - p
	}
	// a = Σ w·a_c, a2 = Σ w·a_c², an = Σ w·a_c·n_c
	a, a2, an := float64(k.base), k.bw, k.bn
	t := (*touched)[:0]
	for j := k.start; j < len(k.s.vals); j++ {
		v, c := at(k.s, k.top, j)
		if (!k.top && v > theta) || (k.top && v < theta) {
			break
		}
		if acc[c] == 0 {
			t = append(t, c)
		}
		acc[c]++
	}
	for _, c := range t {
		w, x := float64(k.w[c]), acc[c]
		b := 0.0
		if k.pv != nil {
			b = float64(k.pv.below[c])
		}
		a += w * x
		a2 += w * (2*b*x + x*x) // (b+x)² − b², b² being in bw
		an += w * x * float64(nPer[c])
		acc[c] = 0
	}
	*touched = t
	n := float64(k.total)
	f := a / n
	ss := max(a2-2*f*an+f*f*sumN2, 0)
	kf := float64(clusters)
	sep = 100 * math.Sqrt(kf/(kf-1)*ss) / n // percentage points
	return math.Abs(k.quantile(q+sep)-k.quantile(q-sep)) / 2, sep
}
