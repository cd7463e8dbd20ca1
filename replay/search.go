package replay

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/agentperf/agentperf/analyze"
	"github.com/agentperf/agentperf/capacity"
	"github.com/agentperf/agentperf/schemas"
)

// SearchConfig configures the AgentPerf capacity search: an exponential
// ramp over users (Start, 2·Start, 4·Start, …) until a level fails, then a
// binary search between the last passing and the first failing level until
// they are within Precision of each other. Each level runs Warmup, then a
// Steady window (world time), and is judged at Tier by analyze's rule over
// its steady-state rows.
type SearchConfig struct {
	// Start is the first level's users; 0 means 1.
	Start int
	// MaxUsers caps the ramp; 0 means 4096.
	MaxUsers int
	// Precision ends the binary search when (fail − pass) ≤ max(1,
	// Precision·pass); 0 means 0.05.
	Precision float64
	// Warmup and Steady are each level's warm-up and steady-state window
	// (world); 0 means the run's Warmup and Steady.
	Warmup, Steady time.Duration
	// Tier is the speed tier each level must hold.
	Tier analyze.Tier
	// MinSessions and MinPerAgent are the completed-trajectory counts a
	// level needs to meet AgentPerf's bar (0 means 30 and 3); fewer are
	// recorded as "below the AgentPerf bar", not as a failure.
	MinSessions, MinPerAgent int
	// Remeasure is how many times a level whose client fell behind is
	// measured again before its verdict is taken as it is (0 means
	// 2, negative none). A saturated client is not measured
	// again: the search stops there.
	Remeasure int

	// The adaptive phase (issue 12, docs/capacity.md "The adaptive
	// search"). After the ramp and the bisection, every window is assessed
	// with capacity's session bootstrap, max users is fitted over all of
	// them with a 90 % interval, and capacity.Next repeats (or adds) the
	// levels that decide it until the interval is narrow enough, the
	// repeats run out or the budget does.
	//
	// Repeats is how many windows beyond the first one user count may get
	// (0: no adaptive phase, the plain ramp and bisection).
	Repeats int
	// Interval is the relative width (hi − lo) ÷ max users of the 90 %
	// interval at which the adaptive phase stops (0: 2 × Precision, i.e.
	// max users within ±Precision).
	Interval float64
	// Budget is the wall time the whole search may spend, warm-ups
	// included (0: none). No window is started that the mean window so far
	// says would overrun it; the search then ends "budget exhausted".
	Budget time.Duration
	// Replicates is the bootstrap replicates per window (0: capacity's
	// default, 1000).
	Replicates int
}

// defaultRemeasure is how many times the search measures an invalid level
// again: one bad window (a burst of wake-up delays, a neighbour's load) does
// not decide a level, and three in a row of a client that is not saturated
// are taken as the level's figures, flagged.
const defaultRemeasure = 2

// SearchReport is the search outcome.
type SearchReport struct {
	// MaxUsers is the highest passing level's users (0 when none passed).
	MaxUsers int
	// FirstFail is the lowest failing level's users (0 when none failed).
	FirstFail int
	// Stopped says why the search ended early (client limit, interrupt).
	Stopped string
	// ClientSaturated is set when the client was saturated below the first
	// failing level: the levels from there up could not be measured, the
	// search bisected below them, and Stopped gives the figures.
	ClientSaturated bool
	// Ended says what ended the search: one of capacity's Stop* reasons
	// ("precision reached", "budget exhausted", "max users reached", "max
	// repeats reached", "no level passes"), "bracketed" (the bisection
	// reached Precision and the adaptive phase is off), "client saturated"
	// or "interrupted"; EndReason says it with its figures.
	Ended, EndReason string
	// Estimate is max users at the tier fitted over every window with its
	// 90 % interval (nil when no window could be assessed); Windows the
	// windows it used.
	Estimate *capacity.Capacity
	Windows  int
}

// searchWindow is one measured search level: its report, point verdict and,
// when its rows could be bootstrapped, its assessment at the tier.
type searchWindow struct {
	lr        LevelReport
	v         analyze.Verdict
	assessed  *capacity.Level
	saturated bool // every window of these users showed a saturated client
}

