package hist

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

// TestRecorderMatchesHist records the same values into a Recorder from
// four goroutines and into a Hist, and compares the distributions.
func TestRecorderMatchesHist(t *testing.T) {
	const n = 4 * 50_000
	vals := make([]int64, n)
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range vals {
		vals[i] = int64(math.Exp(rng.NormFloat64()*1.5 + 7)) // µs: ~1 ms, long tail
	}
	vals[0] = -5 // counts as 0
	r := NewRecorder(1000)
	h := New(1000)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, v := range vals[w*n/4 : (w+1)*n/4] {
				r.Record(v)
			}
		}()
	}
	for _, v := range vals {
		h.Add(float64(max(v, 0)) / 1000)
	}
	wg.Wait()
	s := r.Snapshot()
	if s.Count() != n || r.Count() != n {
		t.Fatalf("count %d / %d, want %d", s.Count(), r.Count(), n)
	}
	if s.Min() != 0 || s.Max() != h.Max() || math.Abs(s.Mean()-h.Mean()) > 1e-9*h.Mean() {
		t.Errorf("min/max/mean %v/%v/%v, want %v/%v/%v", s.Min(), s.Max(), s.Mean(), h.Min(), h.Max(), h.Mean())
	}
	for _, p := range []float64{1, 50, 99, 99.9} {
		got, want := s.Percentile(p), h.Percentile(p)
		if math.Abs(got-want) > want*math.Pow(2, -10)+1e-3 {
			t.Errorf("P%v = %v, want %v", p, got, want)
		}
	}
	if q := s.Quantile(0.5); math.Abs(q-h.Quantile(0.5)) > h.Quantile(0.5)*math.Pow(2, -10)+1e-3 {
		t.Errorf("nearest-rank median %v, want %v", q, h.Quantile(0.5))
	}
	m := New(1000)
	m.Merge(s)
	m.Merge(s)
	if m.Count() != 2*n {
		t.Errorf("merging a snapshot twice: %d values", m.Count())
	}
}

func TestRecorderEmpty(t *testing.T) {
	s := NewRecorder(1).Snapshot()
	if s.Count() != 0 || !math.IsNaN(s.Percentile(99)) || s.Quantile(0.99) != 0 {
		t.Errorf("empty snapshot: %d values, P99 %v", s.Count(), s.Percentile(99))
	}
}

func TestQuantileNearestRank(t *testing.T) {
	h := New(1)
	for _, v := range []float64{10, 20, 30, 40} {
		h.Add(v)
	}
	for _, c := range []struct{ q, want float64 }{{0, 10}, {0.25, 10}, {0.26, 20}, {0.5, 20}, {0.99, 40}, {1, 40}} {
		if got := h.Quantile(c.q); got != c.want {
			t.Errorf("Quantile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
}

func BenchmarkRecorder(b *testing.B) {
	r := NewRecorder(1000)
	b.RunParallel(func(pb *testing.PB) {
		v := int64(0)
		for pb.Next() {
			r.Record(v % 100_000)
			v += 37
		}
	})
}
