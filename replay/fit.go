package replay

import (
	"fmt"

	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/target"
)

// fitContext cuts cfg.Plan to the target's context length — cfg.MaxContext,
// else what Describe found — by cfg.ContextPolicy, the way AA truncates
// trajectories to the model's context (target.FitContext): a session keeps
// its turns before the first whose prompt and output do not fit
// (truncate), or is dropped (skip); the fail policy refuses instead of
// cutting. A context below AA's required 65,536 tokens is warned of. It
// returns the plan to replay (cfg.Plan
// itself when nothing is cut), the record for the metadata (nil when no
// context length is known), warnings for the run, and an error when no
// session fits at all.
func fitContext(cfg Config, prov *schemas.Provenance) (*Plan, *schemas.ContextMeta, []string, error) {
	limit, source := cfg.MaxContext, "given"
	if limit <= 0 && prov != nil && prov.ContextTokens > 0 {
		limit, source = prov.ContextTokens, "target: "+prov.ContextSource
	}
	if limit <= 0 {
		if prov != nil {
			return cfg.Plan, nil, []string{"the target reports no context length: sessions are not cut to it (give its context length to cut those that would not fit)"}, nil
		}
		return cfg.Plan, nil, nil, nil
	}
	p := cfg.Plan
	sessions := make([][]target.TurnTokens, len(p.Sessions))
	for i, s := range p.Sessions {
		sessions[i] = make([]target.TurnTokens, len(s.Turns))
		for j, t := range s.Turns {
			sessions[i][j] = target.TurnTokens{Prompt: int(t.ExpectedInput), Output: int(t.ExpectedOutput)}
		}
	}
	var warns []string
	if limit < target.AAMinContext {
		warns = append(warns, fmt.Sprintf("context: the target's context of %d tokens (%s) is below the %d tokens AA-AgentPerf requires of a deployment", limit, source, target.AAMinContext))
	}
	fit := target.FitContext(sessions, limit, cfg.ContextPolicy)
	cm := &schemas.ContextMeta{Limit: limit, Source: source, Policy: string(cfg.ContextPolicy),
		Sessions: fit.Sessions, Truncated: fit.Truncated, Skipped: fit.Skipped,
		KeptTurns: fit.KeptTurns, DroppedTurns: fit.DroppedTurns, Longest: fit.Longest}
	if fit.Truncated+fit.Skipped == 0 {
		return p, cm, warns, nil
	}
	if cfg.ContextPolicy == target.ContextFail {
		return nil, cm, nil, fmt.Errorf("%d of %d sessions have a turn whose prompt and output (up to %d tokens) exceed the target's context of %d tokens (%s): truncate those sessions, skip them, or give a trace set that fits", fit.Truncated+fit.Skipped, fit.Sessions, fit.Longest, limit, source)
	}
	if fit.KeptTurns == 0 {
		return nil, cm, nil, fmt.Errorf("no session of the trace set fits the target's context of %d tokens (%s): every session's first turn needs more (prompt and output); give a larger context or a trace set of shorter sessions", limit, source)
	}
	cut := *p
	cut.Sessions, cut.Turns = make([]*Session, 0, len(p.Sessions)-fit.Skipped), 0
	for i, s := range p.Sessions {
		switch k := fit.Keep[i]; {
		case k == 0:
		case k == len(s.Turns):
			cut.Sessions = append(cut.Sessions, s)
		default:
			// The turns keep pointing at s (same ID and agent).
			cut.Sessions = append(cut.Sessions, &Session{ID: s.ID, Agent: s.Agent, Turns: s.Turns[:k]})
		}
		cut.Turns += fit.Keep[i]
	}
	warn := fmt.Sprintf("context: %d of %d sessions truncated and %d skipped (%s policy), %d turns dropped, to fit the target's context of %d tokens (%s; longest turn %d tokens)",
		fit.Truncated, fit.Sessions, fit.Skipped, cfg.ContextPolicy, fit.DroppedTurns, limit, source, fit.Longest)
	return &cut, cm, append(warns, warn), nil
}
