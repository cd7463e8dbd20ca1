package power

import (
	"io"
	"log/slog"
	"math"
	"slices"
	"testing"
)

const sec = int64(1e9)

// steady makes a source's samples at the given seconds with the given watts.
func steady(system, source string, shard int, at []float64, watts []float64) []Sample {
	out := make([]Sample, len(at))
	for i := range at {
		out[i] = Sample{System: system, Source: source, Shard: shard, TimeNS: int64(at[i] * 1e9), Watts: watts[i],
			GPUWatts: []float64{watts[i]}, GPUIDs: []string{"0"}}
	}
	return out
}

func near(got, want float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	return math.Abs(got-want) <= 1e-9*math.Max(1, math.Abs(want))
}

// TestSummarize checks window summaries against figures worked out by hand
// (the comment of each case shows the arithmetic).
func TestSummarize(t *testing.T) {
	nan := math.NaN()
	ramp := Record{Samples: steady("a", "s", 0, []float64{0, 1, 2, 3}, []float64{100, 200, 200, 400})}
	two := Record{Samples: append(steady("a", "s1", 0, []float64{0, 1, 2}, []float64{100, 100, 100}),
		steady("b", "s2", 0, []float64{0.5, 1.5, 2.5}, []float64{50, 150, 50})...)}
	gapped := Record{
		Samples: steady("a", "s", 0, []float64{0, 1, 2, 5, 6}, []float64{100, 100, 100, 300, 300}),
		Gaps:    []Gap{{System: "a", Source: "s", StartNS: 2.2e9, EndNS: 5e9, Err: "HTTP 503", Failures: 2}},
	}
	stalled := Record{Samples: steady("a", "s", 0, []float64{0, 1, 2, 3, 10, 11}, []float64{100, 100, 100, 100, 100, 100})}
	dead := Record{
		Samples: steady("a", "s", 0, []float64{0, 1, 2}, []float64{100, 100, 100}),
		Gaps:    []Gap{{System: "b", Source: "cmd:x", StartNS: 0, EndNS: 2e9, Err: "not found", Failures: 3, Open: true}},
	}
	shards := Record{Samples: append(steady("a", "s", 1, []float64{0, 1}, []float64{999, 999}),
		steady("a", "s", 0, []float64{0, 1}, []float64{100, 100})...)}

	tests := []struct {
		name     string
		rec      Record
		system   string // "" = all
		from, to float64
		mean     float64
		p95      float64
		energy   float64
		measured float64
		coverage float64
		points   int
		gaps     int
		flags    []string
	}{
		// Trapezoids (100+200)/2·1 + 200·1 + (200+400)/2·1 = 650 J over 3 s;
		// P95 of the instants 0, 1, 2 s: sorted 100, 200, 200, rank 1.9 → 200.
		{"ramp", ramp, "", 0, 3, 650.0 / 3, 200, 650, 650, 1, 3, 0, nil},
		// Clipped: [0.5,1] (150+200)/2·0.5 = 87.5, [1,2] 200, [2,2.5]
		// (200+300)/2·0.5 = 125 → 412.5 J over 2 s = 206.25 W.
		{"ramp clipped", ramp, "", 0.5, 2.5, 206.25, 200, 412.5, 412.5, 1, 2, 0, nil},
		// a: 100 W; b over [1,2]: (100+150)/2·0.5 + (150+100)/2·0.5 = 125 J →
		// 125 W; sum 225 W. Points: t=1 → 100+100, t=1.5 → 100+150; P95 of
		// 200, 250 at rank 0.95 → 247.5.
		{"two systems", two, "", 1, 2, 225, 247.5, 225, 225, 1, 2, 0, nil},
		{"one of two systems", two, "b", 1, 2, 125, 150, 125, 125, 1, 1, 0, nil},
		// The span 2→5 s overlaps the gap: measured 0–2 and 5–6, 500 J over
		// 3 s = 166.67 W, filled over 6 s = 1000 J; coverage 3/6. Points at
		// 0, 1, 2, 5 s (6 s is outside): 100, 100, 100, 300, rank 2.85 →
		// 100 + 0.85·200 = 270.
		{"gap", gapped, "", 0, 6, 500.0 / 3, 270, 1000, 500, 0.5, 4, 1, []string{FlagGap, FlagLowCoverage}},
		// Median spacing 1 s: spans over 3·1+1 = 4 s are holes, so 3→10 s is;
		// measured 0–3 and 10–11, 4 of 11 s at 100 W.
		{"stall", stalled, "", 0, 11, 100, 100, 1100, 400, 4.0 / 11, 5, 0, []string{FlagLowCoverage}},
		// A source that never read: the sum is unknown.
		{"dead source", dead, "", 0, 2, nan, nan, nan, 200, 0, 0, 1, []string{FlagGap, FlagLowCoverage}},
		{"dead source, live system", dead, "a", 0, 2, 100, 100, 200, 200, 1, 2, 0, nil},
		// A source sampled by shards 0 and 1 counts once, from shard 0.
		{"shards", shards, "", 0, 1, 100, 100, 100, 100, 1, 1, 0, nil},
		{"empty window", ramp, "", 2, 2, nan, nan, nan, 0, 0, 0, 0, nil},
		{"no power", Record{}, "", 0, 1, nan, nan, nan, 0, 0, 0, 0, []string{FlagMissing}},
	}
	for _, tt := range tests {
		from, to := int64(tt.from*1e9), int64(tt.to*1e9)
		var s Summary
		if tt.system == "" {
			s = tt.rec.Summarize(from, to)
		} else {
			s = tt.rec.SummarizeSystem(tt.system, from, to)
		}
		for _, c := range []struct {
			what      string
			got, want float64
		}{
			{"MeanW", s.MeanW, tt.mean}, {"P95W", s.P95W, tt.p95}, {"EnergyJ", s.EnergyJ, tt.energy},
			{"MeasuredJ", s.MeasuredJ, tt.measured}, {"Coverage", s.Coverage, tt.coverage},
		} {
			if !near(c.got, c.want) {
				t.Errorf("%s: %s = %v, want %v", tt.name, c.what, c.got, c.want)
			}
		}
		if s.Points != tt.points || s.Gaps != tt.gaps || !slices.Equal(s.Flags, tt.flags) {
			t.Errorf("%s: points %d gaps %d flags %v, want %d %d %v", tt.name, s.Points, s.Gaps, s.Flags, tt.points, tt.gaps, tt.flags)
		}
	}
}

