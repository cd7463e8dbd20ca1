package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentperf/agentperf/analyze"
	"github.com/agentperf/agentperf/schemas"
)

// Mode is how load is generated.
type Mode string

// Modes.
const (
	// ModeClosed runs Users closed-loop users (the AgentPerf way).
	ModeClosed Mode = "closed"
	// ModePoisson starts sessions as a Poisson process of rate
	// SessionsPerSecond; each runs its turns as a closed loop.
	ModePoisson Mode = "poisson"
	// ModeTimestamps sends every turn at its recorded arrival time.
	ModeTimestamps Mode = "timestamps"
)

// Config configures a replay run. Durations named "world" are in world
// time (see Clock); the others are wall time.
type Config struct {
	// Plan is what to send.
	Plan *Plan
	// Target is the base URL of the endpoint (http://host:port or with /v1).
	Target string
	// API is the API to send with; "" or "auto" sends each turn with its
	// recorded API, translating nothing.
	API string
	// Shaping changes every body (model, output length).
	Shaping Shaping
	// CacheSalt, when set, is prepended to each request's first prompt
	// piece (see SaltText) to keep prefix caches of other runs out.
	CacheSalt string
	// ThinkScale multiplies recorded think times (0 means 1); ThinkCap caps
	// them after scaling (world; 0 = no cap).
	ThinkScale float64
	ThinkCap   time.Duration
	// ErrorBackoff is the least wait (world) after a failed request before
	// the user's next one, so a dead target is not hammered; 0 means 1s.
	ErrorBackoff time.Duration
	// TimeScale is K: the world runs K times faster than the wall clock.
	// Think times are waited as think/K; results are stored in world time.
	// 0 means 1.
	TimeScale float64

	// Mode selects the load generator; "" means ModeClosed.
	Mode Mode
	// Users is the number of closed-loop users summed over all shards.
	Users int
	// SessionsPerSecond is the Poisson arrival rate (world), summed over
	// shards.
	SessionsPerSecond float64
	// Warmup precedes the steady-state window Steady (both world). In
	// ModeTimestamps a zero Steady means "until the last recorded arrival".
	Warmup, Steady time.Duration
	// DrainTimeout bounds (world) how long a level waits after its window
	// for the window's requests to finish; 0 means 5 minutes.
	DrainTimeout time.Duration
	// RampUp spreads user start times (world) over this span; 0 starts
	// users over min(Warmup/2, 30s).
	RampUp time.Duration
	// Seed seeds Poisson arrivals.
	Seed uint64

	// Search, when set, runs the capacity search instead of one level.
	Search *SearchConfig

	// RequestTimeout and StallTimeout (world) cancel a request that runs
	// too long or receives no bytes for too long; 0 means 30 and 5 minutes.
	RequestTimeout, StallTimeout time.Duration
	// Transport sizes the HTTP client; MaxConns 0 means Users (or 1024).
	Transport TransportOptions
	// Headers are added to every request of that API (auth, version).
	Headers map[string]http.Header
	// SimClock asks the target for its simulated clock (the
	// X-Agentperf-Sim-Clock header of agentperf sim) and records the
	// response times of streams that carry it from that clock: sent + the
	// simulated offsets, unscaled. Responses without it are timed on the
	// wall clock. Client lag and the closed loop's schedule stay on the
	// wall clock either way.
	SimClock bool

	// RunID names the run in every row; shards of a run share it.
	RunID string
	// StartAt, when set, is a wall-clock barrier: the run waits for it.
	StartAt time.Time

	// Logger receives warnings and level summaries; nil discards.
	Logger *slog.Logger
	// Progress, when set, receives a live status line every
	// ProgressInterval (0 means 1s); ProgressTTY rewrites one line in place.
	Progress         io.Writer
	ProgressTTY      bool
	ProgressInterval time.Duration
	// Metrics, when set, is updated live (Prometheus).
	Metrics *Metrics
	// Meta is what the caller knows about the run for the results
	// metadata (target description, hardware, accelerators, agentperf
	// version, trace set…); replay fills in its configuration, levels and
	// outcome.
	Meta schemas.RunMeta
	// Clock is the wall clock of every send, schedule and timeout; nil
	// means SystemClock.
	Clock Clock
	// ProcessCPU returns the CPU time the client process has used, to
	// judge whether it is saturated; nil means the process's own usage
	// (getrusage; 0 where unsupported).
	ProcessCPU func() time.Duration
}

