package capacity

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// minVar floors a window's margin variance (margin units²): no window's
// margin is taken as known better than ±1 % of the limit, so a window whose
// replicates barely vary (all clamped, or a few sessions far from every
// limit) cannot outweigh its neighbours by orders of magnitude. The
// interval honours the floor too: a window whose replicates vary less
// gets the difference as a normal draw on each replicate.
const minVar = 1e-4

// Censor says which side of a capacity interval the data cannot bound.
// The zero value is Bounded.
type Censor int8

// Censoring.
const (
	// Bounded: the fit crosses zero between two measured user counts.
	Bounded Censor = iota
	// Above: every measured level passes in the fit. MaxUsers.Point is the
	// highest measured users (a lower bound) and MaxUsers.Hi is +Inf.
	Above
	// Below: no measured level passes in the fit. MaxUsers.Point and Lo are
	// 0; Hi is at least the lowest measured users.
	Below
)

// String returns "bounded", "above" or "below".
func (c Censor) String() string {
	switch c {
	case Above:
		return "above"
	case Below:
		return "below"
	}
	return "bounded"
}

// MarshalText encodes the censoring as its String.
func (c Censor) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// Capacity is the maximum number of users a tier holds, estimated from
// every measured level of a run. Make it with Fit.
type Capacity struct {
	// Tier is the tier's name.
	Tier string `json:"tier"`
	// MaxUsers is where the monotone fit of the tier's margin against users
	// crosses zero, in users, with its interval at the levels' Confidence.
	// The values are real numbers (interpolated between measured levels):
	// round down for a user count. See Censored for one-sided intervals.
	MaxUsers Estimate `json:"max_users"`
	// Censored says whether the interval is one-sided.
	Censored Censor `json:"censored"`
	// HighestPassing is the users of the highest window whose point figures
	// pass (analyze's max users, the AA-style figure); 0 when none passes.
	HighestPassing int `json:"highest_passing"`
	// FitPass and FitFail are the measured user counts the point fit's
	// crossing lies between: the highest with a fitted margin ≥ 0 and the
	// next measured one above it (0 when there is none).
	FitPass int `json:"fit_pass"`
	FitFail int `json:"fit_fail"`
	// Users lists the distinct user counts measured, ascending, and Fitted
	// the fitted margin at each (non-increasing).
	Users  []int     `json:"users"`
	Fitted []float64 `json:"fitted"`
	// Windows counts the windows used.
	Windows int `json:"windows"`
	// Heterogeneity is τ, the standard deviation of a window's margin
	// beyond its own bootstrap error (margin units), estimated by
	// DerSimonian–Laird from the windows' scatter around a line in log
	// users near the crossing, else from repeats at the same users; 0 when
	// they agree within their errors. It is added to every window's error
	// in the point fit; the interval's replicates draw τ from its own
	// uncertainty (Fit), so a few windows that happen to agree do not
	// make the interval narrower than their common variation allows.
	Heterogeneity float64 `json:"heterogeneity"`
	// Notes says what limits the figure; empty when nothing does.
	Notes []string `json:"notes,omitempty"`
}

// window is one Level's contribution to the fit.
type window struct {
	users   int
	point   float64
	v       float64 // bootstrap variance of the margin, floored at minVar
	short   float64 // minVar − the bootstrap variance when that is below the floor, else 0
	margins []float64
}

