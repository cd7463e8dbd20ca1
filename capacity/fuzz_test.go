package capacity

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// fuzzRequests decodes 4 bytes a request: session (0–7), speed (0 → NaN,
// else tok/s), TTFT (0 → none, else 20 ms steps), flags (bit 0 failed).
func fuzzRequests(data []byte) []Request {
	var reqs []Request
	for i := 0; i+4 <= len(data); i += 4 {
		q := Request{Session: fmt.Sprint(data[i] % 8), Speed: math.NaN(), TTFT: -1, Failed: data[i+3]&1 == 1}
		if data[i+1] != 0 {
			q.Speed = float64(data[i+1])
		}
		if data[i+2] != 0 {
			q.TTFT = time.Duration(data[i+2]) * 20 * time.Millisecond
		}
		reqs = append(reqs, q)
	}
	return reqs
}

// FuzzAssess checks the invariants on any window: no error, Lo ≤ Point ≤
// Hi, margins in [−1, 1], verdicts that follow the margin, a point pass
// exactly when every point figure is within its limit, and a fit.
func FuzzAssess(f *testing.F) {
	f.Add([]byte{0, 120, 10, 0, 1, 90, 20, 0, 2, 100, 30, 0, 3, 0, 0, 1})
	f.Add([]byte{0, 100, 100, 0, 0, 100, 100, 0, 0, 100, 100, 0})
	f.Add([]byte{})
	f.Add([]byte{5, 0, 0, 1})
	tiers := []Tier{
		{Name: "a", SpeedFloor: 100, SpeedPercentile: 25, TTFTCeiling: time.Second, TTFTPercentile: 95, MaxErrorRate: 0.01},
		{Name: "b", TTFTCeiling: 2 * time.Second, TTFTPercentile: 50, MaxErrorRate: 0},
		{Name: "c", SpeedFloor: 50, SpeedPercentile: 90, MaxErrorRate: 0.5},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		reqs := fuzzRequests(data)
		l, err := Assess(3, reqs, tiers, Options{Replicates: 40, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range l.Tiers {
			for _, e := range []Estimate{tr.Speed, tr.TTFT, tr.ErrorRate, tr.Margin} {
				if math.IsNaN(e.Point) {
					if !math.IsNaN(e.Lo) || !math.IsNaN(e.Hi) {
						t.Fatalf("tier %s: undefined point with an interval %+v", tr.Tier, e)
					}
					continue
				}
				if !(e.Lo <= e.Point && e.Point <= e.Hi) {
					t.Fatalf("tier %s: %+v: want Lo ≤ Point ≤ Hi", tr.Tier, e)
				}
			}
			m := tr.Margin
			if m.Lo < -1 || m.Hi > 1 {
				t.Fatalf("tier %s: margin %+v outside [−1, 1]", tr.Tier, m)
			}
			if want := map[bool]Verdict{true: Pass}[m.Lo >= 0]; m.Lo >= 0 && tr.Verdict != want ||
				m.Hi < 0 && tr.Verdict != Fail || m.Lo < 0 && m.Hi >= 0 && tr.Verdict != Uncertain {
				t.Fatalf("tier %s: verdict %v for margin %+v", tr.Tier, tr.Verdict, m)
			}
			for _, x := range tr.margins {
				if math.IsNaN(x) || x < -1 || x > 1 {
					t.Fatalf("tier %s: replicate margin %v", tr.Tier, x)
				}
			}
		}
		if len(reqs) > 0 {
			tr, ok := l.Tiers[0], true
			ok = ok && (tr.Speed.Point >= 100) && !math.IsNaN(tr.Speed.Point)
			ok = ok && !math.IsNaN(tr.TTFT.Point) && math.Round(tr.TTFT.Point*1e6) <= 1e9
			ok = ok && tr.ErrorRate.Point <= 0.01
			if ok != (tr.Margin.Point >= 0) {
				t.Fatalf("point figures %v %v %v pass %v, margin %v", tr.Speed.Point, tr.TTFT.Point, tr.ErrorRate.Point, ok, tr.Margin.Point)
			}
		}
		l2, _ := Assess(6, reqs, tiers, Options{Replicates: 40, Seed: 2})
		c, err := Fit([]*Level{l, l2}, 0, Options{Replicates: 40})
		if err != nil {
			t.Fatal(err)
		}
		if e := c.MaxUsers; !(e.Lo <= e.Point && e.Point <= e.Hi) || math.IsNaN(e.Point) {
			t.Fatalf("max users %+v", e)
		}
		_ = Next([]Observation{Observe(l, 0, time.Minute), Observe(l2, 0, time.Minute)}, c, Search{})
	})
}
