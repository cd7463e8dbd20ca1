package replay

import (
	"context"
	"testing"
	"time"

	"github.com/agentperf/agentperf/analyze"
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
