package replay

import (
	"container/list"
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
// load on purpose), or a plan without turns. Offered rate: closed loop,
// Users × one user's pace at light load (each turn's think time, scaled
// and capped as the run does, plus its unloaded response time); Poisson,
// SessionsPerSecond × turns per session; timestamps, the recorded turns
// over their recorded span. The prefix cache is modelled as one LRU of
// 512-token blocks shared as recorded, holding half the deployment's KV
// cache (the other half runs sequences). FitAccelerators is searched with
// the cache of each candidate size.
func EstimateSizing(cfg Config) *schemas.SizingMeta {
	sp, p := cfg.Sim, cfg.Plan
	if sp == nil || p == nil || cfg.Search != nil || p.Turns == 0 || len(p.Sessions) == 0 || sp.Instances == 0 {
		return nil
	}
	est := &schemas.SizingMeta{Headroom: SizingHeadroom, ContextTokens: sp.ContextTokens}
	var sumCtx float64
	n := 0
	for _, s := range p.Sessions {
		for _, t := range s.Turns {
			in, out := turnTokens(t)
			sumCtx += float64(in) + float64(out)/2
			n++
			if need := in + out; need > sp.ContextTokens {
				est.OverContext++
				est.LongestTokens = max(est.LongestTokens, need)
			}
		}
	}
	est.MeanContextTokens = int(sumCtx / float64(n))
	est.DecodeBatch = sp.DecodeBatch(est.MeanContextTokens)

	cacheInstances := sp.Instances
	if sp.PrefillInstances > 0 {
		cacheInstances = sp.PrefillInstances
	}
	l := newSizingLoad(cfg, est, cacheInstances)
	if !(l.rate > 0) || math.IsInf(l.rate, 0) {
		return est
	}
	est.RequestsPerSecond = l.rate
	est.PromptTokensPerSecond = l.rate * l.prompt
	est.UncachedTokensPerSecond = l.rate * l.uncached
	est.OutputTokensPerSecond = l.rate * l.output
	est.Utilization = l.utilization(sp.Instances, sp.PrefillInstances)
	est.Overloaded = est.Utilization > 1

	// The smallest instance count (same split of prefill and decode pools)
	// whose utilisation, with its own larger cache, is within the
	// headroom: at most the count that scales today's linearly (a larger
	// cache only helps), at least today's when it is over.
	groups := sp.Accelerators / sp.TP
	scale := func(k int) (inst, pre int) { // k groups of today's split
		if sp.PrefillInstances == 0 {
			return k, 0
		}
		pre = max(1, int(math.Round(float64(k)*float64(sp.PrefillInstances)/float64(groups))))
		return max(1, k-pre), pre
	}
	fits := func(k int) bool {
		inst, pre := scale(k)
		ci := inst
		if pre > 0 {
			ci = pre
		}
		lk := l
		if ci != cacheInstances {
			lk = newSizingLoad(cfg, est, ci)
		}
		return lk.utilization(inst, pre) <= SizingHeadroom
	}
	hi := max(int(math.Ceil(float64(groups)*est.Utilization/SizingHeadroom)), 1)
	lo := 1
	if est.Utilization > SizingHeadroom {
		lo = groups + 1
	}
	for lo < hi {
		mid := (lo + hi) / 2
		if fits(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	est.FitAccelerators = hi * sp.TP
	if cfg.Mode == ModeClosed || cfg.Mode == "" {
		est.FitUsers = int(float64(cfg.Users) * SizingHeadroom / est.Utilization)
	}
	est.Summary = sizingSummary(sp, est)
	return est
}

// turnTokens is a turn's prompt and output tokens for the estimate; an
// unknown output length counts as the simulator's median.
func turnTokens(t *Turn) (in, out int) {
	in, out = int(t.ExpectedInput), int(t.ExpectedOutput)
	if out <= 0 {
		out = sim.DefaultOutputMedian
	}
	return in, out
}

// sizingLoad is the offered load of cfg's run, per request: prompt,
// uncached and output tokens, and instance-seconds of prefill and of
// decode; rate is requests per world second.
type sizingLoad struct {
	rate                     float64
	prompt, uncached, output float64
	prefill, decode          float64
}

// newSizingLoad computes the load with a prefix cache of cacheInstances
// instances (see EstimateSizing).
func newSizingLoad(cfg Config, est *schemas.SizingMeta, cacheInstances int) sizingLoad {
	sp, p := cfg.Sim, cfg.Plan
	perToken := sp.DecodeTokenSeconds(est.DecodeBatch, est.MeanContextTokens)
	lone := sp.DecodeTokenSeconds(1, est.MeanContextTokens)
	cache := newBlockLRU(cacheInstances * sp.KVTokens / 2 / sim.BlockTokens)
	thinkScale := cfg.ThinkScale
	if thinkScale == 0 {
		thinkScale = 1
	}
	var l sizingLoad
	var cycle float64
	n := 0
	for _, s := range p.Sessions {
		for _, t := range s.Turns {
			in, out := turnTokens(t)
			cached := min(cache.lookup(t.HashIDs)*sim.BlockTokens, max(in-1, 0))
			pf := sp.PrefillSeconds(cached, in-cached)
			l.prefill += pf
			l.decode += float64(out) * perToken
			l.prompt += float64(in)
			l.uncached += float64(in - cached)
			l.output += float64(out)
			think := time.Duration(float64(t.ThinkNS) * thinkScale)
			if cfg.ThinkCap > 0 && think > cfg.ThinkCap {
				think = cfg.ThinkCap
			}
			cycle += think.Seconds() + pf + float64(out)*lone
			n++
		}
	}
	switch cfg.Mode {
	case ModeClosed, "":
		if cycle > 0 {
			l.rate = float64(cfg.Users) * float64(n) / cycle
		}
	case ModePoisson:
		l.rate = cfg.SessionsPerSecond * float64(n) / float64(len(p.Sessions))
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
			l.rate = float64(n) / (float64(hi-lo) / 1e9 / cfg.timeScale())
		}
	}
	f := float64(n)
	l.prompt, l.uncached, l.output, l.prefill, l.decode = l.prompt/f, l.uncached/f, l.output/f, l.prefill/f, l.decode/f
	return l
}

// utilization is the load's engine time per second over instances
// (unified, or decode with pre prefill instances: the busier pool's).
func (l sizingLoad) utilization(instances, pre int) float64 {
	if pre > 0 {
		return max(l.rate*l.prefill/float64(pre), l.rate*l.decode/float64(max(instances, 1)))
	}
	return l.rate * (l.prefill + l.decode) / float64(max(instances, 1))
}

// blockLRU is a prefix cache of blocks, least recently used evicted.
type blockLRU struct {
	cap   int
	m     map[int64]*list.Element
	order *list.List // front: most recent
}

func newBlockLRU(capBlocks int) *blockLRU {
	return &blockLRU{cap: max(capBlocks, 1), m: map[int64]*list.Element{}, order: list.New()}
}

// lookup returns how many leading blocks of hashes are cached, then
// caches them all as most recently used.
func (c *blockLRU) lookup(hashes []int64) int {
	hit := 0
	for hit < len(hashes) {
		if _, ok := c.m[hashes[hit]]; !ok {
			break
		}
		hit++
	}
	for _, h := range hashes {
		if e, ok := c.m[h]; ok {
			c.order.MoveToFront(e)
			continue
		}
		c.m[h] = c.order.PushFront(h)
		for c.order.Len() > c.cap {
			old := c.order.Back()
			c.order.Remove(old)
			delete(c.m, old.Value.(int64))
		}
	}
	return hit
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
	switch {
	case est.FitUsers == 1:
		s += ", or 1 user on this sizing"
	case est.FitUsers > 1:
		s += fmt.Sprintf(", or about %d users on this sizing", est.FitUsers)
	}
	return s
}

// Overload says whether a level ran overloaded, and why ("" when not),
// judged against tier (the model's slowest preset, say) over its steady
// requests: TTFT at the tier's percentile (P95 by default) above 10 ×
// tier.TTFTCeiling (60 s when it has none), or at least 10 % of them
// failed (stalled, timed out, refused); and, when saturated (the estimate
// before the run said the deployment is overloaded), an output speed at
// the tier's percentile (P25) below tier.SpeedFloor. Only levels with
// steady requests are judged.
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
		pct := tier.TTFTPercentile
		if pct == 0 {
			pct = 95
		}
		ms := func(p float64) time.Duration {
			return time.Duration(s.TTFT.Percentile(p) * float64(time.Millisecond)).Round(100 * time.Millisecond)
		}
		if v := ms(pct); v > limit {
			why = append(why, fmt.Sprintf("TTFT p50 %s, p%.0f %s (over %s)", ms(50), pct, v, limit))
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
