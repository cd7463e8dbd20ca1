package hist

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// refPercentile is the type-7 percentile of sorted values.
func refPercentile(sorted []float64, p float64) float64 {
	h := float64(len(sorted)-1) * p / 100
	lo := math.Floor(h)
	if int(lo)+1 >= len(sorted) {
		return sorted[int(lo)]
	}
	return sorted[int(lo)] + (sorted[int(lo)+1]-sorted[int(lo)])*(h-lo)
}

func TestHistExact(t *testing.T) {
	d := New(1000)
	for _, v := range []float64{40, 10, 30, 20} {
		d.Add(v)
	}
	for _, c := range []struct{ p, want float64 }{
		{0, 10}, {25, 17.5}, {50, 25}, {95, 38.5}, {100, 40},
	} {
		if got := d.Percentile(c.p); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("P%v = %v, want %v", c.p, got, c.want)
		}
	}
	if got := d.Mean(); got != 25 {
		t.Errorf("mean %v, want 25", got)
	}
	if got := d.CDF(20); got != 0.5 {
		t.Errorf("CDF(20) = %v, want 0.5", got)
	}
	if got := d.CDF(5); got != 0 {
		t.Errorf("CDF(5) = %v, want 0", got)
	}
	if !d.Exact() {
		t.Error("4 values should stay exact")
	}
	d.Add(-3) // clamps to 0
	if got := d.Min(); got != 0 {
		t.Errorf("min after negative %v, want 0", got)
	}
}

func TestHistEmpty(t *testing.T) {
	d := New(1)
	if !math.IsNaN(d.Percentile(50)) || !math.IsNaN(d.Mean()) || d.CDF(1) != 0 {
		t.Error("empty Hist should give NaN percentiles and mean, CDF 0")
	}
}

// TestHistHistogramAccuracy checks that after folding into the histogram,
// percentiles stay within the documented relative error of the exact ones.
func TestHistHistogramAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, gen := range []struct {
		name  string
		scale float64
		f     func() float64
	}{
		{"lognormal speeds", 1000, func() float64 { return math.Exp(rng.NormFloat64()*0.7 + 4.5) }},
		{"uniform ms", 1000, func() float64 { return rng.Float64() * 5000 }},
		{"tiny values", 1000, func() float64 { return rng.Float64() * 0.5 }},
	} {
		d := New(gen.scale)
		vals := make([]float64, 0, 200000)
		for range 200000 {
			v := gen.f()
			vals = append(vals, v)
			d.Add(v)
		}
		if d.Exact() {
			t.Fatalf("%s: 200000 values should have folded", gen.name)
		}
		slices.Sort(vals)
		for _, p := range []float64{0, 1, 25, 50, 75, 95, 99, 99.9, 100} {
			got, want := d.Percentile(p), refPercentile(vals, p)
			tol := want*math.Pow(2, -11) + 0.5/gen.scale + 1e-12
			if math.Abs(got-want) > tol {
				t.Errorf("%s: P%v = %v, want %v ± %v", gen.name, p, got, want, tol)
			}
		}
		for _, v := range []float64{vals[1000], vals[100000], vals[190000]} {
			got := d.CDF(v)
			want := float64(countLE(vals, v)) / float64(len(vals))
			if math.Abs(got-want) > 0.01 {
				t.Errorf("%s: CDF(%v) = %v, want ≈ %v", gen.name, v, got, want)
			}
		}
	}
}

func countLE(sorted []float64, v float64) int {
	i, _ := slices.BinarySearch(sorted, math.Nextafter(v, math.Inf(1)))
	return i
}

func TestHistMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	all := New(1000)
	parts := []*Hist{New(1000), New(1000), New(1000)}
	sizes := []int{10, ExactValues + 100, 500}
	for i, p := range parts {
		for range sizes[i] {
			v := rng.Float64() * 300
			p.Add(v)
			all.Add(v)
		}
	}
	m := New(1000)
	for _, p := range parts {
		m.Merge(p)
	}
	if m.Count() != all.Count() {
		t.Fatalf("merged count %d, want %d", m.Count(), all.Count())
	}
	for _, p := range []float64{5, 50, 99} {
		if got, want := m.Percentile(p), all.Percentile(p); math.Abs(got-want) > 1e-9 {
			t.Errorf("merged P%v = %v, want %v", p, got, want)
		}
	}
	if math.Abs(m.Mean()-all.Mean()) > 1e-9 || m.Min() != all.Min() || m.Max() != all.Max() {
		t.Errorf("merged mean/min/max %v/%v/%v, want %v/%v/%v", m.Mean(), m.Min(), m.Max(), all.Mean(), all.Min(), all.Max())
	}
}

func BenchmarkHistAdd(b *testing.B) {
	d := New(1000)
	for range ExactValues + 1 {
		d.Add(1)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d.Add(float64(i%100000) * 0.37)
	}
}

func BenchmarkHistAddGapsUS(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	offs := make([]int32, 4096)
	for i := 1; i < len(offs); i++ {
		offs[i] = offs[i-1] + int32(15000+rng.IntN(10000))
	}
	d := New(1000)
	d.AddGapsUS(offs) // fold
	d.AddGapsUS(offs)
	b.SetBytes(int64(len(offs)) * 4)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d.AddGapsUS(offs)
	}
}
