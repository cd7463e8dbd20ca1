package capacity

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestPercentile(t *testing.T) {
	inf := math.Inf(1)
	for _, c := range []struct {
		name   string
		sorted []float64
		p      float64
		want   float64
	}{
		{"empty", nil, 50, math.NaN()},
		{"NaN p", []float64{1}, math.NaN(), math.NaN()},
		{"one value", []float64{7}, 25, 7},
		{"median of two", []float64{1, 3}, 50, 2},
		{"P25 of five", []float64{10, 20, 30, 40, 50}, 25, 20},
		{"P95 of five", []float64{10, 20, 30, 40, 50}, 95, 48},
		{"P25 interpolates", []float64{0, 100}, 25, 25},
		{"below 0 clamps", []float64{1, 2}, -5, 1},
		{"above 100 clamps", []float64{1, 2}, 500, 2},
		{"no interpolating with ∞ (near the finite)", []float64{1, inf}, 10, 1},
		{"no interpolating with ∞ (near ∞)", []float64{1, inf}, 90, inf},
		{"−∞ to ∞", []float64{-inf, inf}, 50, inf},
	} {
		got := Percentile(c.sorted, c.p)
		if !(got == c.want || math.IsNaN(got) && math.IsNaN(c.want)) {
			t.Errorf("%s: Percentile(%v, %v) = %v, want %v", c.name, c.sorted, c.p, got, c.want)
		}
	}
}

// randomWeighted returns a weighted sample of n values in k clusters with
// ties, and a replicate's cluster weights.
func randomWeighted(r *rand.Rand, n, k int) (*weighted, []int32) {
	type vc struct {
		v float64
		c int32
	}
	xs := make([]vc, n)
	for i := range xs {
		xs[i] = vc{float64(r.IntN(n / 2)), int32(r.IntN(k))} // ties
	}
	slices.SortFunc(xs, func(a, b vc) int { return cmpFloat(a.v, b.v) })
	s := &weighted{}
	for _, x := range xs {
		s.vals = append(s.vals, x.v)
		s.cl = append(s.cl, x.c)
	}
	w := make([]int32, k)
	for range k {
		w[r.IntN(k)]++
	}
	return s, w
}

// near reports a ≈ b within a few ulps (a walk from the top interpolates
// in the mirrored order) or both NaN.
func near(a, b float64) bool {
	return a == b || math.Abs(a-b) <= 1e-12*max(math.Abs(a), math.Abs(b)) || math.IsNaN(a) && math.IsNaN(b)
}

// expanded is the replicate sample written out: value i repeated w[cl[i]]
// times, ascending.
func expanded(s *weighted, w []int32) []float64 {
	var out []float64
	for i, v := range s.vals {
		for range w[s.cl[i]] {
			out = append(out, v)
		}
	}
	return out
}

// TestWalkerPercentile checks the weighted walk, with and without a pivot,
// against the percentile of the replicate sample written out.
func TestWalkerPercentile(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	var wk walker
	for trial := range 300 {
		n, k := 2+r.IntN(200), 1+r.IntN(20)
		s, w := randomWeighted(r, n, k)
		full := expanded(s, w)
		total := int64(len(full))
		for _, p := range []float64{0, 1, 5, 25, 50, 50.5, 75, 95, 99, 100} {
			want := Percentile(full, p)
			if got := wk.percentile(s, w, total, p, nil, 0, 0, 0); !near(got, want) {
				t.Fatalf("trial %d: P%v without pivot = %v, want %v", trial, p, got, want)
			}
			for _, margin := range []float64{0, 2, 10, 60} {
				pv := newPivot(s, k, p, margin)
				var base int64
				for c, m := range w {
					base += int64(m) * int64(pv.below[c])
				}
				if got := wk.percentile(s, w, total, p, &pv, base, 0, 0); !near(got, want) {
					t.Fatalf("trial %d: P%v with a pivot %v points below = %v, want %v", trial, p, margin, got, want)
				}
			}
		}
	}
}

