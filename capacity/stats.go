package capacity

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
)

// PercentileOf returns the p-th percentile (0 ≤ p ≤ 100) of n ordered
// values, nth(r) being the value of 0-based rank r, by linear interpolation
// between the two nearest ranks, rank h = (n−1)·p/100 (numpy's default,
// DuckDB's quantile_cont). It is the one definition of a percentile here,
// and the one analyze.Dist.Percentile implements: a Dist can call it with
// its own nth. An infinite neighbour is not interpolated with: the nearer
// rank's value is taken. NaN when n is 0 or p is NaN.
func PercentileOf(n int64, p float64, nth func(r int64) float64) float64 {
	if n <= 0 || math.IsNaN(p) {
		return math.NaN()
	}
	p = min(max(p, 0), 100)
	h := float64(n-1) * p / 100
	lo := int64(math.Floor(h))
	frac := h - float64(lo)
	a := nth(lo)
	if frac == 0 || lo+1 >= n {
		return a
	}
	b := nth(lo + 1)
	if math.IsInf(a, 0) || math.IsInf(b, 0) {
		if frac < 0.5 {
			return a
		}
		return b
	}
	return a + (b-a)*frac
}

// Percentile returns the p-th percentile (0 ≤ p ≤ 100) of sorted values
// (ascending) by PercentileOf's definition, so a level's point figures here
// equal analyze's; NaN when sorted is empty or p is NaN.
func Percentile(sorted []float64, p float64) float64 {
	return PercentileOf(int64(len(sorted)), p, func(r int64) float64 { return sorted[r] })
}

// quantileType7 returns the q-quantile (0 ≤ q ≤ 1) of sorted values with
// the interpolation of Percentile.
func quantileType7(sorted []float64, q float64) float64 {
	return Percentile(sorted, 100*q)
}

// quantileLower and quantileUpper return the q-quantile of sorted values
// without interpolation, rounding the rank down (lower) or up (upper): used
// where neighbours may be censored stand-ins (0, +Inf) that must not be
// averaged with a measured value.
func quantileLower(sorted []float64, q float64) float64 {
	i := int(math.Floor(q * float64(len(sorted)-1)))
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func quantileUpper(sorted []float64, q float64) float64 {
	i := int(math.Ceil(q * float64(len(sorted)-1)))
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// normalCDF is Φ, the standard normal distribution function.
func normalCDF(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

// normalQuantile is Φ⁻¹ for 0 < p < 1.
func normalQuantile(p float64) float64 { return math.Sqrt2 * math.Erfinv(2*p-1) }

// studentQuantile returns the p-quantile (0.5 ≤ p < 1) of Student's t with
// df ≥ 1 degrees of freedom: exact for df 1 and 2, else the Cornish–Fisher
// expansion of Abramowitz & Stegun 26.7.5 (error < 0.001 at df = 3 and
// p = 0.95, shrinking with df).
func studentQuantile(p float64, df int) float64 {
	switch df {
	case 1:
		return math.Tan(math.Pi * (p - 0.5))
	case 2:
		return (2*p - 1) / math.Sqrt(2*p*(1-p))
	}
	z := normalQuantile(p)
	n := float64(df)
	z2 := z * z
	g1 := z * (z2 + 1) / 4
	g2 := z * ((5*z2+16)*z2 + 3) / 96
	g3 := z * (((3*z2+19)*z2+17)*z2 - 15) / 384
	g4 := z * ((((79*z2+776)*z2+1482)*z2-1920)*z2 - 945) / 92160
	return z + g1/n + g2/(n*n) + g3/(n*n*n) + g4/(n*n*n*n)
}

// expandedTail returns the tail probability α′/2 of Hesterberg's expanded
// percentile interval for a two-sided interval of level conf from k
// clusters, df degrees of freedom: α′/2 = Φ(−√(k/(k−1)) · t_{1−α/2, df}).
// It corrects the percentile bootstrap's narrowness in small samples (the
// bootstrap variance is (k−1)/k of the sampling variance, and a t, not a
// normal, describes an estimate studentized by its own standard error); it
// tends to α/2 as k and df grow. k < 2 gives 0. Hesterberg uses df = k − 1;
// Assess passes the effective number of sessions less one (see keff).
// (T. Hesterberg, "What Teachers Should Know About the Bootstrap", The
// American Statistician 69(4), 2015, §5.)
func expandedTail(conf float64, k, df int) float64 {
	if k < 2 {
		return 0
	}
	alpha := 1 - conf
	t := studentQuantile(1-alpha/2, max(df, 1))
	return normalCDF(-math.Sqrt(float64(k)/float64(k-1)) * t)
}

// keff returns Kish's effective number of clusters of sizes n, (Σn)² ÷ Σn²:
// k for equal sizes, fewer when a few large clusters hold most requests
// (L. Kish, Survey Sampling, 1965, §8.2).
func keff(n []int32) float64 {
	var s, s2 float64
	for _, x := range n {
		s += float64(x)
		s2 += float64(x) * float64(x)
	}
	if s2 == 0 {
		return 0
	}
	return s * s / s2
}

// wilson returns the Wilson score interval of a proportion with x successes
// in n trials at two-sided confidence conf; [0, 1] when n is 0.
func wilson(x, n int64, conf float64) (lo, hi float64) {
	if n == 0 {
		return 0, 1
	}
	z := normalQuantile(1 - (1-conf)/2)
	fn := float64(n)
	p := float64(x) / fn
	z2n := z * z / fn
	c := p + z2n/2
	r := z * math.Sqrt(p*(1-p)/fn+z2n/(4*fn))
	d := 1 + z2n
	return max((c-r)/d, 0), min((c+r)/d, 1)
}

// rng is the package's deterministic random source: PCG (math/rand/v2, a
// fixed algorithm) with bounded draws and normals computed here, so results
// do not change with the Go release.
type rng struct{ src *rand.PCG }

func newRNG(seed, stream uint64) *rng { return &rng{rand.NewPCG(seed, stream)} }

// intn returns a uniform draw in [0, n) by Lemire's multiply-shift (bias ≤
// n/2⁶⁴, negligible at cluster counts).
func (r *rng) intn(n int) int {
	hi, _ := bits.Mul64(r.src.Uint64(), uint64(n))
	return int(hi)
}

// float returns a uniform draw in (0, 1).
func (r *rng) float() float64 {
	return (float64(r.src.Uint64()>>11) + 0.5) / (1 << 53)
}

// norm returns a standard normal draw (Box–Muller, one of the pair).
func (r *rng) norm() float64 {
	u, v := r.float(), r.float()
	return math.Sqrt(-2*math.Log(u)) * math.Cos(2*math.Pi*v)
}

// variance returns the sample variance of xs (0 for fewer than two finite
// values; non-finite values are skipped).
func variance(xs []float64) float64 {
	var n, mean, m2 float64
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			continue
		}
		n++
		d := x - mean
		mean += d / n
		m2 += d * (x - mean)
	}
	if n < 2 {
		return 0
	}
	return m2 / (n - 1)
}

// sortedCopy returns xs sorted ascending, NaNs first (slices.Sort order).
func sortedCopy(xs []float64) []float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s
}
