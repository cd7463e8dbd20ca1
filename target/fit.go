package target

import "fmt"

// TurnTokens is one turn's size: its prompt and the output it asks for,
// tokens.
type TurnTokens struct {
	Prompt, Output int
}

// ContextPolicy says what happens to a session one of whose turns does
// not fit the context.
type ContextPolicy string

// Context policies.
const (
	// ContextTruncate keeps the session's turns before the first one that
	// does not fit and drops that turn and every later one, as AA
	// truncates trajectories to the model's context.
	ContextTruncate ContextPolicy = "truncate"
	// ContextSkip drops the whole session.
	ContextSkip ContextPolicy = "skip"
	// ContextFail counts as ContextTruncate does; the caller refuses to
	// run when anything would be cut.
	ContextFail ContextPolicy = "fail"
)

// AAMinContext is the context length AA-AgentPerf requires of a
// deployment, tokens: 65,536 (artificialanalysis.ai/methodology/agentperf).
const AAMinContext = 65536

// ParseContextPolicy checks a context policy; "" is ContextTruncate.
func ParseContextPolicy(s string) (ContextPolicy, error) {
	switch p := ContextPolicy(s); p {
	case "":
		return ContextTruncate, nil
	case ContextTruncate, ContextSkip, ContextFail:
		return p, nil
	}
	return "", fmt.Errorf("unknown context policy %q (want truncate, skip or fail)", s)
}

// ContextFit is how a trace set fits a context length.
type ContextFit struct {
	// Keep is, per session in input order, how many leading turns to
	// replay (0: the session is dropped).
	Keep []int
	// Truncated counts sessions that keep some but not all turns;
	// Skipped counts sessions that keep none; Sessions counts all.
	Truncated, Skipped, Sessions int
	// DroppedTurns counts the turns dropped, KeptTurns the turns kept.
	DroppedTurns, KeptTurns int
	// Longest is the largest prompt + output of any turn, tokens.
	Longest int
}

// FitContext cuts sessions (each a list of turns in order) to a context of
// limit tokens: a turn fits when its prompt plus its output fits, since an
// engine refuses a request whose prompt and max_tokens exceed the context.
// A session whose first turn does not fit is skipped under either policy.
// limit <= 0 keeps everything.
//
// Replay builds sessions from its Plan (each turn's expected input and
// output) and drops the turns Keep says; the counts go into the summary
// and the run metadata.
func FitContext(sessions [][]TurnTokens, limit int, policy ContextPolicy) ContextFit {
	f := ContextFit{Keep: make([]int, len(sessions)), Sessions: len(sessions)}
	for i, turns := range sessions {
		keep := len(turns)
		for j, t := range turns {
			need := t.Prompt + max(t.Output, 0)
			f.Longest = max(f.Longest, need)
			if limit > 0 && need > limit && keep == len(turns) {
				keep = j
			}
		}
		if keep < len(turns) && (policy == ContextSkip || keep == 0) {
			keep = 0
		}
		switch {
		case keep == 0 && len(turns) > 0:
			f.Skipped++
		case keep < len(turns):
			f.Truncated++
		}
		f.Keep[i] = keep
		f.KeptTurns += keep
		f.DroppedTurns += len(turns) - keep
	}
	return f
}
