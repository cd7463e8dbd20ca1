package analyze

import (
	"math"
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
	if s.Requests == 0 {
		v.ErrorRate = math.NaN()
	}
	return v
}