// LevelReport summarizes one load level.
type LevelReport struct {
	Index int
	// Users is the level's concurrency summed over shards (0 in open-loop
	// modes); LocalUsers the users this process ran.
	Users, LocalUsers int
	// Requests counts rows written; Errors those with an error; Steady and
	// SteadyErrors those in the steady-state window.
	Requests, Errors, Steady, SteadyErrors int64
	// OutputTokens sums reported (or counted) output tokens.
	OutputTokens int64
	// CompletedSessions counts session replays finished during the level,
	// per agent in SessionsByAgent.
	CompletedSessions int
	SessionsByAgent   map[string]int
	// LagP50 and LagP99 are client lag (actual − scheduled send, wall) of
	// the requests due in the steady window (of all requests when there are
	// none); AllLagP99 is over every request of the level.
	LagP50, LagP99, AllLagP99 time.Duration
	// CPU is the process CPU used over the level's wall time Wall;
	// CPUUtil = CPU ÷ (Wall × GOMAXPROCS).
	CPU, Wall time.Duration
	CPUUtil   float64
	// Client is the client rule's figures and judgement of the level
	// (analyze's LevelStats.JudgeClient over the steady window's rows).
	Client schemas.ClientHealth
	// Valid is false when the level's load was not what was asked (the
	// client fell behind or was saturated); Invalid says why.
	Valid   bool
	Invalid []string
	// Attempt counts re-measurements of these users in a search (0 for
	// the first window).
	Attempt int
	// Verdict is set when the level was judged (search).
	Verdict *analyze.Verdict
	// Interrupted is true when the run was stopped during the level.
	Interrupted bool

	acc   *analyze.LevelAccumulator // the level's rows, for judging
	stats *analyze.LevelStats       // acc's figures over the steady window
}

// Report is the outcome of Run.
type Report struct {
	Levels []LevelReport
	// Search is the capacity search outcome (nil without search).
	Search *SearchReport
	// Interrupted is true when ctx was cancelled before the run ended.
	Interrupted bool
	// Warnings collects run-level warnings (also in the results metadata).
	Warnings []string
}

// runner is one Run.
type runner struct {
	cfg     Config
	plan    *Plan
	clock   *worldClock
	clk     Clock
	cpu     func() time.Duration
	builder *builder
	sender  *sender
	log     *slog.Logger
	out     chan *schemas.Result
	closed  bool // out is closed
	rw      *schemas.ResultsWriter
	meta    *schemas.RunMeta // written by rw.Close; changed only by the run goroutine

	// live counters for progress and metrics
	active      atomic.Int64
	done        atomic.Int64
	errs        atomic.Int64
	outTok      atomic.Int64
	level       atomic.Int64
	levelUsers  atomic.Int64
	cur         atomic.Pointer[levelRun]
	warnMu      sync.Mutex
	warnings    []string
	timeScaleMu sync.Once
	// simTimed and wallTimed count the responses with output whose times
	// came from the target's simulated clock and from the wall clock.
	simTimed, wallTimed atomic.Int64
	// kernelTimed counts the wall-timed ones timed by kernel receive
	// timestamps.
	kernelTimed atomic.Int64
}

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
}

