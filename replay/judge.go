package replay

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Sample is one steady-state request as a level judge sees it.
type Sample struct {
	// TTFT is first content token − send, world seconds; NaN when no token
	// arrived.
	TTFT float64
	// Speed is (output tokens − 1) / (last token − first token), world
	// tokens per second; NaN when fewer than two tokens arrived.
	Speed float64
	// Failed is true for a request that ended with an error.
	Failed bool
}

// Judge decides whether a load level passes.
type Judge interface {
	Judge(samples []Sample) Verdict
}

// Verdict is a judge's decision on one level.
type Verdict struct {
	Pass bool
	// Speed and TTFT are the judged percentiles (tok/s, s); ErrorRate is
	// failed ÷ all; N counts the samples.
	Speed, TTFT, ErrorRate float64
	N                      int
	// Reason says why a level failed; empty when it passed.
	Reason string
}

// Tier is a per-user speed target: an output-speed floor and a TTFT ceiling.
type Tier struct {
	// Speed is the output-speed floor, tokens/s.
	Speed float64
	// TTFT is the time-to-first-token ceiling.
	TTFT time.Duration
}

func (t Tier) String() string {
	return fmt.Sprintf("%g tok/s & TTFT %s", t.Speed, t.TTFT)
}

// TierPresets are the published AA-AgentPerf tiers by model (REFERENCE.md),
// slowest first.
var TierPresets = map[string][]Tier{
	"gpt-oss-120b":  {{100, 5 * time.Second}, {250, 3 * time.Second}, {500, 2 * time.Second}, {2000, time.Second}},
	"deepseek-v3.2": {{30, 15 * time.Second}, {100, 15 * time.Second}, {300, 15 * time.Second}},
}

// ParseTier reads a tier: "SPEED:TTFT" (e.g. "250:3s"), or a bare speed
// that names one of model's presets (e.g. "250" for gpt-oss-120b), or ""
// for the model's slowest preset.
func ParseTier(s, model string) (Tier, error) {
	presets := TierPresets[strings.ToLower(model)]
	if s == "" {
		if len(presets) == 0 {
			return Tier{}, fmt.Errorf("no tier presets for model %q: give --tier SPEED:TTFT (e.g. 100:5s)", model)
		}
		return presets[0], nil
	}
	sp, tt, hasTTFT := strings.Cut(s, ":")
	speed, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(sp), "t/s"), 64)
	if err != nil || speed <= 0 {
		return Tier{}, fmt.Errorf("bad tier %q: want SPEED:TTFT such as 100:5s", s)
	}
	if !hasTTFT {
		for _, p := range presets {
			if p.Speed == speed {
				return p, nil
			}
		}
		return Tier{}, fmt.Errorf("tier %q: no %g tok/s preset for model %q; give SPEED:TTFT (e.g. %g:5s)", s, speed, model, speed)
	}
	d, err := time.ParseDuration(strings.TrimSpace(tt))
	if err != nil || d <= 0 {
		return Tier{}, fmt.Errorf("bad tier TTFT %q: want a duration such as 5s", tt)
	}
	return Tier{Speed: speed, TTFT: d}, nil
}

// TierJudge applies the AgentPerf rule: a level passes when the
// SpeedPercentile of output speed ≥ the tier's floor, the TTFTPercentile of
// TTFT ≤ its ceiling and the error rate ≤ MaxErrorRate. Zero values mean
// the published rule: P25 speed, P95 TTFT, 1 % errors. Percentiles are
// linear interpolations between closest ranks over the non-failed
// requests. (analyze implements the same rule for reports; this copy lets
// replay judge levels while searching.)
type TierJudge struct {
	Tier            Tier
	SpeedPercentile float64
	TTFTPercentile  float64
	MaxErrorRate    float64
}

var _ Judge = TierJudge{}

// Judge implements Judge.
func (j TierJudge) Judge(samples []Sample) Verdict {
	sp, tp, maxErr := j.SpeedPercentile, j.TTFTPercentile, j.MaxErrorRate
	if sp == 0 {
		sp = 25
	}
	if tp == 0 {
		tp = 95
	}
	if maxErr == 0 {
		maxErr = 0.01
	}
	v := Verdict{N: len(samples)}
	if len(samples) == 0 {
		v.Reason = "no steady-state requests"
		v.Speed, v.TTFT = math.NaN(), math.NaN()
		return v
	}
	var speeds, ttfts []float64
	failed := 0
	for _, s := range samples {
		if s.Failed {
			failed++
			continue
		}
		if !math.IsNaN(s.Speed) {
			speeds = append(speeds, s.Speed)
		}
		if !math.IsNaN(s.TTFT) {
			ttfts = append(ttfts, s.TTFT)
		}
	}
	v.ErrorRate = float64(failed) / float64(len(samples))
	v.Speed = percentile(speeds, sp)
	v.TTFT = percentile(ttfts, tp)
	var why []string
	if v.ErrorRate > maxErr {
		why = append(why, fmt.Sprintf("error rate %.1f%% > %.1f%%", 100*v.ErrorRate, 100*maxErr))
	}
	if math.IsNaN(v.Speed) || v.Speed < j.Tier.Speed {
		why = append(why, fmt.Sprintf("P%g output speed %.1f tok/s < %g", sp, v.Speed, j.Tier.Speed))
	}
	if math.IsNaN(v.TTFT) || v.TTFT > j.Tier.TTFT.Seconds() {
		why = append(why, fmt.Sprintf("P%g TTFT %.2fs > %s", tp, v.TTFT, j.Tier.TTFT))
	}
	v.Pass = len(why) == 0
	v.Reason = strings.Join(why, "; ")
	return v
}
