package analyze

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/agentperf/agentperf/schemas"
)

// The client rule's defaults (see Validity and docs/replay.md, "Client
// lag"). A late send shifts one user's schedule; what decides a level is
// whether the load it offered was the load asked for.
const (
	// DefaultLateLag is the least wall-clock lag that counts a send as
	// late (beside LateCycleShare of the level's cycle).
	DefaultLateLag = 5 * time.Millisecond
	// DefaultLateCycleShare: a send is late when its lag exceeds this share
	// of the level's cycle (the mean time between one user's sends).
	DefaultLateCycleShare = 0.10
	// DefaultMaxDelayedLoad is the share of the level's intended load the
	// client may leave undelivered by sending late: half the capacity
	// search's default precision (5 %).
	DefaultMaxDelayedLoad = 0.02
	// DefaultMinSendsP99 is the least number of steady sends whose lag p99
	// is judged: with fewer, the p99 is decided by under ten sends, and a
	// handful of timer wake-ups on an idle client (7–10 ms at p99 on a
	// 2-core VM) would decide it.
	DefaultMinSendsP99 = 1000
	// DefaultMaxClientCPU is the process CPU share of its cores at which
	// the client counts as saturated.
	DefaultMaxClientCPU = 0.90
	// DefaultSaturatedLoad is the share of undelivered load at which a
	// client that fell behind counts as saturated even when its lag did not
	// grow (a throttled client: behind by as much all along): isolated
	// wake-ups on an idle 2-core VM cost 0.4–0.7 %.
	DefaultSaturatedLoad = 0.10
)

// clientFigures are the sums LevelAccumulator keeps for the client rule
// over a level's steady rows.
type clientFigures struct {
	// lagWorld sums sent − scheduled, world ns; durWorld sums end − sent.
	lagWorld, durWorld float64
	// trend fits wall-clock lag against scheduled time.
	trend lagTrend
}

func (c *clientFigures) add(sched, sent, end int64, lagWall float64) {
	c.lagWorld += float64(sent - sched)
	c.durWorld += float64(max(end-sent, 0))
	c.trend.add(sched, lagWall)
}

func (c *clientFigures) merge(o *clientFigures) {
	c.lagWorld += o.lagWorld
	c.durWorld += o.durWorld
	c.trend.merge(&o.trend)
}

// lagTrend is a least-squares fit of lag (wall ns) against scheduled time
// (world seconds after origin), mergeable across accumulators whose first
// rows differ.
type lagTrend struct {
	origin           int64 // world ns of the first row
	n                float64
	sx, sy, sxx, sxy float64
	minT, maxT       int64
}

func (t *lagTrend) add(at int64, lag float64) {
	if t.n == 0 {
		t.origin, t.minT, t.maxT = at, at, at
	}
	x := float64(at-t.origin) / 1e9
	t.n++
	t.sx += x
	t.sy += lag
	t.sxx += x * x
	t.sxy += x * lag
	t.minT, t.maxT = min(t.minT, at), max(t.maxT, at)
}

func (t *lagTrend) merge(o *lagTrend) {
	if o.n == 0 {
		return
	}
	if t.n == 0 {
		*t = *o
		return
	}
	d := float64(o.origin-t.origin) / 1e9 // o's x in t's frame is x + d
	t.sxx += o.sxx + 2*d*o.sx + o.n*d*d
	t.sxy += o.sxy + d*o.sy
	t.sx += o.sx + o.n*d
	t.sy += o.sy
	t.n += o.n
	t.minT, t.maxT = min(t.minT, o.minT), max(t.maxT, o.maxT)
}

// growth returns how much the fitted lag rose from the first to the last
// scheduled send (wall ns; 0 with fewer than 3 sends).
func (t *lagTrend) growth() float64 {
	if t.n < 3 {
		return 0
	}
	den := t.n*t.sxx - t.sx*t.sx
	if den <= 0 {
		return 0
	}
	slope := (t.n*t.sxy - t.sx*t.sy) / den
	return slope * float64(t.maxT-t.minT) / 1e9
}