// TestWoodruffSE checks the standard error against the formula written
// out over the drawn clusters, with and without a pivot.
func TestWoodruffSE(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	var wk walker
	for trial := range 200 {
		n, k := 20+r.IntN(300), 2+r.IntN(30)
		s, w := randomWeighted(r, n, k)
		nPer := make([]int32, k)
		for _, c := range s.cl {
			nPer[c]++
		}
		var total int64
		var sumN2 float64
		for c, m := range w {
			total += int64(m) * int64(nPer[c])
			sumN2 += float64(m) * float64(nPer[c]) * float64(nPer[c])
		}
		if total < 2 {
			continue
		}
		full := expanded(s, w)
		for _, p := range []float64{25, 95} {
			acc := make([]float64, k)
			var touched []int32
			theta := wk.percentile(s, w, total, p, nil, 0, 0, 0)
			// direct: a_c = cluster c's values on theta's side, per draw
			a := make([]float64, k)
			for i, v := range s.vals {
				if (p <= 50 && v <= theta) || (p > 50 && v >= theta) {
					a[s.cl[i]]++
				}
			}
			var sa float64
			for c, m := range w {
				sa += float64(m) * a[c]
			}
			f := sa / float64(total)
			var ss float64
			for c, m := range w {
				d := a[c] - f*float64(nPer[c])
				ss += float64(m) * d * d
			}
			kf := float64(k)
			sep := 100 * math.Sqrt(kf/(kf-1)*ss) / float64(total)
			q := p
			want := math.Abs(Percentile(full, q+sep)-Percentile(full, q-sep)) / 2
			if p > 50 { // the walk from the top is mirrored
				want = math.Abs(Percentile(full, p-sep)-Percentile(full, p+sep)) / 2
			}
			got, gotSep := wk.woodruffSE(nPer, k, sumN2, p, theta, acc, &touched)
			if math.Abs(got-want) > 1e-9*max(1, want) || math.Abs(gotSep-sep) > 1e-9 {
				t.Fatalf("trial %d P%v: se %v (se_p %v), want %v (%v)", trial, p, got, gotSep, want, sep)
			}
			pv := newPivot(s, k, p, 3)
			var base int64
			var bw, bn float64
			for c, m := range w {
				b := float64(pv.below[c])
				base += int64(m) * int64(pv.below[c])
				bw += float64(m) * b * b
				bn += float64(m) * b * float64(nPer[c])
			}
			th2 := wk.percentile(s, w, total, p, &pv, base, bw, bn)
			got2, _ := wk.woodruffSE(nPer, k, sumN2, p, th2, acc, &touched)
			if !near(th2, theta) || math.Abs(got2-want) > 1e-9*max(1, want) {
				t.Fatalf("trial %d P%v with a pivot: theta %v se %v, want %v %v", trial, p, th2, got2, theta, want)
			}
			if slices.ContainsFunc(acc, func(x float64) bool { return x != 0 }) {
				t.Fatalf("trial %d: scratch not left zero", trial)
			}
		}
	}
}

func TestStudentQuantile(t *testing.T) {
	// t_{0.95, df} from standard tables
	for _, c := range []struct {
		df   int
		want float64
	}{{1, 6.3138}, {2, 2.9200}, {3, 2.3534}, {5, 2.0150}, {10, 1.8125}, {30, 1.6973}, {120, 1.6577}} {
		if got := studentQuantile(0.95, c.df); math.Abs(got-c.want) > 2e-3 {
			t.Errorf("t(0.95, %d) = %.4f, want %.4f", c.df, got, c.want)
		}
	}
}

func TestExpandedTail(t *testing.T) {
	if got := expandedTail(0.9, 1, 0); got != 0 {
		t.Errorf("one cluster: tail %v, want 0 (unbounded)", got)
	}
	prev := 0.0
	for _, k := range []int{2, 3, 5, 10, 20, 60, 1000} {
		got := expandedTail(0.9, k, k-1)
		if got <= prev || got >= 0.05 {
			t.Errorf("k = %d: tail %v, want increasing towards 0.05 (previous %v)", k, got, prev)
		}
		prev = got
	}
	if got := expandedTail(0.9, 1000, 999); math.Abs(got-0.05) > 5e-4 {
		t.Errorf("k = 1000: tail %v, want ≈ 0.05", got)
	}
	// fewer effective clusters than clusters: wider
	if a, b := expandedTail(0.9, 60, 59), expandedTail(0.9, 60, 20); b >= a {
		t.Errorf("df 20 tail %v, want < df 59's %v", b, a)
	}
}

