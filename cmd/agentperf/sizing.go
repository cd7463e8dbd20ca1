package main

import (
	"fmt"
	"io"

	"github.com/agentperf/agentperf/analyze"
	"github.com/agentperf/agentperf/replay"
	"github.com/agentperf/agentperf/schemas"
)

// Sizing messages of replay against the embedded simulator (issue 13;
// replay.EstimateSizing, docs/replay.md "Sizing").

// sizingFlags is how a user changes the simulated sizing.
const sizingFlags = "--accelerators N (or --hardware)"

// sizingBefore prints, before the run, a warning to w when the embedded
// simulator's deployment is estimated to be overloaded by cfg's run, or
// when turns exceed its context, and returns the estimate for the run
// metadata (nil when none was made).
func sizingBefore(w io.Writer, cfg replay.Config) *schemas.SizingMeta {
	est := replay.EstimateSizing(cfg)
	if est == nil {
		return nil
	}
	if est.Overloaded {
		effect := "requests will queue (TTFT grows through the run) and may stall"
		if cfg.Mode == replay.ModeClosed || cfg.Mode == "" {
			effect = "the users will wait on each other (output speed falls, TTFT grows) and the run measures a saturated system"
		}
		fmt.Fprintf(w, "warning: sizing: the simulated deployment is overloaded for this trace set: %s.\n"+
			"  %s; %s: give %s, or lower the load.\n",
			est.Summary, upperFirst(effect), replay.SizingAdvice(cfg.Sim, est), sizingFlags)
	}
	if est.OverContext > 0 && cfg.MaxContext == 0 {
		turns := fmt.Sprintf("%d turns need", est.OverContext)
		if est.OverContext == 1 {
			turns = "1 turn needs"
		}
		fmt.Fprintf(w, "warning: sizing: %s more than the %d tokens of context %s accepts (up to %d tokens of prompt and output): the simulator refuses them; --max-context %d cuts those sessions (--context-policy).\n",
			turns, est.ContextTokens, replay.SizingLabel(cfg.Sim), est.LongestTokens, est.ContextTokens)
	}
	return est
}

// sizingAfter prints, after the run, a note to w for every level that ran
// overloaded (replay.LevelReport.Overload against the model's slowest
// preset tier), with the sizing advice. Searches overload levels on
// purpose and are left alone.
func sizingAfter(w io.Writer, cfg replay.Config, est *schemas.SizingMeta, rep *replay.Report) {
	if cfg.Sim == nil || cfg.Search != nil || rep == nil {
		return
	}
	tier, err := analyze.ParseTier("", cfg.Sim.Model.Name)
	if err != nil {
		tier = analyze.Tier{} // no preset: TTFT and errors alone
	}
	saturated := est != nil && est.Overloaded
	for i := range rep.Levels {
		l := &rep.Levels[i]
		why := l.Overload(tier, saturated)
		if why == "" {
			continue
		}
		fmt.Fprintf(w, "overloaded: level %d: %s on %s.\n", l.Index, why, replay.SizingLabel(cfg.Sim))
		if adv := replay.SizingAdvice(cfg.Sim, est); adv != "" {
			fmt.Fprintf(w, "  The estimate before the run: %s; %s: give %s, or lower the load.\n", est.Summary, adv, sizingFlags)
		} else {
			fmt.Fprintf(w, "  Give more %s, or lower the load.\n", sizingFlags)
		}
	}
}

// upperFirst capitalises s's first (ASCII) letter.
func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
