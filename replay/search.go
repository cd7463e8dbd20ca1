package replay

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
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
}

// SearchReport is the search outcome.
type SearchReport struct {
	// MaxUsers is the highest passing level's users (0 when none passed).
	MaxUsers int
	// FirstFail is the lowest failing level's users (0 when none failed).
	FirstFail int
	// Stopped says why the search ended early (client limit, interrupt).
	Stopped string
}

func (r *runner) search(ctx context.Context, rep *Report, flushReq chan chan error) (*SearchReport, error) {
	sc := *r.cfg.Search
	if sc.Start <= 0 {
		sc.Start = 1
	}
	if sc.MaxUsers <= 0 {
		sc.MaxUsers = 4096
	}
	if sc.Precision <= 0 {
		sc.Precision = 0.05
	}
	if sc.Warmup == 0 {
		sc.Warmup = r.cfg.Warmup
	}
	if sc.Steady == 0 {
		sc.Steady = r.cfg.Steady
	}
	if sc.Steady <= 0 {
		return nil, errors.New("search: each level needs a steady-state window > 0")
	}
	if sc.MinSessions == 0 {
		sc.MinSessions = analyze.DefaultMinTrajectories
	}
	if sc.MinPerAgent == 0 {
		sc.MinPerAgent = analyze.DefaultMinTrajectoriesPerAgent
	}
	tier := sc.Tier.Normalized()
	if err := tier.Validate(); err != nil {
		return nil, err
	}
	out := &SearchReport{}
	users := min(sc.Start, sc.MaxUsers)
	for index := 0; ; index++ {
		lr := r.runLevel(ctx, index, users, sc.Warmup, sc.Steady)
		v := tier.Judge(lr.acc.Stats(analyze.Validity{}, sc.Steady))
		lr.Verdict = &v
		ferr := r.flush(flushReq)
		r.levelMeta(&lr)
		r.searchLevelMeta(&lr, sc)
		rep.Levels = append(rep.Levels, lr)
		if ferr != nil {
			return out, ferr
		}
		r.log.Info("search level", "level", index, "users", users, "pass", v.Pass, "reasons", v.Reasons,
			"speed", fmt.Sprintf("%.1f", v.Speed), "ttft", v.TTFT, "valid", lr.Valid)
		if lr.Interrupted || ctx.Err() != nil {
			out.Stopped = "interrupted"
			break
		}
		if !lr.Valid {
			out.Stopped = fmt.Sprintf("level %d (%d users) is invalid (the client could not keep up); the search stops here", index, users)
			r.warn("%s", out.Stopped)
			break
		}
		if v.Pass {
			out.MaxUsers = max(out.MaxUsers, users)
		} else if out.FirstFail == 0 || users < out.FirstFail {
			out.FirstFail = users
		}
		next := 0
		switch {
		case out.FirstFail == 0:
			if users >= sc.MaxUsers {
				out.Stopped = fmt.Sprintf("reached the --search-max of %d users, still passing", sc.MaxUsers)
				break
			}
			next = min(users*2, sc.MaxUsers)
		default:
			lo, hi := out.MaxUsers, out.FirstFail
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
	r.meta.Search = &schemas.SearchMeta{
		MaxUsers: out.MaxUsers, FirstFail: out.FirstFail,
		Tier: tier.Name, SpeedFloor: tier.SpeedFloor, TTFTCeiling: tier.TTFTCeiling,
		Levels: len(rep.Levels), Stopped: out.Stopped,
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