func TestPoints(t *testing.T) {
	two := Record{Samples: append(steady("a", "s1", 0, []float64{0, 1, 2}, []float64{100, 100, 100}),
		steady("b", "s2", 0, []float64{0.5, 1.5, 2.5}, []float64{50, 150, 50})...)}
	// At 0 s b has not sampled yet: that instant is left out.
	want := []Point{{0.5e9, 150}, {1e9, 200}, {1.5e9, 250}, {2e9, 200}}
	if got := two.Points(0, 2.5e9); !slices.Equal(got, want) {
		t.Errorf("Points = %v, want %v", got, want)
	}
}

func TestDerived(t *testing.T) {
	nan := math.NaN()
	s := Summary{EnergyJ: 650}
	for _, c := range []struct {
		what      string
		got, want float64
	}{
		// 64 users at 800 W: 64 ÷ 0.0008 MW.
		{"AgentsPerMW(64, 800)", AgentsPerMW(64, 800), 80000},
		// AA's shape: 10 users at 2 kW → 5,000 per MW.
		{"AgentsPerMW(10, 2000)", AgentsPerMW(10, 2000), 5000},
		{"AgentsPerMW(0, 500)", AgentsPerMW(0, 500), 0},
		{"AgentsPerMW(10, 0)", AgentsPerMW(10, 0), nan},
		{"AgentsPerMW(10, NaN)", AgentsPerMW(10, nan), nan},
		{"JoulesPerToken(130)", s.JoulesPerToken(130), 5},
		{"JoulesPerTrajectory(2)", s.JoulesPerTrajectory(2), 325},
		{"JoulesPerToken(0)", s.JoulesPerToken(0), nan},
		{"JoulesPerToken of unknown energy", Summary{EnergyJ: nan}.JoulesPerToken(10), nan},
	} {
		if !near(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
}

func TestSystems(t *testing.T) {
	rec := Record{Samples: steady("b", "s", 0, []float64{0}, []float64{1}),
		Gaps: []Gap{{System: "a", Source: "x"}}}
	if got := rec.Systems(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Systems = %v", got)
	}
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
