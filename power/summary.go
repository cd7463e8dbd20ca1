package power

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"time"
)

// Flags a Summary raises, in the style of analyze's level flags.
const (
	// FlagMissing: no source measured the window's systems at all.
	FlagMissing = "power_missing"
	// FlagGap: a source recorded a gap that overlaps the window.
	FlagGap = "power_gap"
	// FlagLowCoverage: samples cover less than MinCoverage of the window.
	FlagLowCoverage = "power_low_coverage"
)

// MinCoverage is the share of a window that samples must cover before its
// power figures stand without FlagLowCoverage.
const MinCoverage = 0.9

// spanSlack is added to three median spacings to give the longest span
// between two samples that still counts as measured (so a scheduling
// hiccup of a fast source is not a hole).
const spanSlack = int64(time.Second)

// Summary is a window's measured power: the sum over the sources (and
// systems) summarized, each source counted once (the lowest shard that
// sampled it).
//
// Gap policy: between two consecutive samples of a source, power is taken
// to change linearly; that span is measured unless a recorded gap of the
// source overlaps it or it is longer than three times the source's median
// sample spacing plus one second. Unmeasured time is filled with the
// source's mean over the measured part of the window (EnergyJ), and shows
// as Coverage below 1.
type Summary struct {
	// FromNS and ToNS bound the window [FromNS, ToNS), world Unix ns.
	FromNS, ToNS int64
	// MeanW is the time-weighted mean system power over the window, W: the
	// sum over sources of each one's trapezoidal integral over its
	// measured spans ÷ their length. NaN when a source has no measured
	// span in the window (its power is unknown) or there is no source.
	MeanW float64
	// P95W is the 95th percentile of system power, W, over the instants in
	// the window at which some source sampled and every source is measured
	// (others interpolated), by linear interpolation between the nearest
	// ranks (rank (n−1)·0.95, as analyze's percentiles). NaN when there is
	// no such instant.
	P95W float64
	// EnergyJ is MeanW × the window's length in seconds, J: the measured
	// energy with gaps filled at the mean. NaN with MeanW.
	EnergyJ float64
	// MeasuredJ is the trapezoidal integral over measured spans only,
	// summed over sources, J (no filling; ≤ EnergyJ's share that was seen).
	MeasuredJ float64
	// Coverage is the share of the window measured, 0–1: the lowest over
	// the sources summed (0 without sources).
	Coverage float64
	// Sources is the number of sources summed; Points the number of
	// instants behind P95W; Gaps the number of recorded gaps overlapping
	// the window.
	Sources, Points, Gaps int
	// Flags lists the Flag* constants that apply (nil when none).
	Flags []string
}

// JoulesPerToken returns the window's energy per output token, J/token:
// EnergyJ ÷ outputTokens (the tokens produced in the same window). NaN when
// outputTokens ≤ 0 or the energy is unknown.
func (s Summary) JoulesPerToken(outputTokens int64) float64 { return per(s.EnergyJ, outputTokens) }

// JoulesPerTrajectory returns the window's energy per completed trajectory
// (session), J: EnergyJ ÷ completed. NaN when completed ≤ 0 or the energy
// is unknown.
func (s Summary) JoulesPerTrajectory(completed int64) float64 { return per(s.EnergyJ, completed) }

func per(energyJ float64, n int64) float64 {
	if n <= 0 {
		return math.NaN()
	}
	return energyJ / float64(n)
}

// AgentsPerMW returns concurrent users (agents) per megawatt of measured
// power: maxUsers ÷ (meanW ÷ 10⁶), where maxUsers is the most users that
// met a tier and meanW the mean system power in W of the level that
// reached it (Summary.MeanW over its steady-state window). NaN when meanW
// is not positive.
func AgentsPerMW(maxUsers, meanW float64) float64 {
	if !(meanW > 0) || math.IsInf(meanW, 0) {
		return math.NaN()
	}
	return maxUsers / (meanW / 1e6)
}

