package analyze

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"strings"

	"github.com/agentperf/agentperf/capacity"
	"github.com/agentperf/agentperf/power"
	"github.com/agentperf/agentperf/schemas"
)

// LevelPower is the measured power of a level over its steady-state window
// (docs/power.md, Summaries): every system's sources summed.
type LevelPower struct {
	// MeanW is the time-weighted mean system power, W; P95W its 95th
	// percentile over the sampled instants, W (NaN when unknown).
	MeanW float64 `json:"mean_w"`
	P95W  float64 `json:"p95_w"`
	// EnergyJ is MeanW × the window's seconds, J.
	EnergyJ float64 `json:"energy_j"`
	// JoulesPerToken is EnergyJ ÷ the output tokens that arrived inside the
	// window; JoulesPerTrajectory EnergyJ ÷ the trajectories completed
	// inside it (NaN when there are none).
	JoulesPerToken      float64 `json:"joules_per_output_token"`
	JoulesPerTrajectory float64 `json:"joules_per_trajectory"`
	// Coverage is the measured share of the window, 0–1.
	Coverage float64 `json:"coverage"`
	// BySystem is each system's mean power, W.
	BySystem map[string]float64 `json:"by_system"`
}

// MarshalJSON writes the figures with null for NaN (JSON has no NaN).
func (p *LevelPower) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		MeanW               num            `json:"mean_w"`
		P95W                num            `json:"p95_w"`
		EnergyJ             num            `json:"energy_j"`
		JoulesPerToken      num            `json:"joules_per_output_token"`
		JoulesPerTrajectory num            `json:"joules_per_trajectory"`
		Coverage            num            `json:"coverage"`
		BySystem            map[string]num `json:"by_system"`
	}{num(p.MeanW), num(p.P95W), num(p.EnergyJ), num(p.JoulesPerToken), num(p.JoulesPerTrajectory), num(p.Coverage), bySystemJSON(p.BySystem)})
}

func bySystemJSON(m map[string]float64) map[string]num {
	out := make(map[string]num, len(m))
	for k, v := range m {
		out[k] = num(v)
	}
	return out
}

// loadPower reads the power files beside a set's results files
// (schemas.PowerPath), merged; a results file without one has none, and
// an unreadable one is a note, never an error (the results still stand).
func (set *ResultSet) loadPower() *power.Record {
	var recs []power.Record
	for _, f := range set.Files {
		p := schemas.PowerPath(f)
		rec, err := power.Load(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			set.Notes = append(set.Notes, fmt.Sprintf("power file %s not read: %v", p, err))
			continue
		}
		if rec.RunID != "" && rec.RunID != set.RunID {
			set.Notes = append(set.Notes, fmt.Sprintf("power file %s is of run %q, not %q: not used", p, rec.RunID, set.RunID))
			continue
		}
		set.PowerFiles = append(set.PowerFiles, p)
		recs = append(recs, rec)
	}
	if len(recs) == 0 {
		return nil
	}
	all := power.Merge(recs...)
	return &all
}