// Run replays cfg.Plan against cfg.Target, writing one row per request to
// rw (one row group per level) and the run metadata. It returns when the
// run ends or ctx is cancelled; after a cancel the rows so far are written
// and Report.Interrupted is set, with a nil error. The caller closes rw.
func Run(ctx context.Context, cfg Config, rw *schemas.ResultsWriter) (*Report, error) {
	r, err := newRunner(cfg, rw)
	if err != nil {
		return nil, err
	}
	return r.run(ctx)
}

func newRunner(cfg Config, rw *schemas.ResultsWriter) (*runner, error) {
	if cfg.Plan == nil {
		return nil, errors.New("replay: no plan")
	}
	if cfg.Mode == "" {
		cfg.Mode = ModeClosed
	}
	if cfg.TimeScale <= 0 {
		cfg.TimeScale = 1
	}
	if cfg.ThinkScale == 0 {
		cfg.ThinkScale = 1
	}
	if cfg.ThinkScale < 0 {
		return nil, fmt.Errorf("think scale %g < 0", cfg.ThinkScale)
	}
	if cfg.ErrorBackoff == 0 {
		cfg.ErrorBackoff = time.Second
	}
	if cfg.DrainTimeout == 0 {
		cfg.DrainTimeout = 5 * time.Minute
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 30 * time.Minute
	}
	if cfg.StallTimeout == 0 {
		cfg.StallTimeout = 5 * time.Minute
	}
	if cfg.ProgressInterval <= 0 {
		cfg.ProgressInterval = time.Second
	}
	if cfg.API == "auto" {
		cfg.API = ""
	}
	if cfg.RunID == "" {
		cfg.RunID = "run-" + strconv.FormatInt(time.Now().Unix(), 36)
	}
	switch cfg.Mode {
	case ModeClosed:
		if cfg.Search == nil && cfg.Users <= 0 {
			return nil, errors.New("closed-loop replay needs users > 0")
		}
		if cfg.Steady <= 0 && cfg.Search == nil {
			return nil, errors.New("closed-loop replay needs a duration > 0")
		}
	case ModePoisson:
		if cfg.SessionsPerSecond <= 0 {
			return nil, errors.New("poisson replay needs sessions per second > 0")
		}
		if cfg.Steady <= 0 {
			return nil, errors.New("poisson replay needs a duration > 0")
		}
	case ModeTimestamps:
	default:
		return nil, fmt.Errorf("unknown mode %q", cfg.Mode)
	}
	if cfg.Search != nil && cfg.Mode != ModeClosed {
		return nil, errors.New("the capacity search runs closed-loop users: drop --sessions-per-second / --timestamps")
	}
	if cfg.Search != nil && cfg.Plan.Shard.Count > 1 {
		return nil, errors.New("the capacity search needs one process (each level's verdict decides the next): run --search unsharded, or run fixed levels as shards")
	}
	b, err := newBuilder(cfg.Plan, cfg.Shaping, cfg.API)
	if err != nil {
		return nil, err
	}
	urls := map[string]string{}
	for api := range apiPaths {
		u, _ := EndpointURL(cfg.Target, api)
		urls[api] = u
	}
	if cfg.Transport.MaxConns == 0 {
		cfg.Transport.MaxConns = cfg.Users
		if cfg.Search != nil {
			cfg.Transport.MaxConns = cfg.Search.MaxUsers
		}
	}
	hc := &http.Client{Transport: NewTransport(cfg.Transport)}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.ProcessCPU == nil {
		cfg.ProcessCPU = processCPU
	}
	r := &runner{cfg: cfg, plan: cfg.Plan, builder: b, log: cfg.Logger, clk: cfg.Clock, cpu: cfg.ProcessCPU, rw: rw,
		sender: &sender{client: hc, clk: cfg.Clock, headers: cfg.Headers, urls: urls, maxChunks: 1 << 16, simClock: cfg.SimClock}}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

func (r *runner) warn(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.warnMu.Lock()
	r.warnings = append(r.warnings, msg)
	r.warnMu.Unlock()
	r.log.Warn(msg)
}

func (r *runner) run(ctx context.Context) (*Report, error) {
	cfg := r.cfg
	r.meta = r.runMeta()
	r.rw.SetRunMeta(r.meta)
	// The writer goroutine owns rw.
	r.out = make(chan *schemas.Result, 16384)
	werr := make(chan error, 1)
	flushReq := make(chan chan error)
	go r.writeLoop(r.out, werr, flushReq)
	defer func() {
		if !r.closed {
			close(r.out)
			<-werr
		}
	}()

	if !cfg.StartAt.IsZero() {
		if d := cfg.StartAt.Sub(r.clk.Now()); d > 0 {
			r.log.Info("waiting for start barrier", "start_at", cfg.StartAt.Format(time.RFC3339Nano), "in", d.Round(time.Millisecond))
			t := r.clk.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return r.finish(&Report{Interrupted: true}, flushReq, werr)
			case <-t.C():
			}
		} else {
			r.warn("start barrier %s had passed %s before this shard was ready", cfg.StartAt.Format(time.RFC3339), (-d).Round(time.Millisecond))
		}
	}
	origin := r.clk.Now()
	if !cfg.StartAt.IsZero() && cfg.StartAt.Before(origin) && origin.Sub(cfg.StartAt) < time.Second {
		origin = cfg.StartAt
	}
	r.clock = newWorldClock(origin, cfg.TimeScale)

	stopProgress := r.startProgress(ctx)
	defer stopProgress()

	rep := &Report{}
	var err error
	if cfg.Search != nil {
		rep.Search, err = r.search(ctx, rep, flushReq)
	} else {
		users := cfg.Users
		if cfg.Mode != ModeClosed {
			users = 0
		}
		lr := r.runLevel(ctx, 0, users, cfg.Warmup, cfg.Steady)
		if ferr := r.flush(flushReq); ferr != nil {
			err = ferr
		}
		r.levelMeta(&lr)
		rep.Levels = append(rep.Levels, lr)
	}
	if ctx.Err() != nil {
		rep.Interrupted = true
	}
	if err != nil {
		return rep, err
	}
	return r.finish(rep, flushReq, werr)
}

