package replay

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/agentperf/agentperf/analyze"
	"github.com/agentperf/agentperf/capacity"
	"github.com/agentperf/agentperf/replay/internal/fake"
)

// TestSearchFindsCapacity searches a fake target whose inter-token gap
// grows by 1 ms per stream in flight: about 1000/(1+users) tok/s per user,
// so a 150 tok/s floor holds up to 5 users.
func TestSearchFindsCapacity(t *testing.T) {
	dir := writeTraces(t, traceSpec{sessions: 8, turns: 3, out: 20})
	srv := &fake.Server{TTFT: time.Millisecond, ITL: time.Millisecond, ITLPerStream: time.Millisecond}
	sc := &SearchConfig{Start: 1, MaxUsers: 64, Warmup: 200 * time.Millisecond, Steady: 700 * time.Millisecond,
		Tier: analyze.NewTier(150, 5*time.Second)}
	cfg := Config{Plan: loadPlan(t, dir, PlanOptions{}), Target: startFake(t, srv), Search: sc}
	rows, meta, rep := runToFile(t, context.Background(), cfg)
	s := rep.Search
	t.Logf("max users %d, first fail %d, %d levels", s.MaxUsers, s.FirstFail, len(rep.Levels))
	for _, l := range rep.Levels {
		t.Logf("level %d: %d users pass %v %.0f tok/s %v", l.Index, l.Users, l.Verdict.Pass, l.Verdict.Speed, l.Verdict.Reasons)
	}
	if s.MaxUsers < 3 || s.MaxUsers > 7 {
		t.Errorf("max users %d, want ≈ 5", s.MaxUsers)
	}
	if s.FirstFail != 0 && s.FirstFail-s.MaxUsers > 1 {
		t.Errorf("search ended with pass %d and fail %d: not converged", s.MaxUsers, s.FirstFail)
	}
	if meta.Search == nil || meta.Search.MaxUsers != s.MaxUsers || len(meta.Levels) != len(rep.Levels) {
		t.Errorf("meta search %+v, %d levels", meta.Search, len(meta.Levels))
	}
	// Every level is in the file with its index and users.
	users := map[int32]int32{}
	for _, r := range rows {
		if u, ok := users[r.Level]; ok && u != r.Users {
			t.Fatalf("level %d has rows with %d and %d users", r.Level, u, r.Users)
		}
		users[r.Level] = r.Users
	}
	for _, l := range rep.Levels {
		if users[int32(l.Index)] != int32(l.Users) {
			t.Errorf("level %d: %d users in the file, want %d", l.Index, users[int32(l.Index)], l.Users)
		}
		if lm := meta.Level(l.Index); lm == nil || lm.Verdict == nil {
			t.Errorf("level %d verdict missing from metadata", l.Index)
		}
	}
	if meta.BelowAABar == "" {
		t.Errorf("a 0.7 s steady window is not flagged as below AgentPerf's bar")
	}
}

// TestAdaptiveSearch: after the ramp and bisection the adaptive phase adds
// windows chosen by capacity.Next; each is its own level in the results,
// analyze sees every one, and the search says what ended it.
func TestAdaptiveSearch(t *testing.T) {
	dir := writeTraces(t, traceSpec{sessions: 8, turns: 3, out: 20})
	srv := &fake.Server{TTFT: time.Millisecond, ITL: time.Millisecond, ITLPerStream: time.Millisecond}
	for _, tc := range []struct {
		name     string
		budget   time.Duration
		interval float64
	}{
		{name: "repeats", interval: 0.001}, // unreachable: ends on repeats
		{name: "budget", budget: 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := &SearchConfig{Start: 1, MaxUsers: 16, Warmup: 100 * time.Millisecond, Steady: 400 * time.Millisecond,
				Tier: analyze.NewTier(150, 5*time.Second), Repeats: 1, Interval: tc.interval, Budget: tc.budget, Replicates: 50}
			cfg := Config{Plan: loadPlan(t, dir, PlanOptions{}), Target: startFake(t, srv), Search: sc}
			rep, path := runSearchFile(t, cfg)
			s := rep.Search
			t.Logf("ended %q (%s), %d levels, %d windows", s.Ended, s.EndReason, len(rep.Levels), s.Windows)
			ar, err := analyze.Analyze(context.Background(), []string{path}, analyze.Options{Tiers: []analyze.Tier{sc.Tier}})
			if err != nil {
				t.Fatal(err)
			}
			set := ar.Sets[0]
			if got, want := len(set.Levels), len(rep.Levels); got != want {
				t.Errorf("analyze sees %d levels, want the search's %d windows", got, want)
			}
			meta := set.Meta
			if meta == nil || meta.Search == nil || meta.Search.Ended != s.Ended || meta.Search.EndReason == "" {
				t.Fatalf("search metadata %+v, want ended %q with a reason", meta.Search, s.Ended)
			}
			if notes := strings.Join(set.Notes, "\n"); !strings.Contains(notes, "replay's search at") || !strings.Contains(notes, s.Ended) {
				t.Errorf("analyze's notes do not say what ended the search (%q):\n%s", s.Ended, notes)
			}
			actions := map[string]int{}
			for _, l := range meta.Levels {
				actions[l.SearchAction]++
				if l.Verdict == nil || l.Verdict.Outcome == "" {
					t.Errorf("level %d: no outcome in %+v", l.Index, l.Verdict)
				}
			}
			switch tc.name {
			case "repeats":
				if s.Ended != capacity.StopMaxRepeats && s.Ended != capacity.StopMaxUsers {
					t.Errorf("ended %q, want %q with an unreachable precision", s.Ended, capacity.StopMaxRepeats)
				}
				if actions["repeat"] == 0 {
					t.Errorf("no repeated window (actions %v)", actions)
				}
				if s.Estimate == nil || meta.Search.Estimate == nil {
					t.Errorf("no max-users estimate: %+v", meta.Search)
				}
			case "budget":
				if s.Ended != capacity.StopBudget {
					t.Errorf("ended %q, want %q", s.Ended, capacity.StopBudget)
				}
				var spent time.Duration
				for _, l := range rep.Levels {
					spent += l.Wall
				}
				if mean := spent / time.Duration(len(rep.Levels)); spent > tc.budget+mean {
					t.Errorf("spent %s of a %s budget (a window takes %s)", spent, tc.budget, mean)
				}
			}
		})
	}
}
