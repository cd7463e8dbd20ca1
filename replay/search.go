package replay

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/agentperf/agentperf/analyze"
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
}

func (r *runner) search(ctx context.Context, rep *Report) (*SearchReport, error) {
	sc := *r.cfg.Search // with its defaults (Config.withDefaults)
	tier := sc.Tier
	out := &SearchReport{}
	users := min(sc.Start, sc.MaxUsers)
	index := 0
	ceiling := 0 // the fewest users at which the client was saturated
	for {
		var lr LevelReport
		var v analyze.Verdict
		var ferr error
		saturated := true // every window of these users showed a saturated client
		for attempt := 0; ; attempt++ {
			lr = r.runLevel(ctx, index, users, sc.Warmup, sc.Steady)
			lr.Attempt = attempt
			index++
			v = tier.Judge(lr.stats)
			lr.Verdict = &analyze.Verdict{}
			*lr.Verdict = v // each attempt its own: v is reused
			ferr = r.out.flush()
			r.levelMeta(&lr)
			r.searchLevelMeta(&lr, sc)
			rep.Levels = append(rep.Levels, lr)
			r.log.Info("search level", "level", lr.Index, "users", users, "pass", v.Pass, "reasons", v.Reasons,
				"speed", fmt.Sprintf("%.1f", v.Speed), "ttft", v.TTFT, "valid", lr.Valid, "attempt", attempt)
			saturated = saturated && lr.Client.Saturated
			// A client at its CPU limit stops the search at once; lag that
			// kept growing without it (a neighbour's load starves a client
			// the same way, for a while) is measured again like a client
			// that fell behind.
			if ferr != nil || lr.Valid || lr.Client.CPUBound || lr.Interrupted || ctx.Err() != nil || attempt >= sc.Remeasure {
				break
			}
			r.meta.Levels[len(r.meta.Levels)-1].Remeasured = true
			r.warn("level %d (%d users): the client fell behind (%s); measuring %d users again (%d of %d)",
				lr.Index, users, strings.Join(lr.Invalid, "; "), users, attempt+1, sc.Remeasure)
		}
		if ferr != nil {
			return out, ferr
		}
		if lr.Interrupted || ctx.Err() != nil {
			out.Stopped = "interrupted"
			break
		}
		if lr.Client.CPUBound || (saturated && !lr.Valid) {
			// These users cannot be measured on this client: they are the
			// search's ceiling, and it goes on below them.
			c := lr.Client
			out.ClientSaturated = true
			ceiling = users
			out.Stopped = fmt.Sprintf("the client is saturated at %d users (level %d: CPU %.0f %% of %d cores, lag p50 %s p99 %s, rising %s over the window, %.1f %% of the load undelivered): no level from there up can be measured; run the client on more cores or shard it",
				users, lr.Index, 100*c.CPUUtil, c.Cores, c.LagP50.Round(time.Microsecond), c.LagP99.Round(time.Microsecond),
				c.LagGrowth.Round(time.Microsecond), 100*c.DelayedLoad)
			r.warn("%s", out.Stopped)
		} else {
			if !lr.Valid {
				r.warn("level %d (%d users) stayed invalid after %d re-measurements, without a saturated client: its verdict counts, flagged", lr.Index, users, lr.Attempt)
			}
			if v.Pass {
				out.MaxUsers = max(out.MaxUsers, users)
			} else if out.FirstFail == 0 || users < out.FirstFail {
				out.FirstFail = users
			}
		}
		next := 0
		hi := out.FirstFail // the bracket's top: the first failing level, or the client's ceiling
		if ceiling > 0 && (hi == 0 || ceiling < hi) {
			hi = ceiling
		}
		switch {
		case hi == 0:
			if users >= sc.MaxUsers {
				out.Stopped = fmt.Sprintf("reached the most users to try (%d), still passing", sc.MaxUsers)
				break
			}
			next = min(users*2, sc.MaxUsers)
		default:
			lo := out.MaxUsers
			if hi-lo <= max(1, int(sc.Precision*float64(lo))) {
				break
			}
			next = lo + (hi-lo)/2
		}
		if next == 0 || next == users {
			break
		}
		users = next
	}
	if out.FirstFail > 0 && out.FirstFail < ceiling {
		// The tier failed below the client's limit: the limit did not
		// bound the result (the warning stays).
		out.ClientSaturated, out.Stopped = false, ""
	}
	r.meta.Search = &schemas.SearchMeta{
		MaxUsers: out.MaxUsers, FirstFail: out.FirstFail,
		Tier: tier.Name, SpeedFloor: tier.SpeedFloor, TTFTCeiling: tier.TTFTCeiling,
		Levels: len(rep.Levels), Stopped: out.Stopped, ClientSaturated: out.ClientSaturated,
	}
	return out, nil
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
