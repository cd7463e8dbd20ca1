package analyze

import (
	"math"

	"github.com/agentperf/agentperf/capacity"
)

// LevelView is one level's figures as every output format prints them
// (NaN where a figure cannot be computed).
type LevelView struct {
	Level, Users, Shards                        int
	Requests, Errors, Warmup, Drain             int64
	ErrorRate                                   float64
	Trajectories                                int64
	TrajectoriesFrom                            string
	TrajectoriesByAgent                         map[string]int64
	SpeedP25, SpeedP50, E2EP25, E2EP50          float64 // tok/s
	TTFTP50, TTFTP95, TTFTP99                   float64 // s
	ITLP50, ITLP95, ITLP99                      float64 // ms
	LagP99                                      float64 // ms
	OutputTokS, TotalTokS                       float64
	OutputTokSPerAccelerator                    float64
	CacheHitRate                                float64 // fraction
	WindowS, ConfiguredWindowS                  float64
	WindowStartNS, WindowEndNS                  int64
	SpeedRequests, TTFTRequests, ITLGaps        int64
	OutputTokens, InputTokens, ChunkCountedReqs int64
	Flags                                       []Flag
	Verdicts                                    []Verdict
	// SpeedP25CI (tok/s), TTFTP95CI (s) and ErrorRateCI are the 90 %
	// intervals of P25 output speed, P95 TTFT and the error rate (NaN when
	// the level could not be assessed).
	SpeedP25CI, TTFTP95CI, ErrorRateCI capacity.Estimate
	// Outcomes are the verdicts with uncertainty, one per tier (nil when
	// the level could not be assessed); Tiers their results.
	Outcomes []capacity.Verdict
	Tiers    []capacity.TierResult
	// SampledSessions is the sessions bootstrapped when a sample was (0:
	// all); Sessions the level's steady sessions.
	SampledSessions, Sessions int
	// SteadyWindowS is the steady-state window throughput and power are
	// measured over, [SteadyStartNS, SteadyEndNS); WindowOutputTokens the
	// output tokens that arrived inside it.
	SteadyWindowS              float64
	SteadyStartNS, SteadyEndNS int64
	WindowOutputTokens         float64
	// PinChecked and Unpinned count the responses checked against the
	// pinned output length and those that missed it.
	PinChecked, Unpinned int64
	// Power figures over the steady window (NaN without power).
	PowerMeanW, PowerP95W, JoulesPerToken, JoulesPerTrajectory float64
}

func pct(d *Dist, p float64) float64 {
	if d == nil || d.Count() == 0 {
		return math.NaN()
	}
	return d.Percentile(p)
}

// View returns the figures of Levels[i].
func (set *ResultSet) View(i int) LevelView {
	s := set.Levels[i]
	v := LevelView{
		Level: s.Level, Users: s.Users, Shards: s.Shards,
		Requests: s.Requests, Errors: s.Errors, Warmup: s.WarmupRequests, Drain: s.DrainRequests,
		ErrorRate:    s.ErrorRate(),
		Trajectories: s.Trajectories, TrajectoriesFrom: s.TrajectoriesFrom, TrajectoriesByAgent: s.TrajectoriesByAgent,
		SpeedP25: pct(s.OutputSpeed, 25), SpeedP50: pct(s.OutputSpeed, 50),
		E2EP25: pct(s.E2ESpeed, 25), E2EP50: pct(s.E2ESpeed, 50),
		TTFTP50: pct(s.TTFT, 50) / 1000, TTFTP95: pct(s.TTFT, 95) / 1000, TTFTP99: pct(s.TTFT, 99) / 1000,
		ITLP50: pct(s.ITL, 50), ITLP95: pct(s.ITL, 95), ITLP99: pct(s.ITL, 99),
		LagP99:     pct(s.ClientLag, 99),
		OutputTokS: s.OutputTokPerSec(), TotalTokS: s.TotalTokPerSec(),
		OutputTokSPerAccelerator: math.NaN(),
		CacheHitRate:             s.CacheHitRate(),
		WindowS:                  s.Window().Seconds(), ConfiguredWindowS: s.ConfiguredWindow.Seconds(),
		WindowStartNS: s.WindowStartNS, WindowEndNS: s.WindowEndNS,
		SpeedRequests: s.OutputSpeed.Count(), TTFTRequests: s.TTFT.Count(), ITLGaps: s.ITL.Count(),
		OutputTokens: s.OutputTokens, InputTokens: s.InputTokens, ChunkCountedReqs: s.ChunkCounted,
		Flags:    s.Flags,
		Verdicts: set.Verdicts[i],
	}
	if set.System.Accelerators > 0 {
		v.OutputTokSPerAccelerator = v.OutputTokS / float64(set.System.Accelerators)
	}
	nan := capacity.Estimate{Point: math.NaN(), Lo: math.NaN(), Hi: math.NaN()}
	v.SpeedP25CI, v.TTFTP95CI, v.ErrorRateCI = nan, nan, nan
	if l := set.Assessed[i]; l != nil && len(l.Tiers) == len(set.Tiers)+1 {
		ref := l.Tiers[len(set.Tiers)]
		v.SpeedP25CI, v.ErrorRateCI = ref.Speed, ref.ErrorRate
		v.TTFTP95CI = capacity.Estimate{Point: ref.TTFT.Point / 1000, Lo: ref.TTFT.Lo / 1000, Hi: ref.TTFT.Hi / 1000}
		v.Tiers = l.Tiers[:len(set.Tiers)]
		for _, tr := range v.Tiers {
			v.Outcomes = append(v.Outcomes, tr.Verdict)
		}
		v.SampledSessions = l.Sampled
	}
	v.Sessions = s.SteadySessions
	v.SteadyStartNS, v.SteadyEndNS, v.SteadyWindowS = s.SteadyStartNS, s.SteadyEndNS, s.SteadyWindow().Seconds()
	v.WindowOutputTokens = s.WindowOutputTokens
	v.PinChecked, v.Unpinned = s.PinChecked, s.Unpinned
	v.PowerMeanW, v.PowerP95W, v.JoulesPerToken, v.JoulesPerTrajectory = math.NaN(), math.NaN(), math.NaN(), math.NaN()
	if p := s.Power; p != nil {
		v.PowerMeanW, v.PowerP95W, v.JoulesPerToken, v.JoulesPerTrajectory = p.MeanW, p.P95W, p.JoulesPerToken, p.JoulesPerTrajectory
	}
	if s.Requests == 0 {
		v.ErrorRate = math.NaN()
	}
	return v
}
