package replay

import (
	"time"
)

// Sub-agent trees. A session with a parent link (Session.Parent) is a
// sub-agent of that session: it is not replayed on its own but inside its
// parent's tree. The rules (docs/replay.md, "Sub-agent trees"):
//
//   - A sub-agent spawned by turn T of its parent (ParentTurn = T) starts
//     ParentOffsetNS after T's response ended; the parent's turn T+1 waits
//     until every sub-agent T spawned has ended, then for the recorded gap
//     between the last of them ending and T+1 starting (the recorded think
//     time of T+1 when those times are unknown).
//   - A sub-agent with no known spawning turn starts ParentOffsetNS after
//     its parent's first send and runs beside the parent's turns; the
//     parent's tree ends only when it has ended too.
//   - Siblings run concurrently, each as its own closed loop; a sub-agent
//     may spawn sub-agents of its own.
//   - A user holds its slot for the whole tree: a level's users are
//     top-level agents, and a completed tree counts as one trajectory (of
//     the top-level session's agent).
//
// Offsets and gaps are think times: scaled and capped like them. A
// session whose parent is not in the plan (another shard's, or missing
// from the trace set) is replayed as a top-level session.

// forest is the plan's sessions as trees.
type forest struct {
	// roots are the top-level sessions, in plan order: what users cycle
	// through and Poisson arrivals start.
	roots []*Session
	// after holds, per turn, the sub-agents its response spawned.
	after map[*Turn][]*Session
	// during holds, per session, the sub-agents it spawned at a turn not
	// recorded.
	during map[*Session][]*Session
	// subAgents counts sessions replayed inside a tree; orphans those whose
	// parent is not in the plan.
	subAgents, orphans int
}

// newForest builds the trees of the plan's sessions.
func newForest(p *Plan) *forest {
	f := &forest{}
	byID := make(map[string]*Session, len(p.Sessions))
	for _, s := range p.Sessions {
		byID[s.ID] = s
	}
	for _, s := range p.Sessions {
		parent := byID[s.Parent]
		if s.Parent == "" || parent == nil || parent == s || cyclic(byID, s) {
			if s.Parent != "" {
				f.orphans++
			}
			f.roots = append(f.roots, s)
			continue
		}
		f.subAgents++
		if t := turnOf(parent, s.ParentTurn); t != nil {
			if f.after == nil {
				f.after = map[*Turn][]*Session{}
			}
			f.after[t] = append(f.after[t], s)
			continue
		}
		if f.during == nil {
			f.during = map[*Session][]*Session{}
		}
		f.during[parent] = append(f.during[parent], s)
	}
	return f
}

// cyclic reports whether following s's parent links comes back to s.
func cyclic(byID map[string]*Session, s *Session) bool {
	seen := map[*Session]bool{s: true}
	for p := byID[s.Parent]; p != nil; p = byID[p.Parent] {
		if seen[p] {
			return true
		}
		seen[p] = true
	}
	return false
}

// turnOf returns s's turn with index i, or nil.
func turnOf(s *Session, i int32) *Turn {
	if i < 0 {
		return nil
	}
	for _, t := range s.Turns {
		if t.Index == i {
			return t
		}
	}
	return nil
}

// userOffset returns where user u of n starts in roots, as
// Plan.UserOffset does over all sessions: ⌊u·R/n⌋ for R roots.
func (f *forest) userOffset(u, n int) int {
	if n <= 0 {
		return 0
	}
	return int(int64(u) * int64(len(f.roots)) / int64(n))
}

// plain reports whether s spawns no sub-agents (its tree is itself).
func (f *forest) plain(s *Session) bool {
	if len(f.during[s]) > 0 {
		return false
	}
	if f.after == nil {
		return true
	}
	for _, t := range s.Turns {
		if len(f.after[t]) > 0 {
			return false
		}
	}
	return true
}

// gapAfterSubAgents returns the recorded wait, world ns, between the last
// sub-agent spawned by the turn before t ending and t starting: t's
// recorded start minus the latest recorded end of those sub-agents, or
// t's recorded think time when those times are unknown.
func gapAfterSubAgents(t *Turn, kids []*Session) int64 {
	end := int64(0)
	for _, k := range kids {
		if k.EndNS <= 0 {
			return t.ThinkNS
		}
		end = max(end, k.EndNS)
	}
	if t.StartNS <= 0 || t.StartNS < end {
		return t.ThinkNS
	}
	return t.StartNS - end
}

// branch is one session of a tree being replayed.
type branch struct {
	s      *Session
	parent *branch
	// spawnedAfter is set for a sub-agent spawned by a turn of its parent
	// (the parent's next turn waits for it), clear for one that runs
	// beside its parent's turns.
	spawnedAfter bool
	us           *user
	// next is the index in s.Turns of the next turn to send.
	next int
	// waiting counts sub-agents of the last turn that have not ended,
	// and kidsEnd is the latest end among those that have; beside counts
	// sub-agents running beside the turns that have not ended.
	waiting int
	kidsEnd time.Time
	beside  int
	// turnsEnd is when the last turn ended (with error backoff), zero
	// until then; besideEnd the latest end of the sub-agents beside.
	turnsEnd, besideEnd time.Time
	done                bool
}

