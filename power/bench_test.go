package power

import "testing"

// BenchmarkSummarize: one level's summary from an hour of two 8-GPU
// sources sampled at 5 Hz (36,000 samples), as analyze computes per level.
func BenchmarkSummarize(b *testing.B) {
	var rec Record
	for i := 0; i < 18000; i++ {
		for _, src := range []string{"a", "b"} {
			w := 700 + float64(i%50)
			rec.Samples = append(rec.Samples, Sample{System: src, Source: src, TimeNS: int64(i) * 2e8,
				Watts: 8 * w, GPUWatts: make([]float64, 8), GPUIDs: make([]string, 8)})
		}
	}
	from, to := int64(1200e9), int64(1800e9) // a 10-minute window
	b.ReportAllocs()
	for b.Loop() {
		if s := rec.Summarize(from, to); s.MeanW <= 0 {
			b.Fatal(s)
		}
	}
}