// Point is system power at one instant: world Unix ns and W.
type Point struct {
	TimeNS int64
	Watts  float64
}

// Systems returns the system names of the record, sorted.
func (r Record) Systems() []string {
	seen := map[string]bool{}
	for _, s := range r.Samples {
		seen[s.System] = true
	}
	for _, g := range r.Gaps {
		seen[g.System] = true
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Summarize summarizes every system's power summed over [fromNS, toNS).
func (r Record) Summarize(fromNS, toNS int64) Summary {
	return summarize(r.series(nil), fromNS, toNS)
}

// SummarizeSystem summarizes one system's power over [fromNS, toNS).
func (r Record) SummarizeSystem(system string, fromNS, toNS int64) Summary {
	return summarize(r.series(&system), fromNS, toNS)
}

// Points returns the summed power of every system at each instant in
// [fromNS, toNS) at which a source sampled and every source is measured
// (the others interpolated): the values behind P95W, for a chart.
func (r Record) Points(fromNS, toNS int64) []Point {
	return points(r.series(nil), fromNS, toNS)
}

// series is one source's samples in time order, with the spans between
// them marked measured or not.
type series struct {
	t        []int64
	w        []float64
	measured []bool // span i: between sample i and i+1
	gaps     []Gap
}

type seriesKey struct{ system, source string }

// series returns the record's sources (of one system when system is set),
// each from the lowest shard that sampled it, in a stable order.
func (r Record) series(system *string) []*series {
	shard := map[seriesKey]int{}
	note := func(k seriesKey, sh int) {
		if system != nil && k.system != *system {
			return
		}
		if cur, ok := shard[k]; !ok || sh < cur {
			shard[k] = sh
		}
	}
	for _, s := range r.Samples {
		note(seriesKey{s.System, s.Source}, s.Shard)
	}
	for _, g := range r.Gaps {
		note(seriesKey{g.System, g.Source}, g.Shard)
	}
	keys := make([]seriesKey, 0, len(shard))
	for k := range shard {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b seriesKey) int {
		if a.system != b.system {
			return cmp.Compare(a.system, b.system)
		}
		return cmp.Compare(a.source, b.source)
	})
	byKey := map[seriesKey]*series{}
	out := make([]*series, len(keys))
	for i, k := range keys {
		out[i] = &series{}
		byKey[k] = out[i]
	}
	for _, s := range r.Samples {
		k := seriesKey{s.System, s.Source}
		if se := byKey[k]; se != nil && shard[k] == s.Shard {
			se.t = append(se.t, s.TimeNS)
			se.w = append(se.w, s.Watts)
		}
	}
	for _, g := range r.Gaps {
		k := seriesKey{g.System, g.Source}
		if se := byKey[k]; se != nil && shard[k] == g.Shard {
			se.gaps = append(se.gaps, g)
		}
	}
	for _, se := range out {
		se.mark()
	}
	return out
}

// mark sorts the samples and decides which spans are measured.
func (s *series) mark() {
	idx := make([]int, len(s.t))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return s.t[idx[a]] < s.t[idx[b]] })
	t, w := make([]int64, len(idx)), make([]float64, len(idx))
	for i, j := range idx {
		t[i], w[i] = s.t[j], s.w[j]
	}
	s.t, s.w = t, w
	if len(t) < 2 {
		return
	}
	var spacing []int64
	for i := 1; i < len(t); i++ {
		if d := t[i] - t[i-1]; d > 0 {
			spacing = append(spacing, d)
		}
	}
	longest := int64(math.MaxInt64)
	if len(spacing) > 0 {
		slices.Sort(spacing)
		longest = 3*spacing[len(spacing)/2] + spanSlack
	}
	s.measured = make([]bool, len(t)-1)
	for i := range s.measured {
		a, b := t[i], t[i+1]
		s.measured[i] = b-a <= longest
		for _, g := range s.gaps {
			if g.StartNS < b && g.EndNS > a {
				s.measured[i] = false
				break
			}
		}
	}
}