// Fit combines the measured windows of a run into the capacity at the tier
// levels[i].Tiers[tier] (every level assessed with the same tiers). Windows
// at the same users are repeats: they are pooled by their inverse-variance
// weighted mean, with the between-window variance τ² added to each
// window's when the windows scatter beyond their errors (see
// Capacity.Heterogeneity). The pooled margins are fitted by a weighted
// isotonic regression, non-increasing in users (pool adjacent violators),
// and MaxUsers is where that fit crosses zero, interpolated linearly in the
// margin and geometrically in users between the two measured user counts
// around it. The interval refits every bootstrap replicate: replicate b
// of each window, plus for each window a normal draw with standard
// deviation τ*_b, goes through the same pooling, fit and crossing, and the
// interval is the replicates' percentile interval. τ*_b is drawn once per
// replicate from the uncertainty of τ's estimate (tauStat.draw): from a
// handful of windows that estimate is often 0 although the windows share
// a common factor. When every level passes, or none does, the interval is
// one-sided (Capacity.Censored).
//
// opt.Replicates is the number of fit replicates (windows with fewer
// replicates reuse theirs cyclically); opt.Seed seeds the heterogeneity
// draws.
//
// Intended callers: analyze per tier over a run's levels, and replay's
// search after every window, whose Capacity feeds Next.
func Fit(levels []*Level, tier int, opt Options) (*Capacity, error) {
	opt, err := opt.normalized()
	if err != nil {
		return nil, err
	}
	if len(levels) == 0 {
		return nil, errors.New("no level to fit; measure at least one")
	}
	c := &Capacity{}
	ws := make([]window, 0, len(levels))
	conf := 0.0
	for i, l := range levels {
		if l == nil || tier < 0 || tier >= len(l.Tiers) {
			return nil, fmt.Errorf("level %d has no tier %d; assess every level with the same tiers", i, tier)
		}
		tr := &l.Tiers[tier]
		if i == 0 {
			c.Tier, conf = tr.Tier, l.Confidence
		} else if tr.Tier != c.Tier {
			return nil, fmt.Errorf("level %d's tier %d is %q, not %q; assess every level with the same tiers", i, tier, tr.Tier, c.Tier)
		}
		if len(tr.margins) == 0 {
			return nil, fmt.Errorf("level %d (%d users) has no bootstrap replicates; make levels with Assess", i, l.Users)
		}
		ws = append(ws, window{users: l.Users, point: tr.Margin.Point, v: max(tr.marginVar, minVar), short: max(minVar-tr.marginVar, 0), margins: tr.margins})
		if tr.Margin.Point >= 0 && l.Users > c.HighestPassing {
			c.HighestPassing = l.Users
		}
	}
	if conf == 0 {
		conf = opt.Confidence
	}
	slices.SortStableFunc(ws, func(a, b window) int { return a.users - b.users })
	c.Windows = len(ws)

	// groups of windows at the same users
	var starts []int
	for i := range ws {
		if i == 0 || ws[i].users != ws[i-1].users {
			starts = append(starts, i)
			c.Users = append(c.Users, ws[i].users)
		}
	}
	starts = append(starts, len(ws))
	G := len(c.Users)
	wt := make([]float64, len(ws))
	gw := make([]float64, G) // pooled weights
	pooled := func(dst []float64, value func(i int) float64) {
		for g := range G {
			var s float64
			for i := starts[g]; i < starts[g+1]; i++ {
				s += wt[i] * value(i)
			}
			dst[g] = s / gw[g]
		}
	}
	iso := &isotonic{}
	m := make([]float64, G)
	var cross float64
	var j int
	fit := func(tau2 float64) {
		for i, w := range ws {
			wt[i] = 1 / (w.v + tau2)
		}
		for g := range G {
			gw[g] = 0
			for i := starts[g]; i < starts[g+1]; i++ {
				gw[g] += wt[i]
			}
		}
		pooled(m, func(i int) float64 { return ws[i].point })
		c.Fitted = slices.Clone(iso.fit(m, gw))
		cross, j = crossing(c.Users, c.Fitted)
	}
	ts := heterogeneity(ws, starts)
	tau2 := ts.tau2()
	fit(tau2)
	if j >= 0 && j < G-1 {
		if t, ok := lackOfFit(ws, float64(c.Users[j])/nearCrossing, float64(c.Users[j+1])*nearCrossing); ok {
			ts, tau2 = t, t.tau2()
			fit(tau2)
		}
	}
	c.Heterogeneity = math.Sqrt(tau2)

	// replicates through the same fit
	B := opt.Replicates
	loVals := make([]float64, B) // censored below → 0, above → top users
	hiVals := make([]float64, B) // censored below → bottom users, above → +Inf
	r := newRNG(opt.Seed^fitHash(ws), 0xda942042e4dd58b5)
	noise := make([]float64, len(ws))
	top, bottom := float64(c.Users[G-1]), float64(c.Users[0])
	for b := range B {
		tau := math.Sqrt(ts.draw(r))
		for i := range noise {
			noise[i] = 0
			if sd2 := tau*tau + ws[i].short; sd2 > 0 {
				noise[i] = math.Sqrt(sd2) * r.norm()
			}
		}
		pooled(m, func(i int) float64 {
			return clamp1(ws[i].margins[b%len(ws[i].margins)] + noise[i])
		})
		x, k := crossing(c.Users, iso.fit(m, gw))
		switch {
		case k < 0:
			loVals[b], hiVals[b] = 0, bottom
		case k == G-1:
			loVals[b], hiVals[b] = top, math.Inf(1)
		default:
			loVals[b], hiVals[b] = x, x
		}
	}
	slices.Sort(loVals)
	slices.Sort(hiVals)
	tail := (1 - conf) / 2
	lo, hi := quantileLower(loVals, tail), quantileUpper(hiVals, 1-tail)
	switch {
	case j < 0:
		c.Censored = Below
		c.MaxUsers = Estimate{0, 0, max(hi, bottom)}
		c.Notes = append(c.Notes, fmt.Sprintf("no level passes: the capacity is below %d users (the lowest measured); the interval is one-sided", c.Users[0]))
	case j == G-1:
		c.Censored = Above
		c.FitPass = c.Users[j]
		c.MaxUsers = Estimate{top, min(lo, top), math.Inf(1)}
		c.Notes = append(c.Notes, fmt.Sprintf("every level passes: the capacity is at least %d users (the highest measured); the interval is one-sided", c.Users[j]))
	default:
		c.FitPass, c.FitFail = c.Users[j], c.Users[j+1]
		c.MaxUsers = Estimate{cross, min(lo, cross), max(hi, cross)}
	}
	if tau2 > 0 {
		c.Notes = append(c.Notes, fmt.Sprintf("windows scatter beyond their own errors (τ = %.3f of the limit): variation common to a window, which is added to every window", c.Heterogeneity))
	}
	return c, nil
}