// powerLevels fills every level's Power from rec and adds its power flags.
func (set *ResultSet) powerLevels(rec *power.Record) {
	systems := rec.Systems()
	for _, st := range set.Levels {
		if st.SteadyEndNS <= st.SteadyStartNS {
			continue
		}
		sum := rec.Summarize(st.SteadyStartNS, st.SteadyEndNS)
		lp := &LevelPower{MeanW: sum.MeanW, P95W: sum.P95W, EnergyJ: sum.EnergyJ, Coverage: sum.Coverage,
			JoulesPerToken:      math.NaN(),
			JoulesPerTrajectory: sum.JoulesPerTrajectory(st.TrajectoriesInWindow),
			BySystem:            map[string]float64{},
		}
		if st.WindowOutputTokens > 0 {
			lp.JoulesPerToken = sum.EnergyJ / st.WindowOutputTokens
		}
		if len(systems) > 1 {
			for _, sys := range systems {
				lp.BySystem[sys] = rec.SummarizeSystem(sys, st.SteadyStartNS, st.SteadyEndNS).MeanW
			}
		} else if len(systems) == 1 {
			lp.BySystem[systems[0]] = sum.MeanW
		}
		st.Power = lp
		for _, code := range sum.Flags {
			msg := ""
			switch code {
			case power.FlagMissing:
				msg = "no power source measured the steady-state window"
			case power.FlagGap:
				msg = fmt.Sprintf("%d power gap(s) overlap the steady-state window (a source failed; see the power file)", sum.Gaps)
			case power.FlagLowCoverage:
				msg = fmt.Sprintf("power samples cover %.0f %% of the steady-state window (< %.0f %%)", 100*sum.Coverage, 100*power.MinCoverage)
			default:
				msg = code
			}
			st.Flags = append(st.Flags, Flag{Code: code, Message: msg})
		}
		sortFlags(st.Flags)
	}
}

// powerAt returns the mean system power at u users, W: the levels' mean
// power (windows at the same users averaged; windows that do not count
// towards capacity left out)
// interpolated linearly in users, and held at the nearest measured users
// outside their range. NaN when no level has a power figure.
func (set *ResultSet) powerAt(u float64) float64 {
	type pt struct {
		users int
		sum   float64
		n     int
	}
	var pts []pt
	for k, st := range set.Levels {
		if st.Power == nil || math.IsNaN(st.Power.MeanW) || st.Users <= 0 || !set.countsTowardCapacity(k) {
			continue
		}
		i := slices.IndexFunc(pts, func(p pt) bool { return p.users == st.Users })
		if i < 0 {
			pts = append(pts, pt{users: st.Users})
			i = len(pts) - 1
		}
		pts[i].sum += st.Power.MeanW
		pts[i].n++
	}
	if len(pts) == 0 || math.IsNaN(u) {
		return math.NaN()
	}
	slices.SortFunc(pts, func(a, b pt) int { return a.users - b.users })
	w := func(p pt) float64 { return p.sum / float64(p.n) }
	if u <= float64(pts[0].users) {
		return w(pts[0])
	}
	for i := 1; i < len(pts); i++ {
		if u <= float64(pts[i].users) {
			a, b := pts[i-1], pts[i]
			f := (u - float64(a.users)) / float64(b.users-a.users)
			return w(a) + f*(w(b)-w(a))
		}
	}
	return w(pts[len(pts)-1])
}

// agentsPerMW fills c's AgentsPerMW from its max-users estimate and the
// power the system draws at that load (powerAt its point): every end of
// the interval is divided by the same power.
func (set *ResultSet) agentsPerMW(c *Capacity) {
	c.PowerW = set.powerAt(c.Users.Point)
	if math.IsNaN(c.PowerW) {
		return
	}
	mw := func(users float64) float64 {
		if math.IsInf(users, 1) {
			return users
		}
		return power.AgentsPerMW(users, c.PowerW)
	}
	c.AgentsPerMW = capacity.Estimate{Point: mw(c.Users.Point), Lo: mw(c.Users.Lo), Hi: mw(c.Users.Hi)}
}

// powerNote says where the set's power came from.
func (set *ResultSet) powerNote(rec *power.Record) string {
	systems := rec.Systems()
	if len(systems) == 1 && systems[0] == power.SourceModelled {
		return fmt.Sprintf("modelled power from %s (%d samples): the embedded simulator's power model, not a measurement (docs/sim.md, Power)",
			fileList(set.PowerFiles), len(rec.Samples))
	}
	return fmt.Sprintf("measured power from %s (%d samples, %d gaps; systems %s): accelerator power as the sources report it (docs/power.md)",
		fileList(set.PowerFiles), len(rec.Samples), len(rec.Gaps), strings.Join(systems, ", "))
}