// step is a turn of a tree due to be sent at due (wall).
type step struct {
	b   *branch
	t   *Turn
	due time.Time
}

// treeRun is one replay of a tree by one user: a pure schedule of which
// turn is due when, given when each sent turn's response ended. The
// wall-clock closed loop and the virtual-time loop both drive it.
type treeRun struct {
	r    *runner
	root *branch
	pass int
	// end is when the tree ended (valid once the root is done).
	end time.Time
}

// startTree starts the tree of root for user us at at and returns the
// first steps due.
func (r *runner) startTree(root *Session, us *user, pass int, at time.Time) (*treeRun, []step) {
	tr := &treeRun{r: r, pass: pass}
	tr.root = &branch{s: root, us: us}
	return tr, tr.begin(tr.root, at, nil)
}

// begin starts branch b with its first turn at at, appending the steps to
// out: the first turn, and the first turns of the sub-agents that run
// beside b's turns.
func (tr *treeRun) begin(b *branch, at time.Time, out []step) []step {
	out = append(out, step{b: b, t: b.s.Turns[0], due: at})
	b.next = 1
	for _, k := range tr.r.forest.during[b.s] {
		kb := &branch{s: k, parent: b, us: &user{index: b.us.index}}
		b.beside++
		out = tr.begin(kb, at.Add(tr.r.thinkWallNS(k.ParentOffsetNS)), out)
	}
	return out
}

// finished records that st's response ended at end (wall; failed when it
// failed) and returns the steps that are due next, appended to out; done
// is set when the tree ended (at tr.end).
func (tr *treeRun) finished(st step, end time.Time, failed bool, out []step) (_ []step, done bool) {
	r := tr.r
	b := st.b
	base := end
	var thinkNext time.Duration
	if b.next < len(b.s.Turns) {
		thinkNext = r.thinkWall(b.s.Turns[b.next])
	}
	if failed {
		if bo := r.clock.Wall(int64(r.cfg.ErrorBackoff)); bo > thinkNext {
			base = end.Add(bo - thinkNext)
		}
	}
	if kids := r.forest.after[st.t]; len(kids) > 0 {
		b.waiting += len(kids)
		b.kidsEnd = base
		for _, k := range kids {
			kb := &branch{s: k, parent: b, spawnedAfter: true, us: &user{index: b.us.index}}
			out = tr.begin(kb, end.Add(r.thinkWallNS(k.ParentOffsetNS)), out)
		}
		return out, false
	}
	return tr.advance(b, base, thinkNext, out)
}

// advance moves b on from base, the end of its last turn (or of the last
// of the sub-agents it waited for): its next turn is due wait later, or,
// without one, b ends.
func (tr *treeRun) advance(b *branch, base time.Time, wait time.Duration, out []step) ([]step, bool) {
	if b.next < len(b.s.Turns) {
		t := b.s.Turns[b.next]
		b.next++
		return append(out, step{b: b, t: t, due: base.Add(wait)}), false
	}
	b.turnsEnd = base
	return tr.maybeEnd(b, out)
}

// maybeEnd ends b once its turns and every sub-agent beside them have
// ended, and moves its parent on.
func (tr *treeRun) maybeEnd(b *branch, out []step) ([]step, bool) {
	if b.next < len(b.s.Turns) || b.waiting > 0 || b.beside > 0 || b.done || b.turnsEnd.IsZero() {
		return out, false
	}
	b.done = true
	end := b.turnsEnd
	if b.besideEnd.After(end) {
		end = b.besideEnd
	}
	p := b.parent
	if p == nil {
		tr.end = end
		return out, true
	}
	if !b.spawnedAfter {
		p.beside--
		if end.After(p.besideEnd) {
			p.besideEnd = end
		}
		return tr.maybeEnd(p, out)
	}
	p.waiting--
	if end.After(p.kidsEnd) {
		p.kidsEnd = end
	}
	if p.waiting > 0 {
		return out, false
	}
	var wait time.Duration
	if p.next < len(p.s.Turns) {
		t := p.s.Turns[p.next]
		wait = tr.r.thinkWallNS(gapAfterSubAgents(t, tr.r.forest.after[p.s.Turns[p.next-1]]))
	}
	return tr.advance(p, p.kidsEnd, wait, out)
}

// thinkWallNS returns the wall wait of a recorded think-like span of ns
// world nanoseconds, scaled and capped as think times are.
func (r *runner) thinkWallNS(ns int64) time.Duration {
	th := int64(float64(max(ns, 0)) * r.cfg.ThinkScale)
	if r.cfg.ThinkCap > 0 && th > int64(r.cfg.ThinkCap) {
		th = int64(r.cfg.ThinkCap)
	}
	return r.clock.Wall(th)
}
