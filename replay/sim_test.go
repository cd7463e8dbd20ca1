package replay

import (
	"context"
	"math"
	"sort"
	"testing"
	"time"

	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/sim"
)

func startSim(t *testing.T, scale float64) *Simulator {
	t.Helper()
	s, err := StartSimulator(sim.Config{Hardware: "h100", Model: "gpt-oss-120b", TimeScale: scale, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

type simFigures struct {
	ttftP50, speedP50 float64 // world s, tok/s
	rows              int
}

func figures(t *testing.T, rows []schemas.Result) simFigures {
	t.Helper()
	var ttft, speed []float64
	for _, r := range rows {
		if r.Phase != schemas.PhaseSteady || r.Error != "" {
			continue
		}
		ttft = append(ttft, float64(r.FirstTokenNS-r.SentNS)/1e9)
		n := len(r.ChunkOffsetsUS)
		if r.OutputTokens > 1 && n > 1 {
			first := float64(r.ChunkOffsetsUS[0]) / 1e6
			last := float64(r.ChunkOffsetsUS[n-1]) / 1e6
			speed = append(speed, float64(r.OutputTokens-1)/(last-first))
		}
	}
	if len(ttft) < 5 || len(speed) < 5 {
		t.Fatalf("too few steady rows: %d ttft, %d speeds", len(ttft), len(speed))
	}
	med := func(x []float64) float64 { sort.Float64s(x); return x[len(x)/2] }
	return simFigures{med(ttft), med(speed), len(ttft)}
}

// TestSimEndToEnd replays against the embedded simulator: pinned output
// length holds, columns are filled, and the time-scale header agrees.
func TestSimEndToEnd(t *testing.T) {
	dir := writeTraces(t, traceSpec{sessions: 4, turns: 3, api: schemas.APIOpenAIChat, think: 2 * time.Second, out: 40})
	s := startSim(t, 50)
	cfg := Config{Plan: loadPlan(t, dir, PlanOptions{}), Target: s.URL, Users: 3, TimeScale: 50,
		Warmup: 5 * time.Second, Steady: 60 * time.Second, Shaping: Shaping{Model: "gpt-oss-120b"}, Meta: s.Meta()}
	rows, meta, _ := runToFile(t, context.Background(), cfg)
	steady := 0
	for _, r := range rows {
		if r.Error != "" {
			if r.Phase != schemas.PhaseDrain {
				t.Errorf("error outside drain: %+v", r)
			}
			continue
		}
		if r.OutputTokens != 40 || len(r.ChunkOffsetsUS) == 0 || r.InputTokens <= 0 || r.CachedTokens < 0 || r.FirstTokenNS <= r.SentNS {
			t.Fatalf("sim row: out %d chunks %d in %d cached %d first-sent %d", r.OutputTokens, len(r.ChunkOffsetsUS), r.InputTokens, r.CachedTokens, r.FirstTokenNS-r.SentNS)
		}
		if r.Phase == schemas.PhaseSteady {
			steady++
		}
	}
	if steady < 10 {
		t.Fatalf("only %d steady rows", steady)
	}
	if meta["target"] != "sim" || meta["hardware"] != "h100" || meta["warnings"] != "" {
		t.Errorf("meta target %q hardware %q warnings %q", meta["target"], meta["hardware"], meta["warnings"])
	}
}

// TestTimeScaleInvariance runs the same setup against the simulator at two
// time scales; the world-time figures must agree.
func TestTimeScaleInvariance(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two simulated minutes")
	}
	dir := writeTraces(t, traceSpec{sessions: 4, turns: 4, api: schemas.APIOpenAIChat, think: 2 * time.Second, out: 60, pad: 6000})
	// The race detector multiplies wall costs, and world time multiplies
	// them by K: use lower scales under it.
	slowK, fastK, steady := 4.0, 16.0, 40*time.Second
	if raceEnabled {
		slowK, fastK, steady = 2, 8, 16*time.Second
	}
	run := func(scale float64) simFigures {
		s := startSim(t, scale)
		cfg := Config{Plan: loadPlan(t, dir, PlanOptions{}), Target: s.URL, Users: 4, TimeScale: scale,
			Warmup: 4 * time.Second, Steady: steady, Shaping: Shaping{Model: "gpt-oss-120b"}, CacheSalt: "k{user}"}
		rows, _, _ := runToFile(t, context.Background(), cfg)
		return figures(t, rows)
	}
	slow, fast := run(slowK), run(fastK)
	t.Logf("scale %g: TTFT p50 %.3fs speed p50 %.1f tok/s (%d rows); scale %g: %.3fs %.1f tok/s (%d rows)",
		slowK, slow.ttftP50, slow.speedP50, slow.rows, fastK, fast.ttftP50, fast.speedP50, fast.rows)
	if d := math.Abs(fast.speedP50-slow.speedP50) / slow.speedP50; d > 0.10 {
		t.Errorf("output speed p50 differs by %.0f%% between scales (%.1f vs %.1f tok/s)", 100*d, slow.speedP50, fast.speedP50)
	}
	// Fixed wall-clock costs per request (HTTP, the simulator parsing and
	// tokenizing a prompt) are multiplied by K in world time; allow 2.5 ms
	// of them at the fast scale (8 ms under the race detector).
	overhead := 0.0025
	if raceEnabled {
		overhead = 0.008
	}
	if d := math.Abs(fast.ttftP50 - slow.ttftP50); d > 0.2*slow.ttftP50+fastK*overhead {
		t.Errorf("TTFT p50 differs between scales: %.3fs vs %.3fs", slow.ttftP50, fast.ttftP50)
	}
}