// JudgeClient measures and judges the level's client: whether the load it
// offered in the steady window was the load asked for. cpuUtil is the
// client process's CPU over the level ÷ (wall × cores), negative when not
// measured. The same judgement is what replay (--search) acts on and what
// analyze reports.
//
// A level's client is not OK when (a) the sends it made late left more than
// MaxDelayedLoad of the level's intended load undelivered — Σ lag ÷ (users
// × window) in a closed loop, Σ lag ÷ Σ request durations in an open one —
// or (b) with at least MinSendsP99 sends, the lag p99 exceeds the late
// threshold: the larger of LateLag and LateCycleShare of the level's cycle
// (the mean time between one user's sends, world time, converted to the
// client's wall clock), or (c) its CPU reached MaxClientCPU of its cores.
// The client is saturated, not merely jittery, when (c) holds (CPUBound),
// or when (a) or (b) holds and either the lag rose over the window by more
// than the late threshold (a fit of lag against send time: a saturated
// client falls further behind as the level goes on) or the undelivered load
// reached SaturatedLoad (a throttled client, behind all along); a jittery
// one does neither.
func (s *LevelStats) JudgeClient(v Validity, cpuUtil float64, cores int) schemas.ClientHealth {
	v = v.normalized()
	k := s.TimeScale
	if !(k > 0) {
		k = 1
	}
	n := s.ClientLag.Count()
	h := schemas.ClientHealth{Sends: n, CPUUtil: cpuUtil, Cores: cores, OK: true}
	if cpuUtil < 0 {
		h.CPUUtil = -1
	}
	if n > 0 {
		h.LagP50 = msDur(s.ClientLag.Percentile(50))
		h.LagP99 = msDur(s.ClientLag.Percentile(99))
		h.LagMax = msDur(s.ClientLag.Max())
	}
	// The level's own time scale and the load it asked for, world ns.
	var asked float64
	window := s.ConfiguredWindow
	if window <= 0 {
		window = s.Window()
	}
	if s.Users > 0 {
		asked = float64(s.Users) * float64(window)
	} else {
		asked = s.client.durWorld
	}
	if n > 0 && asked > 0 {
		h.Cycle = time.Duration(asked / float64(n))
		h.DelayedLoad = max(s.client.lagWorld, 0) / asked
	}
	late := v.LateLag
	if v.LateCycleShare > 0 {
		late = max(late, time.Duration(v.LateCycleShare*float64(h.Cycle)/k))
	}
	if n > 0 && late > 0 {
		h.LateSends = n - int64(math.Round(s.ClientLag.CDF(float64(late)/1e6)*float64(n)))
	}
	h.LagGrowth = time.Duration(s.client.trend.growth())
	behind := false
	if v.MaxDelayedLoad > 0 && h.DelayedLoad > v.MaxDelayedLoad {
		behind = true
		h.Reasons = append(h.Reasons, fmt.Sprintf("late sends left %.1f %% of the level's load undelivered (> %s %%; %d of %d sends later than %s)",
			100*h.DelayedLoad, fmtNum(100*v.MaxDelayedLoad), h.LateSends, n, late.Round(time.Microsecond)))
	}
	if v.MinSendsP99 > 0 && n >= int64(v.MinSendsP99) && late > 0 && h.LagP99 > late {
		behind = true
		h.Reasons = append(h.Reasons, fmt.Sprintf("client lag p99 %s over %d sends > %s (the larger of %s and %s %% of the level's %s cycle)",
			h.LagP99.Round(time.Microsecond), n, late.Round(time.Microsecond), v.LateLag, fmtNum(100*v.LateCycleShare), time.Duration(float64(h.Cycle)/k).Round(time.Millisecond)))
	}
	if v.MaxClientCPU > 0 && cpuUtil >= v.MaxClientCPU {
		h.Saturated, h.CPUBound = true, true
		h.Reasons = append(h.Reasons, fmt.Sprintf("client CPU %.0f %% of %d cores ≥ %s %%: the client is saturated", 100*cpuUtil, cores, fmtNum(100*v.MaxClientCPU)))
	}
	switch {
	case behind && h.LagGrowth > late:
		h.Saturated = true
		h.Reasons = append(h.Reasons, fmt.Sprintf("client lag rose by %s over the window: the client fell further behind as the level went on (saturated)",
			h.LagGrowth.Round(time.Microsecond)))
	case behind && v.SaturatedLoad > 0 && h.DelayedLoad >= v.SaturatedLoad:
		h.Saturated = true
		h.Reasons = append(h.Reasons, fmt.Sprintf("the client offered %.0f %% of the load asked (saturated: below %s %%)",
			100*(1-h.DelayedLoad), fmtNum(100*(1-v.SaturatedLoad))))
	}
	h.OK = len(h.Reasons) == 0
	return h
}

// setClientFlags replaces the level's client flags by those of h.
func (s *LevelStats) setClientFlags(h schemas.ClientHealth) {
	s.Client = h
	out := s.Flags[:0]
	for _, f := range s.Flags {
		if f.Code != FlagClientLag && f.Code != FlagClientSaturated {
			out = append(out, f)
		}
	}
	s.Flags = out
	if h.OK {
		return
	}
	code := FlagClientLag
	if h.Saturated {
		code = FlagClientSaturated
	}
	s.Flags = append(s.Flags, Flag{Code: code, Message: strings.Join(h.Reasons, "; ")})
	sortFlags(s.Flags)
}

func msDur(ms float64) time.Duration { return time.Duration(math.Round(ms * 1e6)) }
