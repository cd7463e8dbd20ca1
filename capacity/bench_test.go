package capacity

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// benchWindow draws a window of about n requests in k sessions from
// demoTruth at 50 users (P25 speed near the 100 tok/s floor).
func benchWindow(n, k int) []Request {
	tr := demoTruth
	tr.SessionsPerUser = float64(k) / 50
	tr.ReqPerSession = float64(n) / float64(k)
	r := rand.New(rand.NewPCG(1, 2))
	for {
		reqs := tr.window(r, 50)
		if len(reqs) > n*9/10 && len(reqs) < n*11/10 {
			return reqs
		}
	}
}

// gptOSSTiers are the four gpt-oss-120b tiers: analyze judges every level
// at each.
var gptOSSTiers = []Tier{
	aaTier,
	{Name: "250 tok/s", SpeedFloor: 250, SpeedPercentile: 25, TTFTCeiling: 3 * time.Second, TTFTPercentile: 95, MaxErrorRate: 0.01},
	{Name: "500 tok/s", SpeedFloor: 500, SpeedPercentile: 25, TTFTCeiling: 2 * time.Second, TTFTPercentile: 95, MaxErrorRate: 0.01},
	{Name: "2000 tok/s", SpeedFloor: 2000, SpeedPercentile: 25, TTFTCeiling: time.Second, TTFTPercentile: 95, MaxErrorRate: 0.01},
}

// BenchmarkAssess is the per-level cost analyze and replay's search pay:
// one window at realistic sizes, every tier of a preset judged on the same
// replicates.
func BenchmarkAssess(b *testing.B) {
	for _, c := range []struct {
		n, k, B int
		tiers   []Tier
	}{
		{2000, 60, 1000, []Tier{aaTier}},
		{2000, 60, 1000, gptOSSTiers},
		{2000, 60, 200, []Tier{aaTier}},
		{2000, 60, 5000, []Tier{aaTier}},
		{500, 15, 1000, []Tier{aaTier}},
		{10000, 300, 1000, []Tier{aaTier}},
	} {
		reqs := benchWindow(c.n, c.k)
		b.Run(fmt.Sprintf("requests=%d/sessions=%d/replicates=%d/tiers=%d", c.n, c.k, c.B, len(c.tiers)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Assess(50, reqs, c.tiers, Options{Replicates: c.B}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFit is the cost of combining a search's windows: ten levels.
func BenchmarkFit(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	var levels []*Level
	for _, u := range []int{1, 2, 4, 8, 16, 32, 64, 48, 40, 44} {
		l, err := Assess(u, demoTruth.window(r, u), []Tier{aaTier}, Options{})
		if err != nil {
			b.Fatal(err)
		}
		levels = append(levels, l)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Fit(levels, 0, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
