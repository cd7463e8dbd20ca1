package replay

import (
	"github.com/agentperf/agentperf/schemas"
	"math/rand/v2"
	"sort"
	"sync"
	"time"
)

// thinkWall returns the wall wait before turn t: its recorded think time,
// scaled and capped.
func (r *runner) thinkWall(t *Turn) time.Duration {
	th := int64(float64(t.ThinkNS) * r.cfg.ThinkScale)
	if r.cfg.ThinkCap > 0 && th > int64(r.cfg.ThinkCap) {
		th = int64(r.cfg.ThinkCap)
	}
	return r.clock.Wall(th)
}

// arrivals is a level's load shape: run starts the level's sends on the
// level's schedule and returns once every send it started has ended (the
// level's context ends them).
type arrivals interface {
	run(r *runner, lv *levelRun)
}

// arrivals returns the shape of the run's mode.
func (r *runner) arrivals(warmup time.Duration) arrivals {
	switch r.cfg.Mode {
	case ModePoisson:
		return poissonArrivals{}
	case ModeTimestamps:
		return timestampArrivals{}
	}
	ramp := r.cfg.RampUp
	if ramp == 0 {
		ramp = min(warmup/2, 30*time.Second)
	}
	return closedLoop{ramp: ramp}
}

// closedLoop runs the level's users (those of this shard) as closed loops,
// their starts spread over ramp (world).
type closedLoop struct{ ramp time.Duration }

func (c closedLoop) run(r *runner, lv *levelRun) {
	local := r.localUsers(lv.users)
	lv.mu.Lock()
	lv.report.LocalUsers = len(local)
	lv.mu.Unlock()
	var wg sync.WaitGroup
	for k, u := range local {
		delay := time.Duration(0)
		if len(local) > 1 {
			delay = r.clock.Wall(int64(c.ramp) * int64(k) / int64(len(local)))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.closedUser(lv, u, k, len(local), lv.start.Add(delay))
		}()
	}
	wg.Wait()
}

// user is one simulated user's scratch state.
type user struct {
	index int
	salt  saltCache
	parts []schemas.Part
	last  int // length of the last body, to size the next
}

// closedUser runs user u (k-th of n local users): sessions in order from
// its offset, turns in order, each sent when the previous response has
// ended plus the recorded think time.
func (r *runner) closedUser(lv *levelRun, u, k, n int, startAt time.Time) {
	us := &user{index: u}
	var timer Timer
	if !lv.sleepUntil(startAt, &timer) {
		return
	}
	r.active.Add(1)
	defer r.active.Add(-1)
	if m := r.cfg.Metrics; m != nil {
		m.active.Inc()
		defer m.active.Dec()
	}
	sessions := r.plan.Sessions
	off := r.plan.UserOffset(k, n)
	due := startAt
	for i := 0; ; i++ {
		s := sessions[(off+i)%len(sessions)]
		pass := i / len(sessions)
		if !r.runSession(lv, us, s, pass, &due, &timer) {
			return
		}
	}
}

// runSession sends a session's turns as a closed loop starting at *due;
// it reports false when the level ended.
func (r *runner) runSession(lv *levelRun, us *user, s *Session, pass int, due *time.Time, timer *Timer) bool {
	conv := r.builder.conversation(lv.index, us.index, pass)
	for i, t := range s.Turns {
		if i > 0 {
			*due = due.Add(r.thinkWall(t))
		}
		release := lv.hold(*due)
		if !lv.sleepUntil(*due, timer) {
			release()
			return false
		}
		end, failed := r.do(lv, us, t, conv, *due)
		release()
		if lv.ctx.Err() != nil {
			return false
		}
		*due = end
		if failed {
			if b := r.clock.Wall(int64(r.cfg.ErrorBackoff)); b > r.thinkWallNext(s, i) {
				*due = end.Add(b - r.thinkWallNext(s, i))
			}
		}
	}
	lv.sessionDone(s)
	return true
}

func (r *runner) thinkWallNext(s *Session, i int) time.Duration {
	if i+1 < len(s.Turns) {
		return r.thinkWall(s.Turns[i+1])
	}
	return 0
}

// poissonArrivals starts sessions at exponential intervals (rate
// SessionsPerSecond, world) until the level ends; each runs its turns as a
// closed loop.
type poissonArrivals struct{}

func (poissonArrivals) run(r *runner, lv *levelRun) {
	var wg sync.WaitGroup
	defer wg.Wait()
	sh := r.plan.Shard
	rate := r.cfg.SessionsPerSecond
	if sh.Count > 1 {
		rate /= float64(sh.Count)
	}
	rng := rand.New(rand.NewPCG(r.cfg.Seed, uint64(sh.Index)+1))
	var timer Timer
	next := lv.start
	for i := 0; ; i++ {
		gap := rng.ExpFloat64() / rate // world seconds
		next = next.Add(r.clock.Wall(int64(gap * 1e9)))
		if !lv.sleepUntil(next, &timer) {
			return
		}
		s := r.plan.Sessions[i%len(r.plan.Sessions)]
		pass := i / len(r.plan.Sessions)
		u := i*max(sh.Count, 1) + sh.Index
		due := next
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.active.Add(1)
			defer r.active.Add(-1)
			us := &user{index: u}
			var t Timer
			r.runSession(lv, us, s, pass, &due, &t)
		}()
	}
}

// timestampArrivals sends every turn at its recorded arrival time
// (relative to the earliest), each in its own goroutine, until the level
// ends.
type timestampArrivals struct{}

func (timestampArrivals) run(r *runner, lv *levelRun) {
	var wg sync.WaitGroup
	defer wg.Wait()
	type arrival struct {
		t    *Turn
		user int
	}
	var all []arrival
	for i, s := range r.plan.Sessions {
		for _, t := range s.Turns {
			if t.StartNS > 0 {
				all = append(all, arrival{t, i})
			}
		}
	}
	if len(all) == 0 {
		r.warn("timestamp replay: no turn of the trace set has a recorded start time; nothing was sent")
		return
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].t.StartNS < all[j].t.StartNS })
	t0 := all[0].t.StartNS
	var timer Timer
	for _, a := range all {
		due := lv.start.Add(r.clock.Wall(a.t.StartNS - t0))
		release := lv.hold(due)
		if !lv.sleepUntil(due, &timer) {
			release()
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer release()
			r.active.Add(1)
			defer r.active.Add(-1)
			us := &user{index: a.user}
			r.do(lv, us, a.t, r.builder.conversation(lv.index, a.user, 0), due)
		}()
	}
}