// crossing returns where a non-increasing fit g over ascending users x
// crosses zero, and j, the last index with g ≥ 0: −1 when none (x is then
// 0), len−1 when all (x is the top users).
func crossing(users []int, g []float64) (x float64, j int) {
	j = -1
	for i, v := range g {
		if v >= 0 {
			j = i
		}
	}
	switch {
	case j < 0:
		return 0, j
	case j == len(g)-1:
		return float64(users[j]), j
	}
	x0, x1 := float64(users[j]), float64(users[j+1])
	f := g[j] / (g[j] - g[j+1])
	if x0 <= 0 { // no logarithm: linear
		return x0 + (x1-x0)*f, j
	}
	return x0 * math.Pow(x1/x0, f), j
}

// tauStat is a DerSimonian–Laird estimate's ingredients: Cochran's Q of
// the windows' margins around their model, its degrees of freedom and the
// scale c that turns Q's excess over df into τ² (margin units²).
type tauStat struct{ q, df, c float64 }

// tau2 is the point estimate, (Q − df) ÷ c, 0 when Q ≤ df.
func (t tauStat) tau2() float64 {
	if t.df <= 0 || t.c <= 0 || t.q <= t.df {
		return 0
	}
	return (t.q - t.df) / t.c
}

// draw returns τ² drawn from its uncertainty: Q ÷ χ²_df is the pivot of the
// scale (1 + τ²·c ÷ df) of Q, so τ²* = (Q·df ÷ χ²* − df) ÷ c, 0 when
// negative, with χ²* a chi-squared draw on df degrees of freedom. With few
// windows the estimate of τ² is itself uncertain, and often 0 when the
// windows do vary: the point estimate alone gave intervals that covered
// 83–86 % instead of 90 % in TestCoverage with a common factor per window.
func (t tauStat) draw(r *rng) float64 {
	if t.df <= 0 || t.c <= 0 || t.q <= 0 {
		return 0
	}
	var chi2 float64
	for range int(t.df) {
		z := r.norm()
		chi2 += z * z
	}
	if chi2 <= 0 {
		return 0
	}
	return max(0, (t.q*t.df/chi2-t.df)/t.c)
}