// at returns the series' power at instant x: a sample's value, or linear
// interpolation within a measured span.
func (s *series) at(x int64) (float64, bool) {
	i := sort.Search(len(s.t), func(i int) bool { return s.t[i] > x }) - 1
	switch {
	case i < 0:
		return 0, false
	case s.t[i] == x:
		return s.w[i], true
	case i+1 < len(s.t) && s.measured[i]:
		return s.lerp(i, x), true
	}
	return 0, false
}

func (s *series) lerp(i int, x int64) float64 {
	t0, t1 := s.t[i], s.t[i+1]
	return s.w[i] + (s.w[i+1]-s.w[i])*float64(x-t0)/float64(t1-t0)
}

// window integrates the series over its measured spans clipped to
// [from, to): energy in J and measured ns.
func (s *series) window(from, to int64) (joules float64, measured int64) {
	for i := 0; i+1 < len(s.t); i++ {
		if !s.measured[i] {
			continue
		}
		a, b := max(s.t[i], from), min(s.t[i+1], to)
		if a >= b {
			continue
		}
		joules += (s.lerp(i, a) + s.lerp(i, b)) / 2 * float64(b-a) / 1e9
		measured += b - a
	}
	return joules, measured
}

func summarize(ss []*series, from, to int64) Summary {
	nan := math.NaN()
	sum := Summary{FromNS: from, ToNS: to, MeanW: nan, P95W: nan, EnergyJ: nan, Sources: len(ss)}
	if len(ss) == 0 {
		sum.Flags = []string{FlagMissing}
		return sum
	}
	if to <= from {
		return sum
	}
	mean, coverage := 0.0, 1.0
	for _, s := range ss {
		j, m := s.window(from, to)
		sum.MeasuredJ += j
		coverage = min(coverage, float64(m)/float64(to-from))
		if m == 0 {
			mean = nan
		} else {
			mean += j / (float64(m) / 1e9)
		}
		for _, g := range s.gaps {
			if g.StartNS < to && g.EndNS > from || g.StartNS >= from && g.StartNS < to {
				sum.Gaps++
			}
		}
	}
	sum.Coverage = coverage
	sum.MeanW = mean
	sum.EnergyJ = mean * float64(to-from) / 1e9
	pts := points(ss, from, to)
	sum.Points = len(pts)
	if len(pts) > 0 {
		ws := make([]float64, len(pts))
		for i, p := range pts {
			ws[i] = p.Watts
		}
		sum.P95W = percentile(ws, 95)
	}
	if sum.Gaps > 0 {
		sum.Flags = append(sum.Flags, FlagGap)
	}
	if coverage < MinCoverage {
		sum.Flags = append(sum.Flags, FlagLowCoverage)
	}
	return sum
}

func points(ss []*series, from, to int64) []Point {
	var times []int64
	for _, s := range ss {
		lo := sort.Search(len(s.t), func(i int) bool { return s.t[i] >= from })
		for i := lo; i < len(s.t) && s.t[i] < to; i++ {
			times = append(times, s.t[i])
		}
	}
	slices.Sort(times)
	times = slices.Compact(times)
	var out []Point
	for _, x := range times {
		total, ok := 0.0, len(ss) > 0
		for _, s := range ss {
			v, measured := s.at(x)
			if !measured {
				ok = false
				break
			}
			total += v
		}
		if ok {
			out = append(out, Point{TimeNS: x, Watts: total})
		}
	}
	return out
}

// percentile returns the p-th percentile (0–100) of vs by linear
// interpolation between the nearest ranks, rank h = (n−1)·p/100. It sorts
// vs.
func percentile(vs []float64, p float64) float64 {
	slices.Sort(vs)
	h := float64(len(vs)-1) * p / 100
	lo := int(math.Floor(h))
	if lo+1 >= len(vs) {
		return vs[len(vs)-1]
	}
	return vs[lo] + (vs[lo+1]-vs[lo])*(h-float64(lo))
}
