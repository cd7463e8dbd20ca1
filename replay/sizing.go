package replay

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/agentperf/agentperf/analyze"

	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/sim"
)

// Sizing: does the simulated deployment fit the trace? (issue 13)
//
// EstimateSizing compares, before a run against the embedded simulator,
// the load the run offers with what the deployment sustains by the
// simulator's own cost model (sim.Plan.PrefillSeconds, DecodeBatch,
// DecodeTokenSeconds); LevelReport.Overload says after a level whether it
// ran overloaded. docs/replay.md "Sizing".

// SizingHeadroom is the utilisation the sizing advice aims for: below 1,
// because queues grow without bound as utilisation nears 1.
const SizingHeadroom = 0.8

// EstimateSizing returns the sizing estimate of cfg's run against its
// embedded simulator (cfg.Sim), or nil when there is none to make: a real
// target (its capacity is unknown), a capacity search (which varies the
// load on purpose), or a plan without turns or rate. Closed loop: Users ×
// one user's pace at light load (each turn's think time, scaled and capped
// as the run does, plus its unloaded response time); Poisson:
// SessionsPerSecond × turns per session; timestamps: the recorded turns
// over their recorded span.
func EstimateSizing(cfg Config) *schemas.SizingMeta {
	sp, p := cfg.Sim, cfg.Plan
	if sp == nil || p == nil || cfg.Search != nil || p.Turns == 0 || len(p.Sessions) == 0 || sp.Instances == 0 {
		return nil
	}
	est := &schemas.SizingMeta{Headroom: SizingHeadroom, ContextTokens: sp.ContextTokens}

	// The workload's shape: prompt, cached and output tokens per turn, the
	// prefix cache shared as recorded (every block seen before is a hit:
	// an upper bound on hits, so a lower bound on the work).
	type turn struct{ in, cached, out int }
	turns := make([]turn, 0, p.Turns)
	seen := map[int64]struct{}{}
	var sumCtx float64
	for _, s := range p.Sessions {
		for _, t := range s.Turns {
			in, out := int(t.ExpectedInput), int(t.ExpectedOutput)
			if out <= 0 {
				out = sim.DefaultOutputMedian
			}
			hits := 0
			for hits < len(t.HashIDs) {
				if _, ok := seen[t.HashIDs[hits]]; !ok {
					break
				}
				hits++
			}
			for _, h := range t.HashIDs[hits:] {
				seen[h] = struct{}{}
			}
			cached := min(hits*sim.BlockTokens, max(in-1, 0))
			turns = append(turns, turn{in, cached, out})
			sumCtx += float64(in) + float64(out)/2
			if need := in + out; need > sp.ContextTokens {
				est.OverContext++
				est.LongestTokens = max(est.LongestTokens, need)
			}
		}
	}
	n := float64(len(turns))
	est.MeanContextTokens = int(sumCtx / n)
	est.DecodeBatch = sp.DecodeBatch(est.MeanContextTokens)
	perToken := sp.DecodeTokenSeconds(est.DecodeBatch, est.MeanContextTokens)
	lone := sp.DecodeTokenSeconds(1, est.MeanContextTokens)

	var prefill, decode, prompt, uncached, output, cycle float64
	thinkScale := cfg.ThinkScale
	if thinkScale == 0 {
		thinkScale = 1
	}
	i := 0
	for _, s := range p.Sessions {
		for _, t := range s.Turns {
			w := turns[i]
			i++
			pf := sp.PrefillSeconds(w.cached, w.in-w.cached)
			prefill += pf
			decode += float64(w.out) * perToken
			prompt += float64(w.in)
			uncached += float64(w.in - w.cached)
			output += float64(w.out)
			think := time.Duration(float64(t.ThinkNS) * thinkScale)
			if cfg.ThinkCap > 0 && think > cfg.ThinkCap {
				think = cfg.ThinkCap
			}
			cycle += think.Seconds() + pf + float64(w.out)*lone
		}
	}

	var rate float64 // offered requests per world second
	switch cfg.Mode {
	case ModeClosed, "":
		if cycle > 0 {
			rate = float64(cfg.Users) * n / cycle
		}
	case ModePoisson:
		rate = cfg.SessionsPerSecond * n / float64(len(p.Sessions))
	case ModeTimestamps:
		lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
		for _, s := range p.Sessions {
			for _, t := range s.Turns {
				if t.StartNS != 0 {
					lo, hi = min(lo, t.StartNS), max(hi, t.StartNS)
				}
			}
		}
		if hi > lo {
			rate = n / (float64(hi-lo) / 1e9 / cfg.timeScale())
		}
	}
	if !(rate > 0) || math.IsInf(rate, 0) {
		return est
	}
	est.RequestsPerSecond = rate
	est.PromptTokensPerSecond = rate * prompt / n
	est.UncachedTokensPerSecond = rate * uncached / n
	est.OutputTokensPerSecond = rate * output / n
	if sp.PrefillInstances > 0 {
		est.Utilization = max(rate*prefill/n/float64(sp.PrefillInstances), rate*decode/n/float64(sp.Instances))
	} else {
		est.Utilization = rate * (prefill + decode) / n / float64(sp.Instances)
	}
	est.Overloaded = est.Utilization > 1
	if est.Utilization > 0 {
		inst := math.Ceil(float64(sp.Accelerators/sp.TP) * est.Utilization / SizingHeadroom)
		est.FitAccelerators = max(int(inst), 1) * sp.TP
		if cfg.Mode == ModeClosed || cfg.Mode == "" {
			est.FitUsers = int(float64(cfg.Users) * SizingHeadroom / est.Utilization)
		}
	}
	est.Summary = sizingSummary(sp, est)
	return est
}