// heterogeneity returns the DerSimonian–Laird statistics of τ², the
// between-window variance of the margin, from the groups (windows at equal
// users, ws[starts[g]:starts[g+1]]) with at least two windows; df is 0
// without such a group.
func heterogeneity(ws []window, starts []int) tauStat {
	var q, df, c float64
	for g := 0; g+1 < len(starts); g++ {
		a, b := starts[g], starts[g+1]
		if b-a < 2 {
			continue
		}
		var s1, s2, sm float64
		for i := a; i < b; i++ {
			w := 1 / ws[i].v
			s1 += w
			s2 += w * w
			sm += w * ws[i].point
		}
		mean := sm / s1
		for i := a; i < b; i++ {
			d := ws[i].point - mean
			q += d * d / ws[i].v
		}
		df += float64(b - a - 1)
		c += s1 - s2/s1
	}
	return tauStat{q, df, c}
}

// nearCrossing bounds the windows lackOfFit uses: users within this factor
// below FitPass or above FitFail.
const nearCrossing = 1.25

// lackOfFit returns the DerSimonian–Laird statistics of τ² from a weighted
// meta-regression of the margins of the windows with users in [lo, hi] on
// log users: near the crossing the margin is close to a straight line in
// log users, so the windows' scatter around that line beyond their own
// bootstrap errors is window-level variation, whether or not a level was
// repeated. ok is false with fewer than three windows or two user counts.
// Curvature left in the line makes τ² conservative (larger).
func lackOfFit(ws []window, lo, hi float64) (ts tauStat, ok bool) {
	var sw, sx, sxx, sy, sxy float64 // weighted sums
	var sw2, sw2x, sw2xx float64     // for the trace
	n := 0
	var xs []float64
	for _, w := range ws {
		u := float64(w.users)
		if u < lo || u > hi || u <= 0 {
			continue
		}
		x, y, wi := math.Log(u), w.point, 1/w.v
		sw += wi
		sx += wi * x
		sxx += wi * x * x
		sy += wi * y
		sxy += wi * x * y
		sw2 += wi * wi
		sw2x += wi * wi * x
		sw2xx += wi * wi * x * x
		n++
		if !slices.Contains(xs, x) {
			xs = append(xs, x)
		}
	}
	det := sw*sxx - sx*sx
	if n < 3 || len(xs) < 2 || det <= 0 {
		return tauStat{}, false
	}
	b := (sw*sxy - sx*sy) / det // slope
	a := (sy - b*sx) / sw       // intercept
	var q float64
	for _, w := range ws {
		u := float64(w.users)
		if u < lo || u > hi || u <= 0 {
			continue
		}
		d := w.point - (a + b*math.Log(u))
		q += d * d / w.v
	}
	// tr((X'WX)⁻¹ X'W²X) for X = [1, log u]
	tr := (sxx*sw2 - 2*sx*sw2x + sw*sw2xx) / det
	return tauStat{q, float64(n - 2), sw - tr}, true
}

// fitHash mixes the windows' points into the fit's seed.
func fitHash(ws []window) uint64 {
	h := uint64(14695981039346656037)
	for _, w := range ws {
		h = (h ^ uint64(w.users)) * 1099511628211
		h = (h ^ math.Float64bits(w.point)) * 1099511628211
	}
	return h
}

// isotonic is a weighted pool-adjacent-violators fit, non-increasing,
// reusing its buffers between calls.
type isotonic struct {
	val, wt []float64
	n       []int
	out     []float64
}

// fit returns the weighted least-squares non-increasing fit of y with
// weights w (> 0). The result is valid until the next call.
func (s *isotonic) fit(y, w []float64) []float64 {
	s.val, s.wt, s.n = s.val[:0], s.wt[:0], s.n[:0]
	for i := range y {
		v, wt, n := y[i], w[i], 1
		// merge while the previous block is below this one (a rise)
		for k := len(s.val) - 1; k >= 0 && s.val[k] < v; k-- {
			v = (s.val[k]*s.wt[k] + v*wt) / (s.wt[k] + wt)
			wt += s.wt[k]
			n += s.n[k]
			s.val, s.wt, s.n = s.val[:k], s.wt[:k], s.n[:k]
		}
		s.val = append(s.val, v)
		s.wt = append(s.wt, wt)
		s.n = append(s.n, n)
	}
	s.out = s.out[:0]
	for k, v := range s.val {
		for range s.n[k] {
			s.out = append(s.out, v)
		}
	}
	return s.out
}