// flush asks the writer to write buffered rows and end the row group.
func (r *runner) flush(req chan chan error) error {
	done := make(chan error, 1)
	req <- done
	return <-done
}

func (r *runner) finish(rep *Report, flushReq chan chan error, werr chan error) (*Report, error) {
	close(r.out)
	r.closed = true
	if err := <-werr; err != nil {
		return rep, fmt.Errorf("writing results: %w", err)
	}
	r.clockMeta()
	r.warnMu.Lock()
	rep.Warnings = slices.Clone(r.warnings)
	r.warnMu.Unlock()
	r.meta.Interrupted = rep.Interrupted
	r.meta.Warnings = rep.Warnings
	return rep, nil
}

func (r *runner) writeLoop(out chan *schemas.Result, werr chan error, flushReq chan chan error) {
	var err error
	for {
		select {
		case res, ok := <-out:
			if !ok {
				if err == nil {
					err = r.rw.Flush()
				}
				werr <- err
				return
			}
			if err == nil {
				err = r.rw.Write(res)
			}
		case done := <-flushReq:
			// Drain what is queued, then end the row group.
			for n := len(out); n > 0 && err == nil; n-- {
				err = r.rw.Write(<-out)
			}
			if err == nil {
				err = r.rw.Flush()
			}
			done <- err
		}
	}
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
	r.cur.Store(lv)
	r.level.Store(int64(index))
	r.levelUsers.Store(int64(users))
	if cfg.Metrics != nil {
		cfg.Metrics.level.Set(float64(index))
		cfg.Metrics.users.Set(float64(users))
	}
	cpu0 := r.cpu()

	var wg sync.WaitGroup
	watchDone := make(chan struct{})
	go func() { lv.watch(); close(watchDone) }()

	switch cfg.Mode {
	case ModeClosed:
		local := r.localUsers(users)
		lv.report.LocalUsers = len(local)
		ramp := cfg.RampUp
		if ramp == 0 {
			ramp = min(warmup/2, 30*time.Second)
		}
		for k, u := range local {
			delay := time.Duration(0)
			if len(local) > 1 {
				delay = r.clock.Wall(int64(ramp) * int64(k) / int64(len(local)))
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.closedUser(lv, u, k, len(local), start.Add(delay))
			}()
		}
	case ModePoisson:
		wg.Add(1)
		go func() { defer wg.Done(); r.poisson(lv, &wg) }()
	case ModeTimestamps:
		wg.Add(1)
		go func() { defer wg.Done(); r.timestamps(lv, &wg) }()
	}

	// End the level once the window is over and its requests are done.
	endCause := r.waitLevelEnd(lv)
	lv.stopping.Store(true)
	cancel(endCause)
	wg.Wait()
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

// thinkWall returns the wall wait before turn t: its recorded think time,
// scaled and capped.
func (r *runner) thinkWall(t *Turn) time.Duration {
	th := int64(float64(t.ThinkNS) * r.cfg.ThinkScale)
	if r.cfg.ThinkCap > 0 && th > int64(r.cfg.ThinkCap) {
		th = int64(r.cfg.ThinkCap)
	}
	return r.clock.Wall(th)
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
	salt := SaltText(r.cfg.CacheSalt, us.index, pass)
	for i, t := range s.Turns {
		if i > 0 {
			*due = due.Add(r.thinkWall(t))
		}
		release := lv.hold(*due)
		if !lv.sleepUntil(*due, timer) {
			release()
			return false
		}
		end, failed := r.do(lv, us, t, salt, *due)
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

func (lv *levelRun) sessionDone(s *Session) {
	lv.mu.Lock()
	lv.report.CompletedSessions++
	lv.report.SessionsByAgent[s.Agent]++
	lv.mu.Unlock()
}

// poisson starts sessions at exponential intervals until the level ends.
func (r *runner) poisson(lv *levelRun, wg *sync.WaitGroup) {
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

// timestamps sends every turn at its recorded arrival time (relative to
// the earliest), each in its own goroutine, until the level ends.
func (r *runner) timestamps(lv *levelRun, wg *sync.WaitGroup) {
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
		r.warn("--timestamps: no turn has a recorded start time; nothing sent")
		return
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].t.StartNS < all[j].t.StartNS })
	t0 := all[0].t.StartNS
	salt := SaltText(r.cfg.CacheSalt, 0, 0)
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
			r.do(lv, us, a.t, salt, due)
		}()
	}
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

