package replay

import (
	"context"
	"testing"
	"time"

	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/sim"
)

// TestForest: sessions with a parent in the plan are sub-agents (after a
// turn, or beside the turns when the turn is unknown); a missing or cyclic
// parent makes a top-level session.
func TestForest(t *testing.T) {
	turns := func(n int) []*Turn {
		var ts []*Turn
		for i := range n {
			ts = append(ts, &Turn{Index: int32(i)})
		}
		return ts
	}
	p := &Plan{Sessions: []*Session{
		{ID: "root", Turns: turns(3), ParentTurn: -1},
		{ID: "after", Turns: turns(1), Parent: "root", ParentTurn: 1},
		{ID: "beside", Turns: turns(1), Parent: "root", ParentTurn: -1},
		{ID: "orphan", Turns: turns(1), Parent: "gone", ParentTurn: 0},
		{ID: "c1", Turns: turns(1), Parent: "c2", ParentTurn: 0},
		{ID: "c2", Turns: turns(1), Parent: "c1", ParentTurn: 0},
	}}
	f := newForest(p)
	var roots []string
	for _, s := range f.roots {
		roots = append(roots, s.ID)
	}
	if got, want := roots, []string{"root", "orphan", "c1", "c2"}; len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] {
		t.Errorf("roots %v, want %v", got, want)
	}
	if got := f.after[p.Sessions[0].Turns[1]]; len(got) != 1 || got[0].ID != "after" {
		t.Errorf("after root turn 1: %v", got)
	}
	if got := f.during[p.Sessions[0]]; len(got) != 1 || got[0].ID != "beside" {
		t.Errorf("beside root: %v", got)
	}
	if f.subAgents != 2 || f.orphans != 3 || f.plain(p.Sessions[0]) || !f.plain(p.Sessions[3]) {
		t.Errorf("sub-agents %d, orphans %d, root plain %v, orphan plain %v", f.subAgents, f.orphans, f.plain(p.Sessions[0]), f.plain(p.Sessions[3]))
	}
}

// TestSubAgentTree replays a parent whose first turn spawns a sub-agent,
// in virtual time and over HTTP on the wall clock: the sub-agent starts its
// recorded offset after that turn's response ended, the parent's next turn
// waits for it to end plus the think time, one user holds the whole tree,
// and the tree is one trajectory.
func TestSubAgentTree(t *testing.T) {
	dir := writeTraces(t, traceSpec{sessions: 2, turns: 3, api: schemas.APIOpenAIChat, think: 2 * time.Second, out: 40, pad: 500})
	for _, virtual := range []bool{true, false} {
		name := map[bool]string{true: "virtual", false: "http"}[virtual]
		t.Run(name, func(t *testing.T) {
			plan := loadPlan(t, dir, PlanOptions{})
			parent, kid := plan.Sessions[0], plan.Sessions[1]
			kid.Parent, kid.ParentTurn, kid.ParentOffsetNS, kid.EndNS = parent.ID, 0, int64(1500*time.Millisecond), 0
			cfg := Config{Plan: plan, Users: 1, Steady: 40 * time.Second, MaxSteady: -1, Shaping: Shaping{Model: "gpt-oss-120b"}}
			// lo and hi bound the schedule around the row's end: exact in
			// virtual time; over HTTP the loop schedules from when the end
			// arrived on the wall clock, after the simulated end (docs/
			// architecture.md, "Which clock times a response").
			lo, hi := int64(0), int64(0)
			if virtual {
				cfg.Sim = simPlan(t, sim.Config{})
			} else {
				cfg.Target, cfg.TimeScale, cfg.SimClock = startSim(t, 20).URL, 20, true
				lo, hi = int64(time.Millisecond), int64(2*time.Second)
			}
			rows, _, rep := runToFile(t, context.Background(), cfg)
			row := func(sid string, turn int32) *schemas.Result {
				for i := range rows {
					if rows[i].SessionID == sid && rows[i].Turn == turn {
						return &rows[i]
					}
				}
				t.Fatalf("no row of %s turn %d", sid, turn)
				return nil
			}
			p0, k0, k2, p1 := row(parent.ID, 0), row(kid.ID, 0), row(kid.ID, 2), row(parent.ID, 1)
			if got, want := k0.ScheduledNS, p0.EndNS+int64(1500*time.Millisecond); got < want-lo || got > want+hi {
				t.Errorf("sub-agent's first send at %d, want the parent's turn 0 end + 1.5 s = %d", got, want)
			}
			if got, want := p1.ScheduledNS, k2.EndNS+int64(2*time.Second); got < want-lo || got > want+hi {
				t.Errorf("parent's turn 1 at %d, want the sub-agent's end + 2 s think = %d", got, want)
			}
			for _, r := range rows {
				if r.User != 0 {
					t.Errorf("row of user %d: one user holds the whole tree", r.User)
				}
			}
			if l := rep.Levels[0]; l.CompletedSessions == 0 || l.SessionsByAgent["agent-a"] != l.CompletedSessions {
				t.Errorf("completed %d trajectories, by agent %v: each tree counts once", l.CompletedSessions, l.SessionsByAgent)
			}
		})
	}
}
