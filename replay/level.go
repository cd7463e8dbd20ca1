package replay

import (
	"context"
	"github.com/agentperf/agentperf/analyze"
	"github.com/agentperf/agentperf/schemas"
	"math"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// levelRun is the state of the level being run.
type levelRun struct {
	r           *runner
	index       int
	users       int
	start       time.Time
	windowStart time.Time
	windowEnd   time.Time
	ctx         context.Context
	cancel      context.CancelCauseFunc

	steady         time.Duration // the steady window asked for (world)
	steadyInflight atomic.Int64
	lag            lagRecorder // all requests
	inflight       inflightSet

	mu       sync.Mutex
	report   LevelReport
	rows     atomic.Int64
	stopping atomic.Bool
	// virtual is set for a level run in virtual time (no client to judge
	// by its CPU).
	virtual bool
}

// localUsers returns the global indexes of the users this shard runs out of
// n in total: those with index ≡ shard (mod count).
func (r *runner) localUsers(n int) []int {
	sh := r.plan.Shard
	var out []int
	for u := 0; u < n; u++ {
		if sh.Count <= 1 || u%sh.Count == sh.Index {
			out = append(out, u)
		}
	}
	return out
}

// runLevel runs one load level to its end and returns its report. Rows go
// to the writer; the caller flushes.
func (r *runner) runLevel(parent context.Context, index, users int, warmup, steady time.Duration) LevelReport {
	if r.virt != nil {
		return r.runLevelVirtual(parent, index, users, warmup, steady)
	}
	cfg := r.cfg
	if cfg.Mode == ModeTimestamps && steady <= 0 {
		span := r.timestampSpan()
		steady = max(time.Duration(span)-warmup, 0) + time.Millisecond
	}
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	start := r.clk.Now()
	lv := &levelRun{r: r, index: index, users: users, start: start, ctx: ctx, cancel: cancel,
		windowStart: start.Add(r.clock.Wall(int64(warmup))), steady: steady, lag: newLagRecorder(),
	}
	lv.windowEnd = lv.windowStart.Add(r.clock.Wall(int64(steady)))
	lv.report = LevelReport{Index: index, Users: users, SessionsByAgent: map[string]int{}}
	lv.report.acc = analyze.NewLevelAccumulator(cfg.TimeScale)
	r.enter(lv)
	cpu0 := r.cpu()

	watchDone := make(chan struct{})
	go func() { lv.watch(); close(watchDone) }()
	loadDone := make(chan struct{})
	shape := r.arrivals(warmup)
	go func() { shape.run(r, lv); close(loadDone) }()

	// End the level once the window is over and its requests are done.
	endCause := r.waitLevelEnd(lv)
	lv.stopping.Store(true)
	cancel(endCause)
	<-loadDone
	<-watchDone

	wall := r.clk.Now().Sub(start)
	cpu := r.cpu() - cpu0
	rep := lv.finishReport(wall, cpu, parent.Err() != nil)
	r.cur.Store(nil)
	return rep
}

// waitLevelEnd blocks until the level should end and returns the cause.
func (r *runner) waitLevelEnd(lv *levelRun) error {
	t := r.clk.NewTimer(lv.windowEnd.Sub(r.clk.Now()))
	defer t.Stop()
	select {
	case <-lv.ctx.Done():
		return context.Cause(lv.ctx)
	case <-t.C():
	}
	drainEnd := r.clk.Now().Add(r.clock.Wall(int64(r.cfg.DrainTimeout)))
	tick := r.clk.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for lv.steadyInflight.Load() > 0 && r.clk.Now().Before(drainEnd) {
		select {
		case <-lv.ctx.Done():
			return context.Cause(lv.ctx)
		case <-tick.C():
		}
	}
	return errLevelEnd
}

func (r *runner) timestampSpan() int64 {
	lo, hi := int64(math.MaxInt64), int64(0)
	for _, s := range r.plan.Sessions {
		for _, t := range s.Turns {
			if t.StartNS > 0 {
				lo = min(lo, t.StartNS)
				hi = max(hi, t.StartNS)
			}
		}
	}
	if hi == 0 {
		return 0
	}
	return hi - lo
}

// sleepUntil waits for wall time t; false when the level ended first.
func (lv *levelRun) sleepUntil(t time.Time, timer *Timer) bool {
	d := t.Sub(lv.r.clk.Now())
	if d <= 0 {
		return lv.ctx.Err() == nil
	}
	if *timer == nil {
		*timer = lv.r.clk.NewTimer(d)
	} else {
		(*timer).Reset(d)
	}
	select {
	case <-lv.ctx.Done():
		(*timer).Stop()
		return false
	case <-(*timer).C():
		return true
	}
}

func (lv *levelRun) sessionDone(s *Session) {
	lv.mu.Lock()
	lv.report.CompletedSessions++
	lv.report.SessionsByAgent[s.Agent]++
	lv.mu.Unlock()
}

// hold counts a request due at wall time t as in flight for the steady
// window, from before its send until release is called, so the level does
// not end between the window's last sends and their responses.
func (lv *levelRun) hold(t time.Time) (release func()) {
	if lv.phase(t) != schemas.PhaseSteady {
		return func() {}
	}
	lv.steadyInflight.Add(1)
	return func() { lv.steadyInflight.Add(-1) }
}

// phase returns the phase of a request due at wall time t.
func (lv *levelRun) phase(t time.Time) string {
	switch {
	case t.Before(lv.windowStart):
		return schemas.PhaseWarmup
	case t.Before(lv.windowEnd):
		return schemas.PhaseSteady
	}
	return schemas.PhaseDrain
}

// account adds a finished request to the level report and samples.
func (lv *levelRun) account(res *schemas.Result, failed bool, outTok int64, steady bool) {
	lv.mu.Lock()
	defer lv.mu.Unlock()
	lv.report.Requests++
	lv.report.OutputTokens += outTok
	if failed {
		lv.report.Errors++
	}
	lv.report.acc.Add(res)
	if !steady {
		return
	}
	lv.report.Steady++
	if failed {
		lv.report.SteadyErrors++
	}
}

func (r *runner) checkTimeScale(h string) {
	v, err := strconv.ParseFloat(h, 64)
	if err != nil || math.Abs(v-r.cfg.TimeScale) > 1e-9*math.Max(1, v) {
		r.timeScaleMu.Do(func() {
			r.warn("the target runs at time scale %s but replay was told %g: replay with time scale %s, or the figures are wrong", h, r.cfg.TimeScale, h)
		})
	}
}

// finishReport completes the level report: lag, CPU, validity. The level's
// client is judged by analyze's rule over the steady window's rows, the
// same rows and the same rule analyze applies to the results file.
func (lv *levelRun) finishReport(wall, cpu time.Duration, interrupted bool) LevelReport {
	lv.mu.Lock()
	rep := lv.report
	lv.mu.Unlock()
	rep.Interrupted = interrupted
	rep.Wall, rep.CPU = wall, cpu
	cores := runtime.GOMAXPROCS(0)
	if wall > 0 {
		rep.CPUUtil = float64(cpu) / (float64(wall) * float64(cores))
	}
	if lv.virtual {
		// The loop's CPU is the simulation's, not a client's: the
		// client rule has no CPU to judge.
		rep.CPUUtil = -1
	}
	rep.stats = rep.acc.Stats(analyze.Validity{}, lv.steady)
	rep.Client = rep.stats.JudgeClient(analyze.Validity{}, rep.CPUUtil, cores)
	// Raw lag figures: the steady window's (the whole level's when it had
	// no steady send) and the whole level's p99 (ramp-up, connection
	// set-up) beside them.
	rep.AllLagP99 = lv.lag.percentile(99)
	rep.LagP50, rep.LagP99 = lv.lag.percentile(50), rep.AllLagP99
	if rep.Client.Sends > 0 {
		rep.LagP50, rep.LagP99 = rep.Client.LagP50, rep.Client.LagP99
	}
	rep.Valid = rep.Client.OK
	rep.Invalid = rep.Client.Reasons
	for _, why := range rep.Invalid {
		lv.r.warn("level %d (%d users) is invalid: %s", rep.Index, rep.Users, why)
	}
	return rep
}

// inflightSet tracks requests in flight for the stall/timeout watchdog,
// in shards to keep lock contention low.
type inflightSet struct {
	shards [64]struct {
		mu sync.Mutex
		m  map[*Exchange]struct{}
	}
}

func (s *inflightSet) add(ex *Exchange, user int) int {
	i := user & 63
	sh := &s.shards[i]
	sh.mu.Lock()
	if sh.m == nil {
		sh.m = map[*Exchange]struct{}{}
	}
	sh.m[ex] = struct{}{}
	sh.mu.Unlock()
	return i
}

func (s *inflightSet) remove(i int, ex *Exchange) {
	sh := &s.shards[i]
	sh.mu.Lock()
	delete(sh.m, ex)
	sh.mu.Unlock()
}

// watch cancels requests past the request timeout or stalled past the
// stall timeout, until the level ends.
func (lv *levelRun) watch() {
	r := lv.r
	timeout := r.clock.Wall(int64(r.cfg.RequestTimeout))
	stall := r.clock.Wall(int64(r.cfg.StallTimeout))
	every := min(timeout, stall) / 4
	every = max(min(every, time.Second), 2*time.Millisecond)
	tick := r.clk.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-lv.ctx.Done():
			return
		case <-tick.C():
		}
		now := r.clk.Now()
		for i := range lv.inflight.shards {
			sh := &lv.inflight.shards[i]
			sh.mu.Lock()
			for ex := range sh.m {
				age := now.Sub(ex.Sent)
				switch {
				case age > timeout:
					ex.Cancel(errTimedOut)
				case age-time.Duration(ex.lastRead.Load()) > stall:
					ex.Cancel(errStalled)
				}
			}
			sh.mu.Unlock()
		}
	}
}

// enter makes lv the current level for the progress line and the metrics.
func (r *runner) enter(lv *levelRun) {
	r.cur.Store(lv)
	r.level.Store(int64(lv.index))
	r.levelUsers.Store(int64(lv.users))
	if m := r.cfg.Metrics; m != nil {
		m.level.Set(float64(lv.index))
		m.users.Set(float64(lv.users))
	}
}