// searchRun is the state of one search.
type searchRun struct {
	r     *runner
	sc    SearchConfig
	rep   *Report
	out   *SearchReport
	index int // the next level's index
	// ceiling is the fewest users at which the client was saturated (0:
	// none yet).
	ceiling int
	// levels and obs are the windows the fit uses: the last attempt of
	// each measurement, not a saturated one.
	levels []*capacity.Level
	obs    []capacity.Observation
	spent  time.Duration // wall time of every window so far
	runs   int           // windows run, re-measurements included
}

func (r *runner) search(ctx context.Context, rep *Report) (*SearchReport, error) {
	s := &searchRun{r: r, sc: *r.cfg.Search, rep: rep, out: &SearchReport{}} // sc with its defaults (Config.withDefaults)
	if s.sc.Interval <= 0 {
		s.sc.Interval = 2 * s.sc.Precision
	}
	err := s.run(ctx)
	s.finish()
	return s.out, err
}

func (s *searchRun) run(ctx context.Context) error {
	sc, out := s.sc, s.out
	users := min(sc.Start, sc.MaxUsers)
	action, reason := capacity.Run, fmt.Sprintf("start the ramp at %d users", users)
	// The ramp and the bisection, on the windows' point verdicts.
	for {
		if s.overBudget(reason) {
			return nil
		}
		w, err := s.measure(ctx, users, action, reason)
		if err != nil || s.stopped(ctx, w) {
			return err
		}
		next := 0
		hi := out.FirstFail // the bracket's top: the first failing level, or the client's ceiling
		if s.ceiling > 0 && (hi == 0 || s.ceiling < hi) {
			hi = s.ceiling
		}
		switch {
		case hi == 0:
			if users >= sc.MaxUsers {
				out.Stopped = fmt.Sprintf("reached the most users to try (%d), still passing", sc.MaxUsers)
				out.Ended, out.EndReason = capacity.StopMaxUsers, out.Stopped
				break
			}
			next = min(users*2, sc.MaxUsers)
			reason = fmt.Sprintf("ramp: %d users passed, double to %d", users, next)
		default:
			lo := out.MaxUsers
			if hi-lo <= max(1, int(sc.Precision*float64(lo))) {
				out.Ended, out.EndReason = "bracketed", fmt.Sprintf("bracketed: %d users pass and %d do not, within %g of each other", lo, hi, sc.Precision)
				break
			}
			next = lo + (hi-lo)/2
			reason = fmt.Sprintf("bisect between %d (pass) and %d users", lo, hi)
		}
		if next == 0 || next == users {
			break
		}
		users = next
	}
	if sc.Repeats <= 0 {
		return nil
	}
	// The adaptive phase: capacity.Next on every window's interval.
	cs := capacity.Search{Start: sc.Start, MaxUsers: sc.MaxUsers, Precision: sc.Interval, MaxRepeats: sc.Repeats}
	for {
		if s.ceiling > 0 {
			cs.MaxUsers = min(cs.MaxUsers, s.ceiling-1)
		}
		a := capacity.Next(s.obs, s.fit(), cs)
		if a.Kind == capacity.Stop {
			out.Ended, out.EndReason = a.Stopped, a.Reason
			if a.Stopped == capacity.StopMaxUsers && s.ceiling > 0 && out.FirstFail == 0 {
				out.Ended = "client saturated"
			}
			return nil
		}
		if s.overBudget(a.Reason) {
			return nil
		}
		w, err := s.measure(ctx, a.Users, a.Kind, a.Reason)
		if err != nil || s.stopped(ctx, w) {
			return err
		}
	}
}

// overBudget ends the search when a window as long as the mean so far
// would overrun the budget.
func (s *searchRun) overBudget(next string) bool {
	mean, over := s.windowOverruns()
	if !over {
		return false
	}
	s.out.Ended = capacity.StopBudget
	s.out.EndReason = fmt.Sprintf("budget exhausted: %s spent of %s, and a window takes about %s (next would have been: %s)",
		s.spent.Round(time.Second), s.sc.Budget, mean.Round(time.Second), next)
	return true
}

// windowOverruns reports whether one more window, as long as the mean so
// far, would overrun the budget (never without a budget or before the
// first window).
func (s *searchRun) windowOverruns() (mean time.Duration, over bool) {
	if s.sc.Budget <= 0 || s.runs == 0 {
		return 0, false
	}
	mean = s.spent / time.Duration(s.runs)
	return mean, s.spent+mean > s.sc.Budget
}

