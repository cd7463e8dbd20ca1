package replay

import (
	"context"
	"fmt"
	"github.com/agentperf/agentperf/analyze"
	"github.com/agentperf/agentperf/power"
	"github.com/agentperf/agentperf/schemas"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

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
	// PrefixCache compares the target's prefix-cache hit rate with the
	// trace set's under production sharing (nil when the steady window
	// had no success).
	PrefixCache *schemas.CacheExpectation

	// SteadyWindow is the steady-state window the level ran (world): the
	// one asked for, or longer when a virtual-time level extended it
	// (Extended, why in ExtendedWhy) to meet AgentPerf's trajectory
	// minimums; ExtendCapped is set when it reached Config.MaxSteady
	// without meeting them. Zero for wall-clock levels.
	SteadyWindow time.Duration
	Extended     time.Duration
	ExtendedWhy  string
	ExtendCapped bool

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
	// Context is what was cut to fit the target's context (nil when no
	// context length was known); Power the power sampled (nil without
	// sources). Both are in the results metadata too.
	Context *schemas.ContextMeta
	Power   *schemas.PowerMeta
	// Engine is the dialect spoken (RunMeta.Engine), EngineVersion the
	// version the target reported ("" when none), Probe the probe's
	// results (nil when none ran).
	Engine, EngineVersion string
	Probe                 []schemas.ProbeResult
}

// runner is one Run.
type runner struct {
	cfg     Config
	plan    *Plan
	clock   *worldClock
	clk     Clock
	cpu     func() time.Duration
	builder *builder
	sender  Sender
	log     *slog.Logger
	out     *writer
	sink    Sink
	meta    *schemas.RunMeta // written by the sink; changed only by the run goroutine

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
	// power samples the power sources (power.go); powerDone is set once
	// it was stopped and saved.
	power     *power.Sampler
	powerDone bool

	// forest is the plan's sessions as sub-agent trees (tree.go).
	forest *forest
	// virt is the simulated target of a virtual-time run (nil otherwise).
	virt *virtualTarget
}

// Run replays cfg.Plan against cfg.Target, writing one row per request to
// sink (Flush at the end of each level) and the run metadata. It returns
// when the run ends or ctx is cancelled; after a cancel the rows so far are
// written and Report.Interrupted is set, with a nil error. The caller
// closes the sink (for a ResultsWriter: Close writes the metadata).
func Run(ctx context.Context, cfg Config, sink Sink) (*Report, error) {
	cfg, err := prepareTarget(ctx, cfg)
	if err != nil {
		return nil, err
	}
	r, err := newRunner(cfg, sink)
	if err != nil {
		return nil, err
	}
	return r.run(ctx)
}

func newRunner(cfg Config, sink Sink) (*runner, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	b, err := newBuilder(cfg)
	if err != nil {
		return nil, err
	}
	snd := cfg.Sender
	if snd == nil && cfg.Sim == nil {
		if snd, err = newSender(cfg); err != nil {
			return nil, err
		}
	}
	r := &runner{cfg: cfg, plan: cfg.Plan, builder: b, log: cfg.Logger, clk: cfg.Clock, cpu: cfg.ProcessCPU,
		sink: sink, sender: snd, forest: newForest(cfg.Plan)}
	if cfg.Sim != nil {
		r.virt = newVirtualTarget(cfg.Sim)
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
	r.sink.SetRunMeta(r.meta)
	if r.virt != nil { // one goroutine sends every row
		r.out = startSyncWriter(r.sink)
	} else {
		r.out = startWriter(r.sink)
	}
	defer r.out.close() // no-op after finish

	if !cfg.StartAt.IsZero() {
		if d := cfg.StartAt.Sub(r.clk.Now()); d > 0 {
			r.log.Info("waiting for start barrier", "start_at", cfg.StartAt.Format(time.RFC3339Nano), "in", d.Round(time.Millisecond))
			t := r.clk.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return r.finish(&Report{Interrupted: true})
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
	r.startPower(ctx)
	defer r.finishTarget(&Report{}) // no-op after finish

	stopProgress := r.startProgress(ctx)
	defer stopProgress()

	rep := &Report{}
	var err error
	if cfg.Search != nil {
		rep.Search, err = r.search(ctx, rep)
	} else {
		users := cfg.Users
		if cfg.Mode != ModeClosed {
			users = 0
		}
		lr := r.runLevel(ctx, 0, users, cfg.Warmup, cfg.Steady)
		if ferr := r.out.flush(); ferr != nil {
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
	return r.finish(rep)
}

func (r *runner) finish(rep *Report) (*Report, error) {
	if err := r.out.close(); err != nil {
		return rep, fmt.Errorf("writing results: %w", err)
	}
	r.clockMeta()
	r.finishTarget(rep)
	r.warnMu.Lock()
	rep.Warnings = slices.Clone(r.warnings)
	r.warnMu.Unlock()
	r.meta.Interrupted = rep.Interrupted
	r.meta.Warnings = rep.Warnings
	return rep, nil
}