// timeScale is the world's speed-up over the wall clock, 1 when unset.
func (c Config) timeScale() float64 {
	if c.TimeScale > 0 {
		return c.TimeScale
	}
	return 1
}

// SizingLabel names a simulated deployment the way the sizing messages
// do: "1 × h200 (TP 1, 1 instance) serving gpt-oss-120b".
func SizingLabel(sp *sim.Plan) string {
	inst := fmt.Sprintf("%d instance", sp.Instances)
	if sp.Instances != 1 {
		inst += "s"
	}
	if sp.PrefillInstances > 0 {
		inst += fmt.Sprintf(" + %d prefill", sp.PrefillInstances)
	}
	return fmt.Sprintf("%d × %s (TP %d, %s) serving %s", sp.Accelerators, sp.Hardware.Name, sp.TP, inst, sp.Model.Name)
}

func sizingSummary(sp *sim.Plan, est *schemas.SizingMeta) string {
	return fmt.Sprintf("offered %.2f req/s (%.0f prompt tok/s, %.0f uncached; %.0f output tok/s) on %s: estimated utilisation %.0f %% (decode batch %d at %d tokens of context)",
		est.RequestsPerSecond, est.PromptTokensPerSecond, est.UncachedTokensPerSecond, est.OutputTokensPerSecond,
		SizingLabel(sp), 100*est.Utilization, est.DecodeBatch, est.MeanContextTokens)
}

// SizingAdvice returns what would fit, in words, when the estimate asks
// for more than sp has ("" when est is nil or sp is enough): the
// accelerator count of the same hardware, and in a closed loop the users
// the current sizing keeps within SizingHeadroom. It names no flag: the
// CLI adds those.
func SizingAdvice(sp *sim.Plan, est *schemas.SizingMeta) string {
	if est == nil || est.FitAccelerators <= sp.Accelerators {
		return ""
	}
	s := fmt.Sprintf("about %d × %s (TP %d) would keep it under %.0f %%", est.FitAccelerators, sp.Hardware.Name, sp.TP, 100*SizingHeadroom)
	if est.FitUsers > 0 {
		s += fmt.Sprintf(", or about %d users on this sizing", est.FitUsers)
	}
	return s
}

// Overload says whether a level ran overloaded, and why ("" when not),
// judged against tier (the model's slowest preset, say) over its steady
// requests: TTFT p50 above 10 × tier.TTFTCeiling (60 s when it has none),
// or at least 10 % of them failed (stalled, timed out, refused); and, when
// saturated (the estimate before the run said the closed loop's users
// outrun the deployment), a P25 output speed below tier.SpeedFloor. Only
// levels with steady requests are judged.
func (l *LevelReport) Overload(tier analyze.Tier, saturated bool) string {
	s := l.stats
	if s == nil || s.Requests == 0 {
		return ""
	}
	limit := 10 * tier.TTFTCeiling
	if limit <= 0 {
		limit = time.Minute
	}
	var why []string
	if s.TTFT != nil && s.TTFT.Count() > 0 {
		p50 := time.Duration(s.TTFT.Percentile(50) * float64(time.Millisecond))
		if p50 > limit {
			why = append(why, fmt.Sprintf("TTFT p50 %s (over %s)", p50.Round(100*time.Millisecond), limit))
		}
	}
	if rate := float64(s.Errors) / float64(s.Requests); rate >= 0.10 {
		why = append(why, fmt.Sprintf("%.0f %% of steady requests failed (stalled, timed out or refused)", 100*rate))
	}
	if saturated && tier.SpeedFloor > 0 && s.OutputSpeed != nil && s.OutputSpeed.Count() > 0 {
		pct := tier.SpeedPercentile
		if pct == 0 {
			pct = 25
		}
		if v := s.OutputSpeed.Percentile(pct); v < tier.SpeedFloor {
			why = append(why, fmt.Sprintf("P%.0f output speed %.0f tok/s (under the %.0f tok/s of the slowest tier)", pct, v, tier.SpeedFloor))
		}
	}
	return strings.Join(why, ", ")
}