// stopped takes a measured window into the bracket (MaxUsers, FirstFail,
// the client's ceiling) and reports whether the search must end now.
func (s *searchRun) stopped(ctx context.Context, w searchWindow) bool {
	out, lr := s.out, w.lr
	if lr.Interrupted || ctx.Err() != nil {
		out.Stopped = "interrupted"
		out.Ended, out.EndReason = "interrupted", "interrupted"
		return true
	}
	if lr.Client.CPUBound || (w.saturated && !lr.Valid) {
		// These users cannot be measured on this client: they are the
		// search's ceiling, and it goes on below them.
		c := lr.Client
		out.ClientSaturated = true
		if s.ceiling == 0 || lr.Users < s.ceiling {
			s.ceiling = lr.Users
		}
		out.Stopped = fmt.Sprintf("the client is saturated at %d users (level %d: CPU %.0f %% of %d cores, lag p50 %s p99 %s, rising %s over the searchWindow, %.1f %% of the load undelivered): no level from there up can be measured; run the client on more cores or shard it",
			lr.Users, lr.Index, 100*c.CPUUtil, c.Cores, c.LagP50.Round(time.Microsecond), c.LagP99.Round(time.Microsecond),
			c.LagGrowth.Round(time.Microsecond), 100*c.DelayedLoad)
		s.r.warn("%s", out.Stopped)
		return false
	}
	if !lr.Valid {
		s.r.warn("level %d (%d users) stayed invalid after %d re-measurements, without a saturated client: its verdict counts, flagged", lr.Index, lr.Users, lr.Attempt)
	}
	if w.v.Pass {
		out.MaxUsers = max(out.MaxUsers, lr.Users)
	} else if out.FirstFail == 0 || lr.Users < out.FirstFail {
		out.FirstFail = lr.Users
	}
	if w.assessed != nil {
		s.levels = append(s.levels, w.assessed)
		s.obs = append(s.obs, capacity.Observe(w.assessed, 0, lr.Wall))
	}
	return false
}

// measure runs one window of users (and re-measures it while its client
// fell behind), records every attempt in the report and the metadata, and
// returns the last.
func (s *searchRun) measure(ctx context.Context, users int, action capacity.ActionKind, reason string) (searchWindow, error) {
	r, sc := s.r, s.sc
	w := searchWindow{saturated: true}
	for attempt := 0; ; attempt++ {
		lr := r.runLevel(ctx, s.index, users, sc.Warmup, sc.Steady)
		lr.Attempt = attempt
		s.index++
		s.runs++
		s.spent += lr.Wall
		v := sc.Tier.Judge(lr.stats)
		lr.Verdict = &analyze.Verdict{}
		*lr.Verdict = v // each attempt its own: v is reused
		ferr := r.out.flush()
		r.levelMeta(&lr)
		r.searchLevelMeta(&lr, sc)
		l := &r.meta.Levels[len(r.meta.Levels)-1]
		l.SearchAction, l.SearchReason = action.String(), reason
		if attempt > 0 {
			l.SearchAction = "remeasure"
		}
		assessed, aerr := lr.stats.Assess([]analyze.Tier{sc.Tier}, capacity.Options{Replicates: sc.Replicates})
		outcome := "-"
		if aerr == nil {
			tr := assessed.Tiers[0]
			l.Verdict.Outcome, l.Verdict.Margin, l.Verdict.MarginLo, l.Verdict.MarginHi = tr.Verdict.String(), tr.Margin.Point, tr.Margin.Lo, tr.Margin.Hi
			outcome = tr.Verdict.String()
		} else {
			r.log.Warn("search level not assessed", "level", lr.Index, "err", aerr)
			assessed = nil
		}
		s.rep.Levels = append(s.rep.Levels, lr)
		r.log.Info("search level", "level", lr.Index, "users", users, "action", action.String(), "pass", v.Pass, "outcome", outcome, "reasons", v.Reasons,
			"speed", fmt.Sprintf("%.1f", v.Speed), "ttft", v.TTFT, "valid", lr.Valid, "attempt", attempt)
		w = searchWindow{lr: lr, v: v, assessed: assessed, saturated: w.saturated && lr.Client.Saturated}
		// A client at its CPU limit stops the search at once; lag that
		// kept growing without it (a neighbour's load starves a client
		// the same way, for a while) is measured again like a client
		// that fell behind.
		if ferr != nil {
			return w, ferr
		}
		if lr.Valid || lr.Client.CPUBound || lr.Interrupted || ctx.Err() != nil || attempt >= sc.Remeasure {
			return w, nil
		}
		if mean, over := s.windowOverruns(); over {
			// Another window would overrun the budget: this one's
			// verdict counts, flagged, and the search ends.
			r.warn("level %d (%d users): the client fell behind (%s); not measured again: %s spent of the search's %s budget, and a window takes about %s",
				lr.Index, users, strings.Join(lr.Invalid, "; "), s.spent.Round(time.Second), sc.Budget, mean.Round(time.Second))
			return w, nil
		}
		l.Remeasured = true
		r.warn("level %d (%d users): the client fell behind (%s); measuring %d users again (%d of %d)",
			lr.Index, users, strings.Join(lr.Invalid, "; "), users, attempt+1, sc.Remeasure)
	}
}

