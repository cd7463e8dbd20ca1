package replay

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/agentperf/agentperf/analyze"
	"github.com/agentperf/agentperf/power"
	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/sim"
)

func simPlan(t testing.TB, cfg sim.Config) *sim.Plan {
	t.Helper()
	if cfg.Hardware == "" {
		cfg.Hardware, cfg.Model, cfg.Seed = "h100", "gpt-oss-120b", 1
	}
	p, err := sim.Resolve(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// normalized returns rows with their run id cleared and every time made
// relative to the earliest scheduled send, in send order.
func normalized(rows []schemas.Result) []schemas.Result {
	if len(rows) == 0 {
		return nil
	}
	t0 := rows[0].ScheduledNS
	for _, r := range rows {
		t0 = min(t0, r.ScheduledNS)
	}
	out := slices.Clone(rows)
	for i := range out {
		r := &out[i]
		r.RunID = ""
		r.ScheduledNS -= t0
		r.SentNS -= t0
		r.EndNS -= t0
		if r.FirstTokenNS != 0 {
			r.FirstTokenNS -= t0
		}
	}
	return out
}

// TestVirtualDeterministic replays the same setup twice in virtual time
// in every mode: the rows are identical but for the run id and the start
// time.
func TestVirtualDeterministic(t *testing.T) {
	dir := writeTraces(t, traceSpec{sessions: 6, turns: 5, api: schemas.APIOpenAIChat, agents: []string{"a", "b"},
		think: 2 * time.Second, out: 60, pad: 3000, gap: 3 * time.Second})
	for _, tt := range []struct {
		name string
		cfg  Config
	}{
		{"closed", Config{Users: 5, Warmup: 10 * time.Second, Steady: time.Minute}},
		{"poisson", Config{Mode: ModePoisson, SessionsPerSecond: 0.2, Steady: time.Minute, Seed: 7}},
		{"timestamps", Config{Mode: ModeTimestamps}},
		{"search", Config{Warmup: 5 * time.Second, Steady: 30 * time.Second, MaxSteady: -1,
			Search: &SearchConfig{Start: 1, MaxUsers: 8, Precision: 0.25, Tier: analyze.NewTier(150, 5*time.Second)}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var runs [2][]schemas.Result
			for i := range runs {
				cfg := tt.cfg
				cfg.Plan = loadPlan(t, dir, PlanOptions{})
				cfg.Sim = simPlan(t, sim.Config{})
				cfg.Shaping = Shaping{Model: "gpt-oss-120b"}
				rows, meta, _ := runToFile(t, context.Background(), cfg)
				if meta.ResponseClock != "virtual" {
					t.Errorf("response_clock %q, want virtual", meta.ResponseClock)
				}
				runs[i] = normalized(rows)
			}
			a, b := runs[0], runs[1]
			if len(a) < 10 {
				t.Fatalf("only %d rows", len(a))
			}
			if len(a) != len(b) {
				t.Fatalf("%d rows, then %d", len(a), len(b))
			}
			levels := map[int32]bool{}
			for _, r := range a {
				levels[r.Level] = true
			}
			if tt.cfg.Search != nil && len(levels) < 2 {
				t.Errorf("the search ran %d level(s)", len(levels))
			}
			for i := range a {
				if fmt.Sprint(a[i]) != fmt.Sprint(b[i]) {
					t.Fatalf("row %d differs:\n%+v\n%+v", i, a[i], b[i])
				}
			}
		})
	}
}

// TestVirtualMatchesHTTP replays one user (each request alone on the
// engine) against the simulator over HTTP, timed by its clock, and in
// virtual time: every request's tokens, cache hits, TTFT, chunk offsets and
// end are the same, for each API (their usage fields and opening events
// differ).
func TestVirtualMatchesHTTP(t *testing.T) {
	for _, api := range []string{schemas.APIOpenAIChat, schemas.APIAnthropic, schemas.APIOpenAIResponses} {
		t.Run(api, func(t *testing.T) {
			dir := writeTraces(t, traceSpec{sessions: 2, turns: 4, api: api, think: 2 * time.Second, out: 30, pad: 2000})
			base := Config{Users: 1, Warmup: 0, Steady: 40 * time.Second, Shaping: Shaping{Model: "gpt-oss-120b"}}

			s := startSim(t, 16)
			cfg := base
			cfg.Plan, cfg.Target, cfg.TimeScale, cfg.SimClock = loadPlan(t, dir, PlanOptions{}), s.URL, 16, true
			httpRows, _, _ := runToFile(t, context.Background(), cfg)

			cfg = base
			cfg.Plan, cfg.Sim = loadPlan(t, dir, PlanOptions{}), simPlan(t, sim.Config{})
			virtRows, _, _ := runToFile(t, context.Background(), cfg)

			h, v := completedBySend(httpRows), completedBySend(virtRows)
			n := min(len(h), len(v))
			if n < 4 {
				t.Fatalf("only %d HTTP and %d virtual completed requests", len(h), len(v))
			}
			for i := 0; i < n; i++ {
				a, b := h[i], v[i]
				got := fmt.Sprintf("%s/%d in %d cached %d out %d reasoning %d ttft %d end %d chunks %v",
					b.SessionID, b.Turn, b.InputTokens, b.CachedTokens, b.OutputTokens, b.ReasoningTokens,
					b.FirstTokenNS-b.SentNS, b.EndNS-b.SentNS, b.ChunkOffsetsUS)
				want := fmt.Sprintf("%s/%d in %d cached %d out %d reasoning %d ttft %d end %d chunks %v",
					a.SessionID, a.Turn, a.InputTokens, a.CachedTokens, a.OutputTokens, a.ReasoningTokens,
					a.FirstTokenNS-a.SentNS, a.EndNS-a.SentNS, a.ChunkOffsetsUS)
				if got != want {
					t.Errorf("request %d:\nvirtual %s\nHTTP    %s", i, got, want)
				}
			}
			t.Logf("%d requests identical (first: %d input, %d cached, TTFT %d ns, %d chunks)", n, v[0].InputTokens, v[0].CachedTokens, v[0].FirstTokenNS-v[0].SentNS, len(v[0].ChunkOffsetsUS))
		})
	}
}

// TestVirtualRefusal: a prompt over the simulated context is refused with
// the HTTP server's status and error body, as a row.
func TestVirtualRefusal(t *testing.T) {
	dir := writeTraces(t, traceSpec{sessions: 1, turns: 1, api: schemas.APIOpenAIChat, out: 10, pad: 200})
	plan := simPlan(t, sim.Config{Hardware: "h100", Model: "gpt-oss-120b", Accelerators: 1, MaxBatchTokens: 512, Seed: 1})
	cfg := Config{Plan: loadPlan(t, dir, PlanOptions{}), Sim: plan, Users: 1, Steady: 5 * time.Second, MaxSteady: -1,
		Shaping: Shaping{Model: "gpt-oss-120b"}}
	// A 1-byte limit refuses every body.
	cfg.Sim = simPlan(t, sim.Config{Hardware: "h100", Model: "gpt-oss-120b", Seed: 1, MaxRequestBytes: 1})
	rows, _, _ := runToFile(t, context.Background(), cfg)
	if len(rows) == 0 {
		t.Fatal("no rows")
	}
	r := rows[0]
	if r.Status != 413 || !strings.HasPrefix(r.Error, "HTTP 413: ") || !strings.Contains(r.Error, "exceeds the 1-byte limit") {
		t.Errorf("row status %d error %q, want 413 with the server's message", r.Status, r.Error)
	}
}

// completedBySend returns the rows without an error in send order (drain
// rows may be cut at different points in two runs).
func completedBySend(rows []schemas.Result) []schemas.Result {
	var out []schemas.Result
	for _, r := range rows {
		if r.Error == "" {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SentNS < out[j].SentNS })
	return out
}

// TestVirtualPower: a virtual-time run reports the simulator's modelled
// power, one sample per simulated second with a reading per accelerator,
// each between the hardware's idle power and its TDP, busier under load.
func TestVirtualPower(t *testing.T) {
	dir := writeTraces(t, traceSpec{sessions: 4, turns: 4, api: schemas.APIOpenAIChat, think: time.Second, out: 200, pad: 3000})
	plan := simPlan(t, sim.Config{})
	hw := plan.Hardware
	cfg := Config{Plan: loadPlan(t, dir, PlanOptions{}), Sim: plan, Users: 4, Warmup: 5 * time.Second, Steady: 30 * time.Second,
		MaxSteady: -1, Shaping: Shaping{Model: "gpt-oss-120b"}, PowerFile: filepath.Join(t.TempDir(), "r.power.parquet")}
	_, meta, rep := runToFile(t, context.Background(), cfg)
	if rep.Power == nil || meta.Power == nil || meta.Power.File != "r.power.parquet" || meta.Power.Samples < 35 {
		t.Fatalf("power in the report %+v and the metadata %+v", rep.Power, meta.Power)
	}
	rec, err := power.Load(cfg.PowerFile)
	if err != nil || len(rec.Samples) != meta.Power.Samples {
		t.Fatalf("power file: %d samples, %v; metadata says %d", len(rec.Samples), err, meta.Power.Samples)
	}
	busiest := 0.0
	for i, s := range rec.Samples {
		if len(s.GPUWatts) != plan.Accelerators || s.System != "sim" {
			t.Fatalf("sample %d: %d readings of system %q, want %d of sim", i, len(s.GPUWatts), s.System, plan.Accelerators)
		}
		for _, w := range s.GPUWatts {
			if w < hw.IdleWatts-1e-6 || w > hw.TDPWatts+1e-6 {
				t.Fatalf("sample %d: %.1f W outside idle %.0f W – TDP %.0f W", i, w, hw.IdleWatts, hw.TDPWatts)
			}
		}
		busiest = max(busiest, s.Watts)
		if i > 0 && s.TimeNS-rec.Samples[i-1].TimeNS != int64(time.Second) {
			t.Fatalf("samples %d and %d are %d ns apart, want 1 s", i-1, i, s.TimeNS-rec.Samples[i-1].TimeNS)
		}
	}
	if idle := hw.IdleWatts * float64(plan.Accelerators); busiest <= idle*1.05 {
		t.Errorf("busiest second %.0f W, idle %.0f W: the load drew no power", busiest, idle)
	}
}