// do sends turn t for user us, scheduled at wall time due, writes its row
// and returns when the response ended and whether it failed.
func (r *runner) do(lv *levelRun, us *user, t *Turn, salt string, due time.Time) (time.Time, bool) {
	body := make([]byte, 0, us.last+us.last/8+1024)
	body, api, parts, berr := r.builder.build(body, t, salt, &us.salt, us.parts)
	us.parts = parts
	us.last = len(body)
	ex := &exchange{}
	ctx, cancel := context.WithCancelCause(lv.ctx)
	ex.cancel = cancel
	ex.sent = r.clk.Now()
	sent := ex.sent
	// The phase follows the schedule, so a lagging client does not move
	// requests from one phase into the next.
	phase := lv.phase(due)
	steady := phase == schemas.PhaseSteady
	var rep reply
	if berr != nil {
		rep = reply{first: -1, err: "building request: " + berr.Error(), st: newStreamState(api)}
	} else {
		slot := lv.inflight.add(ex, us.index)
		rep = r.sender.send(ctx, ex, api, body, int(t.ExpectedOutput))
		lv.inflight.remove(slot, ex)
	}
	if !rep.draining {
		cancel(nil)
	}
	if w := rep.wrote; w > 0 {
		// Sent when the transport began writing it on an idle
		// connection: waiting for the transport's write goroutine is
		// the client's delay, so it counts as lag, not TTFT.
		sent = sent.Add(w)
		rep.rebase(w)
	}
	end := sent.Add(rep.end)
	lag := sent.Sub(due)
	lv.lag.record(lag)
	if rep.timeScale != "" {
		r.checkTimeScale(rep.timeScale)
	}

	c := r.clock
	sentW := c.World(sent)
	// Response times in world ns after sent: wall durations × K, or the
	// target's simulated offsets as they are.
	world, endW := c.WorldDur, c.WorldDur(rep.end)
	if rep.sim {
		world = simOffset
		endW = int64(rep.simEnd)
		if rep.err != "" {
			// A cut stream ended when the client saw it end.
			endW = max(endW, c.WorldDur(rep.end))
		}
		r.simTimed.Add(1)
	} else if rep.first >= 0 {
		r.wallTimed.Add(1)
		if rep.kernel {
			r.kernelTimed.Add(1)
		}
	}
	res := &schemas.Result{
		RunID: r.cfg.RunID, Shard: int32(max(r.plan.Shard.Index, 0)), Level: int32(lv.index), Users: int32(lv.users),
		Phase: phase, User: int32(us.index), SessionID: t.Session.ID, Turn: t.Index, API: api,
		ScheduledNS: c.World(due), SentNS: sentW, EndNS: sentW + endW,
		InputTokens: clampTok(rep.st.in), CachedTokens: clampTok(rep.st.cached),
		OutputTokens: clampTok(rep.st.out), ReasoningTokens: clampTok(rep.st.reasoning),
		ExpectedInputTokens: t.ExpectedInput, ExpectedOutputTokens: t.ExpectedOutput,
		Status: int32(rep.status), Error: rep.err,
	}
	if rep.first >= 0 {
		res.FirstTokenNS = sentW + world(rep.first)
	}
	if len(rep.chunks) > 0 {
		res.ChunkOffsetsUS = make([]int32, len(rep.chunks))
		for i, d := range rep.chunks {
			us := world(d) / 1000
			res.ChunkOffsetsUS[i] = int32(min(us, math.MaxInt32))
		}
	}
	failed := rep.err != ""
	outTok := rep.st.out
	if outTok < 0 {
		outTok = int64(len(rep.chunks))
	}
	r.done.Add(1)
	r.outTok.Add(outTok)
	if failed {
		r.errs.Add(1)
	}
	if m := r.cfg.Metrics; m != nil {
		m.observe(res, rep, failed, outTok)
	}
	lv.account(res, rep, failed, outTok, steady)
	r.out <- res
	return end, failed
}