// fit is max users at the tier over the windows so far (nil before the
// first, or when the fit fails).
func (s *searchRun) fit() *capacity.Capacity {
	if len(s.levels) == 0 {
		return nil
	}
	c, err := capacity.Fit(s.levels, 0, capacity.Options{Replicates: s.sc.Replicates})
	if err != nil {
		s.r.log.Warn("search fit", "err", err)
		return nil
	}
	return c
}

// finish records the outcome in the report and the metadata.
func (s *searchRun) finish() {
	out, sc, tier := s.out, s.sc, s.sc.Tier
	if out.FirstFail > 0 && out.FirstFail < s.ceiling {
		// The tier failed below the client's limit: the limit did not
		// bound the result (the warning stays).
		out.ClientSaturated, out.Stopped = false, ""
	}
	if out.Ended == "" && out.ClientSaturated {
		out.Ended, out.EndReason = "client saturated", out.Stopped
	}
	out.Estimate, out.Windows = s.fit(), len(s.levels)
	m := &schemas.SearchMeta{
		MaxUsers: out.MaxUsers, FirstFail: out.FirstFail,
		Tier: tier.Name, SpeedFloor: tier.SpeedFloor, TTFTCeiling: tier.TTFTCeiling,
		Levels: len(s.rep.Levels), Stopped: out.Stopped, ClientSaturated: out.ClientSaturated,
		Ended: out.Ended, EndReason: out.EndReason, Budget: sc.Budget, Windows: out.Windows,
	}
	if sc.Repeats > 0 {
		m.Precision = sc.Interval
	}
	if c := out.Estimate; c != nil {
		e := &schemas.SearchEstimate{Point: c.MaxUsers.Point, Lo: c.MaxUsers.Lo, Hi: c.MaxUsers.Hi, Confidence: capacity.DefaultConfidence}
		if math.IsInf(e.Hi, 1) {
			e.Hi = 0
		}
		if c.Censored != capacity.Bounded {
			e.Censored = c.Censored.String()
		}
		m.Estimate = e
	}
	s.r.meta.Search = m
}

func (r *runner) searchLevelMeta(lr *LevelReport, sc SearchConfig) {
	l := &r.meta.Levels[len(r.meta.Levels)-1]
	v := lr.Verdict
	l.Verdict = &schemas.LevelVerdict{Pass: v.Pass, Reasons: v.Reasons, SpeedTokS: v.Speed, TTFT: v.TTFT, ErrorRate: v.ErrorRate}
	l.SteadyWindow = sc.Steady
	if sc.MinSessions > 0 && lr.CompletedSessions < sc.MinSessions {
		l.BelowAABar = append(l.BelowAABar, fmt.Sprintf("%d completed trajectories < %d", lr.CompletedSessions, sc.MinSessions))
	}
	if sc.MinPerAgent > 0 {
		for _, agent := range slices.Sorted(maps.Keys(lr.SessionsByAgent)) {
			if n := lr.SessionsByAgent[agent]; n < sc.MinPerAgent {
				l.BelowAABar = append(l.BelowAABar, fmt.Sprintf("agent %q: %d trajectories < %d", agent, n, sc.MinPerAgent))
			}
		}
	}
}
