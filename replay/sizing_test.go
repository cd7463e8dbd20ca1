package replay

import (
	"strings"
	"testing"
	"time"

	"github.com/agentperf/agentperf/analyze"
	"github.com/agentperf/agentperf/internal/hist"
	"github.com/agentperf/agentperf/sim"
)

// sizingPlan is a plan of sessions × turns, each turn in prompt tokens
// (all new: no shared blocks) and out output tokens, think seconds apart,
// sessions starting gap apart on the recorded clock.
func sizingPlan(sessions, turns, in, out int, think, gap time.Duration) *Plan {
	p := &Plan{}
	id := int64(0)
	for s := 0; s < sessions; s++ {
		ss := &Session{ID: string(rune('a' + s%26)), Agent: "test"}
		for k := 0; k < turns; k++ {
			t := &Turn{Session: ss, Index: int32(k), ExpectedInput: int32(in), ExpectedOutput: int32(out),
				StartNS: 1e18 + int64(s)*int64(gap) + int64(k)*int64(think)}
			if k > 0 {
				t.ThinkNS = int64(think)
			}
			for b := 0; b < in/sim.BlockTokens; b++ {
				id++
				t.HashIDs = append(t.HashIDs, id)
			}
			ss.Turns = append(ss.Turns, t)
			p.Turns++
		}
		p.Sessions = append(p.Sessions, ss)
	}
	return p
}

func resolveSim(t *testing.T, hw string, acc int) *sim.Plan {
	t.Helper()
	sp, err := sim.Resolve(sim.Config{Hardware: hw, Model: "gpt-oss-120b", Accelerators: acc})
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// TestEstimateSizing: an overloaded configuration is flagged with a larger
// accelerator count that fits, a light one is not, in every mode; no
// estimate is made against a real target or in a search.
func TestEstimateSizing(t *testing.T) {
	one := resolveSim(t, "h200", 0)
	eight := resolveSim(t, "h200", 8)
	heavy := sizingPlan(8, 4, 20000, 500, time.Second, time.Second)
	light := sizingPlan(8, 4, 2000, 100, time.Minute, time.Minute)
	cases := []struct {
		name      string
		cfg       Config
		overload  bool
		nilResult bool
	}{
		{"closed heavy 1×h200", Config{Plan: heavy, Sim: one, Mode: ModeClosed, Users: 64}, true, false},
		{"closed heavy 8×h200 few users", Config{Plan: heavy, Sim: eight, Mode: ModeClosed, Users: 2}, false, false},
		{"closed light", Config{Plan: light, Sim: one, Mode: ModeClosed, Users: 4}, false, false},
		{"poisson heavy", Config{Plan: heavy, Sim: one, Mode: ModePoisson, SessionsPerSecond: 5}, true, false},
		{"poisson light", Config{Plan: light, Sim: one, Mode: ModePoisson, SessionsPerSecond: 0.01}, false, false},
		{"timestamps heavy", Config{Plan: heavy, Sim: one, Mode: ModeTimestamps}, true, false},
		{"timestamps light", Config{Plan: light, Sim: one, Mode: ModeTimestamps}, false, false},
		{"real target", Config{Plan: heavy, Mode: ModeClosed, Users: 64}, false, true},
		{"search", Config{Plan: heavy, Sim: one, Mode: ModeClosed, Users: 64, Search: &SearchConfig{}}, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			est := EstimateSizing(c.cfg)
			if c.nilResult {
				if est != nil {
					t.Fatalf("got %+v, want no estimate", est)
				}
				return
			}
			if est == nil {
				t.Fatal("got no estimate")
			}
			if est.Overloaded != c.overload {
				t.Fatalf("overloaded = %v (utilisation %.2f), want %v: %s", est.Overloaded, est.Utilization, c.overload, est.Summary)
			}
			if !(est.RequestsPerSecond > 0) || !(est.Utilization > 0) || est.DecodeBatch < 1 || est.Summary == "" {
				t.Errorf("incomplete estimate %+v", est)
			}
			adv := SizingAdvice(c.cfg.Sim, est)
			if c.overload {
				if est.FitAccelerators <= c.cfg.Sim.Accelerators || est.FitAccelerators%c.cfg.Sim.TP != 0 {
					t.Errorf("fit accelerators %d, want a multiple of TP %d above %d", est.FitAccelerators, c.cfg.Sim.TP, c.cfg.Sim.Accelerators)
				}
				if !strings.Contains(adv, "h200") {
					t.Errorf("advice %q names no hardware", adv)
				}
				// The advice fits: the same run on that many accelerators
				// is estimated within the headroom.
				fit := c.cfg
				fit.Sim = resolveSim(t, "h200", est.FitAccelerators)
				if got := EstimateSizing(fit); got.Utilization > SizingHeadroom+1e-9 {
					t.Errorf("on %d accelerators: utilisation %.2f, want ≤ %.2f", est.FitAccelerators, got.Utilization, SizingHeadroom)
				}
			} else if adv != "" && est.Utilization <= SizingHeadroom {
				t.Errorf("advice %q for utilisation %.2f", adv, est.Utilization)
			}
			if c.overload && c.cfg.Mode == ModeClosed && (est.FitUsers < 1 || est.FitUsers >= c.cfg.Users) {
				t.Errorf("fit users %d, want 1 … %d", est.FitUsers, c.cfg.Users-1)
			}
		})
	}
}

