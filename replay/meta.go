package replay

import (
	"fmt"

	"github.com/agentperf/agentperf/analyze"
	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/target"
)

// runMeta returns the run's configuration as results metadata: cfg.Meta
// (what the caller knows about the target) completed with replay's own.
func (r *runner) runMeta() *schemas.RunMeta {
	c := r.cfg
	m := c.Meta // a copy: the caller's value is not changed
	// Warnings found before the run (preparing the target) are the run's
	// first.
	for _, w := range m.Warnings {
		r.warn("%s", w)
	}
	m.Levels, m.Warnings, m.Search = nil, nil, nil
	m.RunID = c.RunID
	m.Mode = string(c.Mode)
	if m.Target == "" {
		m.Target = c.Target
	}
	m.API = c.API
	if m.API == "" {
		m.API = "auto"
	}
	if c.Shaping.Model != "" {
		m.Model = c.Shaping.Model
	} else if m.Model == "" && c.Plan != nil {
		// Sent as recorded: the served model is the trace's, when it
		// names one.
		m.Model = c.Plan.OnlyModel()
	}
	m.OutputPolicy = string(orDefault(c.Shaping.Output, OutputExact))
	m.TimeScale, m.ThinkScale, m.ThinkCap = c.TimeScale, c.ThinkScale, c.ThinkCap
	m.CacheSalt = c.CacheSalt
	m.ConversationMarker = string(c.ConversationMarker)
	m.ConversationMarkerRun = c.RunMarkers && c.ConversationMarker == MarkerOn
	m.KeepRequestMetadata = c.KeepRequestMetadata
	m.Users = c.Users
	m.Warmup, m.Steady = c.Warmup, c.Steady
	m.DrainTimeout, m.RequestTimeout, m.StallTimeout = c.DrainTimeout, c.RequestTimeout, c.StallTimeout
	if c.Mode == ModePoisson {
		m.SessionsPerSecond, m.Seed = c.SessionsPerSecond, c.Seed
	}
	m.Shard, m.ShardCount = max(c.Plan.Shard.Index, 0), max(c.Plan.Shard.Count, 1)
	if !c.StartAt.IsZero() {
		m.StartAt = c.StartAt.UTC()
	}
	m.PlanSessions, m.PlanTurns = len(c.Plan.Sessions), int64(c.Plan.Turns)
	m.Client = target.ClientHost()
	m.Started = r.clk.Now().UTC()
	if c.Mode == ModeClosed {
		steady, warm := c.Steady, c.Warmup
		if c.Search != nil {
			if c.Search.Steady > 0 {
				steady = c.Search.Steady
			}
			if c.Search.Warmup > 0 {
				warm = c.Search.Warmup
			}
		}
		if steady < analyze.DefaultMinWindow {
			m.BelowAABar = fmt.Sprintf("steady-state window %s (warm-up %s) is shorter than AgentPerf's %s", steady, warm, analyze.DefaultMinWindow)
		}
	}
	return &m
}

func orDefault[T comparable](v, d T) T {
	var zero T
	if v == zero {
		return d
	}
	return v
}

// levelMeta records one level's report in the results metadata.
func (r *runner) levelMeta(lr *LevelReport) {
	l := schemas.LevelMeta{
		Index: lr.Index, Users: lr.Users, LocalUsers: lr.LocalUsers,
		Requests: lr.Requests, Errors: lr.Errors, SteadyRequests: lr.Steady, SteadyErrors: lr.SteadyErrors,
		OutputTokens: lr.OutputTokens, CompletedSessions: lr.CompletedSessions, SessionsByAgent: lr.SessionsByAgent,
		Wall: lr.Wall, CPU: lr.CPU, CPUUtil: lr.CPUUtil, Attempt: lr.Attempt,
		Valid: lr.Valid, Interrupted: lr.Interrupted,
	}
	c := lr.Client
	l.Client = &c
	if lr.SteadyWindow > 0 && lr.SteadyWindow != r.meta.Steady {
		l.SteadyWindow = lr.SteadyWindow
	}
	l.SteadyExtended, l.SteadyExtendedReason, l.SteadyExtendCapped = lr.Extended, lr.ExtendedWhy, lr.ExtendCapped
	lr.PrefixCache = r.builder.prefix.level(lr.Index)
	l.PrefixCache = lr.PrefixCache
	if lr.SessionsByAgent == nil {
		l.SessionsByAgent = map[string]int{}
	}
	r.meta.Levels = append(r.meta.Levels, l)
}

// clockMeta records which clock timed the responses: response_clock is
// "sim" when every response with output was timed by the target's
// simulated clock, "wall" when none was, "mixed" otherwise, with the counts
// beside it when the sim clock was asked for.
func (r *runner) clockMeta() {
	m := r.meta
	if r.virt != nil {
		// Every response was timed on the virtual clock the whole run
		// kept: there was no wall clock and no receive to time.
		m.ResponseClock = "virtual"
		return
	}
	// receive_timestamps says how wall-timed output was timed: "kernel"
	// (the kernel's receive time of the bytes), "read" (when the client
	// read them), or "mixed", with the count of kernel-timed responses.
	kernelN, wallN := r.kernelTimed.Load(), r.wallTimed.Load()
	switch {
	case kernelN > 0 && kernelN == wallN:
		m.ReceiveTimestamps = "kernel"
	case kernelN == 0:
		m.ReceiveTimestamps = "read"
	default:
		m.ReceiveTimestamps = "mixed"
	}
	m.ReceiveTimestampsKernelRequests = kernelN
	if !r.cfg.SimClock {
		m.ResponseClock = "wall"
		return
	}
	simN := r.simTimed.Load()
	m.ResponseClockSimRequests, m.ResponseClockWallRequests = simN, wallN
	switch {
	case wallN == 0 && simN > 0:
		m.ResponseClock = "sim"
	case simN == 0:
		m.ResponseClock = "wall"
		if wallN > 0 {
			r.warn("the target sent no simulated clock (X-Agentperf-Sim-Clock): %d responses timed by the wall clock", wallN)
		}
	default:
		m.ResponseClock = "mixed"
		r.warn("%d of %d responses carried no simulated clock and were timed by the wall clock", wallN, simN+wallN)
	}
}