func TestWilson(t *testing.T) {
	for _, c := range []struct {
		x, n           int64
		wantLo, wantHi float64
	}{
		{0, 100, 0, 2.706 / 102.706}, // z² / (n + z²) at 90 %
		{0, 0, 0, 1},
		{50, 100, 0.4183, 0.5817},
		{100, 100, 1 - 2.706/102.706, 1},
	} {
		lo, hi := wilson(c.x, c.n, 0.9)
		if math.Abs(lo-c.wantLo) > 1e-3 || math.Abs(hi-c.wantHi) > 1e-3 {
			t.Errorf("wilson(%d, %d) = %.4f–%.4f, want %.4f–%.4f", c.x, c.n, lo, hi, c.wantLo, c.wantHi)
		}
	}
}

func TestKeff(t *testing.T) {
	for _, c := range []struct {
		n    []int32
		want float64
	}{{[]int32{5, 5, 5, 5}, 4}, {[]int32{10, 1, 1, 1}, 169.0 / 103}, {nil, 0}} {
		if got := keff(c.n); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("keff(%v) = %v, want %v", c.n, got, c.want)
		}
	}
}

// TestExpand checks that the fit's small-sample replicates have the
// expanded percentile interval as their plain percentile interval, stay in
// the replicates' range and keep each replicate's rank.
func TestExpand(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	xs := make([]float64, 1000)
	for i := range xs {
		xs[i] = r.NormFloat64()
	}
	tail := expandedTail(0.9, 8, 7)
	f := normalQuantile(tail) / normalQuantile(0.05)
	got := expand(xs, f)
	sx, sg := sortedCopy(xs), sortedCopy(got)
	if lo, want := quantileType7(sg, 0.05), quantileType7(sx, tail); math.Abs(lo-want) > 0.02 {
		t.Errorf("5 %% quantile of the expanded replicates %v, want the expanded tail's %v", lo, want)
	}
	if sg[0] < sx[0] || sg[len(sg)-1] > sx[len(sx)-1] {
		t.Errorf("expanded range %v–%v leaves the replicates' %v–%v", sg[0], sg[len(sg)-1], sx[0], sx[len(sx)-1])
	}
	for i := range xs {
		for j := range xs {
			if xs[i] < xs[j] && got[i] > got[j] {
				t.Fatalf("replicates %d < %d but expanded %v > %v", i, j, got[i], got[j])
			}
		}
	}
}

func TestIsotonic(t *testing.T) {
	for _, c := range []struct {
		name string
		y, w []float64
		want []float64
	}{
		{"already non-increasing", []float64{3, 2, 1}, []float64{1, 1, 1}, []float64{3, 2, 1}},
		{"one rise pooled", []float64{3, 1, 2}, []float64{1, 1, 1}, []float64{3, 1.5, 1.5}},
		{"weights", []float64{1, 2}, []float64{3, 1}, []float64{1.25, 1.25}},
		{"all rising", []float64{1, 2, 3}, []float64{1, 1, 1}, []float64{2, 2, 2}},
		{"cascade", []float64{5, 1, 2, 6}, []float64{1, 1, 1, 1}, []float64{5, 3, 3, 3}},
		{"cascade to the start", []float64{1, 2, 6}, []float64{1, 1, 1}, []float64{3, 3, 3}},
		{"single", []float64{0.4}, []float64{2}, []float64{0.4}},
	} {
		var iso isotonic
		got := iso.fit(c.y, c.w)
		if !slices.EqualFunc(got, c.want, func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }) {
			t.Errorf("%s: fit(%v, %v) = %v, want %v", c.name, c.y, c.w, got, c.want)
		}
	}
}

func TestCrossing(t *testing.T) {
	for _, c := range []struct {
		name  string
		users []int
		g     []float64
		wantX float64
		wantJ int
	}{
		{"between, geometric", []int{10, 40}, []float64{0.5, -0.5}, 20, 0},
		{"at a level", []int{10, 20, 40}, []float64{0.5, 0, -0.5}, 20, 1},
		{"none passes", []int{10, 20}, []float64{-0.1, -0.2}, 0, -1},
		{"all pass", []int{10, 20}, []float64{0.3, 0.1}, 20, 1},
		{"zero users: linear", []int{0, 10}, []float64{1, -1}, 5, 0},
	} {
		x, j := crossing(c.users, c.g)
		if math.Abs(x-c.wantX) > 1e-9 || j != c.wantJ {
			t.Errorf("%s: crossing = %v, %d; want %v, %d", c.name, x, j, c.wantX, c.wantJ)
		}
	}
}