// TestEstimateSizingScales: offered load grows with users, and more
// accelerators lower the utilisation in proportion.
func TestEstimateSizingScales(t *testing.T) {
	p := sizingPlan(4, 3, 8000, 300, 5*time.Second, time.Second)
	one, two := resolveSim(t, "h200", 1), resolveSim(t, "h200", 2)
	a := EstimateSizing(Config{Plan: p, Sim: one, Users: 10})
	b := EstimateSizing(Config{Plan: p, Sim: one, Users: 20})
	c := EstimateSizing(Config{Plan: p, Sim: two, Users: 20})
	if got, want := b.RequestsPerSecond/a.RequestsPerSecond, 2.0; got < want-1e-9 || got > want+1e-9 {
		t.Errorf("rate ratio at 20/10 users = %v, want %v", got, want)
	}
	if got, want := c.Utilization/b.Utilization, 0.5; got < want-1e-9 || got > want+1e-9 {
		t.Errorf("utilisation ratio at 2/1 accelerators = %v, want %v", got, want)
	}
}

// TestEstimateSizingContext counts the turns over the simulated context.
func TestEstimateSizingContext(t *testing.T) {
	sp := resolveSim(t, "h200", 0)
	p := sizingPlan(2, 2, 1000, 10, time.Second, time.Second)
	p.Sessions[1].Turns[1].ExpectedInput = int32(sp.ContextTokens)
	est := EstimateSizing(Config{Plan: p, Sim: sp, Users: 1})
	if est.OverContext != 1 || est.LongestTokens != sp.ContextTokens+10 || est.ContextTokens != sp.ContextTokens {
		t.Errorf("over context %d longest %d context %d, want 1, %d, %d", est.OverContext, est.LongestTokens, est.ContextTokens, sp.ContextTokens+10, sp.ContextTokens)
	}
}

// TestLevelOverload judges levels after the run.
func TestLevelOverload(t *testing.T) {
	tier := analyze.Tier{Name: "100 tok/s", SpeedFloor: 100, TTFTCeiling: 5 * time.Second}
	level := func(requests, errors int64, ttftMS, speed float64) *LevelReport {
		s := &analyze.LevelStats{Requests: requests, Errors: errors, TTFT: hist.New(1000), OutputSpeed: hist.New(1000)}
		for i := int64(0); i < requests-errors; i++ {
			s.TTFT.Add(ttftMS)
			s.OutputSpeed.Add(speed)
		}
		return &LevelReport{stats: s}
	}
	// Half the requests wait 1 s, half 60 s: p50 is fine, p95 is not.
	split := level(100, 0, 1000, 150)
	split.stats.TTFT = hist.New(1000)
	for i := 0; i < 100; i++ {
		split.stats.TTFT.Add(float64(1000 + 59000*(i%2)))
	}
	cases := []struct {
		name      string
		l         *LevelReport
		saturated bool
		want      string // substring; "" = not overloaded
	}{
		{"normal", level(100, 0, 300, 150), false, ""},
		{"normal, saturated estimate", level(100, 0, 300, 150), true, ""},
		{"TTFT far above the ceiling", level(100, 0, 306000, 150), false, "TTFT p50 5m6s, p95 5m6s (over 50s)"},
		{"TTFT a little above the ceiling", level(100, 0, 8000, 150), false, ""},
		{"TTFT p95 far above the ceiling", split, false, "p95 1m0s"},
		{"half stalled", level(100, 51, 300, 150), false, "51 % of steady requests failed"},
		{"few errors", level(100, 2, 300, 150), false, ""},
		{"slow, saturated", level(100, 0, 300, 40), true, "P25 output speed 40 tok/s"},
		{"slow, not saturated", level(100, 0, 300, 40), false, ""},
		{"no steady requests", &LevelReport{stats: &analyze.LevelStats{}}, true, ""},
		{"not judged", &LevelReport{}, true, ""},
	}
	for _, c := range cases {
		got := c.l.Overload(tier, c.saturated)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}
