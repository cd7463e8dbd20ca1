package synth

import (
	"context"
	"testing"
)

// BenchmarkGenerateDefault generates the default workload (20 sessions,
// seed 1, ~1.5K requests, ~43M input tokens) with exact token counts.
// MB/s is of the unique text (message and response JSON) produced.
func BenchmarkGenerateDefault(b *testing.B) {
	b.ReportAllocs()
	var requests, unique int64
	for i := 0; i < b.N; i++ {
		seen := map[*byte]bool{}
		requests, unique = 0, 0
		err := Generate(context.Background(), Options{Seed: 1}, func(c *Call) error {
			requests++
			for _, p := range c.Turn.Parts {
				if !seen[&p.Body[0]] {
					seen[&p.Body[0]] = true
					unique += int64(len(p.Body))
				}
			}
			unique += int64(len(c.Turn.Response[0]))
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(unique)
	b.ReportMetric(float64(requests)*float64(b.N)/b.Elapsed().Seconds(), "requests/s")
}