// simOffset is a simulated offset in world ns: simulated time already is
// world time.
func simOffset(d time.Duration) int64 { return int64(d) }

func clampTok(v int64) int32 {
	if v < 0 {
		return -1
	}
	return int32(min(v, math.MaxInt32))
}

// account adds a finished request to the level report and samples.
func (lv *levelRun) account(res *schemas.Result, rep reply, failed bool, outTok int64, steady bool) {
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
			r.warn("the target runs at time scale %s but replay was told %g: pass --time-scale %s, or the figures are wrong", h, r.cfg.TimeScale, h)
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
		m  map[*exchange]struct{}
	}
}

func (s *inflightSet) add(ex *exchange, user int) int {
	i := user & 63
	sh := &s.shards[i]
	sh.mu.Lock()
	if sh.m == nil {
		sh.m = map[*exchange]struct{}{}
	}
	sh.m[ex] = struct{}{}
	sh.mu.Unlock()
	return i
}

func (s *inflightSet) remove(i int, ex *exchange) {
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
				age := now.Sub(ex.sent)
				switch {
				case age > timeout:
					ex.cancel(errTimedOut)
				case age-time.Duration(ex.lastRead.Load()) > stall:
					ex.cancel(errStalled)
				}
			}
			sh.mu.Unlock()
		}
	}
}
