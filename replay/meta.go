package replay

import (
	"fmt"
	"runtime"
	"strings"
	"time"
)

// setRunMeta records the run's configuration in the results metadata.
func (r *runner) setRunMeta() {
	c := r.cfg
	set := r.rw.SetMeta
	set("run_id", c.RunID)
	set("mode", string(c.Mode))
	set("target", c.Target)
	api := c.API
	if api == "" {
		api = "auto"
	}
	set("api", api)
	set("model", c.Shaping.Model)
	set("output_policy", string(orDefault(c.Shaping.Output, OutputExact)))
	set("time_scale", fmt.Sprint(c.TimeScale))
	set("think_scale", fmt.Sprint(c.ThinkScale))
	set("think_cap", c.ThinkCap.String())
	set("cache_salt", c.CacheSalt)
	set("users", fmt.Sprint(c.Users))
	set("warmup", c.Warmup.String())
	set("duration", c.Steady.String())
	set("steady_window", c.Steady.String())
	set("drain_timeout", c.DrainTimeout.String())
	set("request_timeout", c.RequestTimeout.String())
	set("stall_timeout", c.StallTimeout.String())
	if c.Mode == ModePoisson {
		set("sessions_per_second", fmt.Sprint(c.SessionsPerSecond))
		set("seed", fmt.Sprint(c.Seed))
	}
	set("shard", fmt.Sprint(max(c.Plan.Shard.Index, 0)))
	set("shard_count", fmt.Sprint(max(c.Plan.Shard.Count, 1)))
	if !c.StartAt.IsZero() {
		set("start_at", c.StartAt.UTC().Format(time.RFC3339Nano))
	}
	set("plan_sessions", fmt.Sprint(len(c.Plan.Sessions)))
	set("plan_turns", fmt.Sprint(c.Plan.Turns))
	set("client_gomaxprocs", fmt.Sprint(runtime.GOMAXPROCS(0)))
	set("client_num_cpu", fmt.Sprint(runtime.NumCPU()))
	set("client_go_version", runtime.Version())
	set("max_client_lag_p99", MaxClientLag.String())
	set("started", time.Now().UTC().Format(time.RFC3339Nano))
	for k, v := range c.Meta {
		set(k, v)
	}
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
		if steady < AASteadyWindow {
			set("below_aa_bar", fmt.Sprintf("steady-state window %s (warm-up %s) is shorter than AgentPerf's %s", steady, warm, AASteadyWindow))
		}
	}
}

// AASteadyWindow is AgentPerf's minimum steady-state window per level.
const AASteadyWindow = 10 * time.Minute

func orDefault[T comparable](v, d T) T {
	var zero T
	if v == zero {
		return d
	}
	return v
}

// levelMeta records one level's report in the results metadata.
func (r *runner) levelMeta(lr *LevelReport) {
	p := fmt.Sprintf("level.%d.", lr.Index)
	set := r.rw.SetMeta
	set(p+"users", fmt.Sprint(lr.Users))
	set(p+"local_users", fmt.Sprint(lr.LocalUsers))
	set(p+"requests", fmt.Sprint(lr.Requests))
	set(p+"errors", fmt.Sprint(lr.Errors))
	set(p+"steady_requests", fmt.Sprint(lr.Steady))
	set(p+"steady_errors", fmt.Sprint(lr.SteadyErrors))
	set(p+"output_tokens", fmt.Sprint(lr.OutputTokens))
	set(p+"completed_sessions", fmt.Sprint(lr.CompletedSessions))
	set(p+"sessions_by_agent", fmt.Sprint(lr.SessionsByAgent))
	set(p+"client_lag_p50_ms", fmt.Sprintf("%.3f", lr.LagP50.Seconds()*1e3))
	set(p+"client_lag_p99_ms", fmt.Sprintf("%.3f", lr.LagP99.Seconds()*1e3))
	set(p+"client_lag_p99_all_ms", fmt.Sprintf("%.3f", lr.AllLagP99.Seconds()*1e3))
	set(p+"cpu_utilization", fmt.Sprintf("%.3f", lr.CPUUtil))
	if lr.OutputTokens > 0 {
		set(p+"cpu_us_per_output_token", fmt.Sprintf("%.2f", float64(lr.CPU.Microseconds())/float64(lr.OutputTokens)))
	}
	set(p+"wall_s", fmt.Sprintf("%.3f", lr.Wall.Seconds()))
	set(p+"valid", fmt.Sprint(lr.Valid))
	if len(lr.Invalid) > 0 {
		set(p+"invalid_reasons", fmt.Sprint(lr.Invalid))
		set(p+"invalid", strings.Join(lr.Invalid, "; "))
	}
	if lr.Interrupted {
		set(p+"interrupted", "true")
	}
	set("levels", fmt.Sprint(lr.Index+1))
}

// clockMeta records which clock timed the responses: response_clock is
// "sim" when every response with output was timed by the target's
// simulated clock, "wall" when none was, "mixed" otherwise, with the counts
// beside it when the sim clock was asked for.
func (r *runner) clockMeta() {
	set := r.rw.SetMeta
	// receive_timestamps says how wall-timed output was timed: "kernel"
	// (the kernel's receive time of the bytes), "read" (when the client
	// read them), or "mixed", with the count of kernel-timed responses.
	kernelN, wallN := r.kernelTimed.Load(), r.wallTimed.Load()
	switch {
	case kernelN > 0 && kernelN == wallN:
		set("receive_timestamps", "kernel")
	case kernelN == 0:
		set("receive_timestamps", "read")
	default:
		set("receive_timestamps", "mixed")
	}
	set("receive_timestamps_kernel_requests", fmt.Sprint(kernelN))
	if !r.cfg.SimClock {
		set("response_clock", "wall")
		return
	}
	simN := r.simTimed.Load()
	set("response_clock_sim_requests", fmt.Sprint(simN))
	set("response_clock_wall_requests", fmt.Sprint(wallN))
	switch {
	case wallN == 0 && simN > 0:
		set("response_clock", "sim")
	case simN == 0:
		set("response_clock", "wall")
		if wallN > 0 {
			r.warn("the target sent no simulated clock (X-Agentperf-Sim-Clock): %d responses timed by the wall clock", wallN)
		}
	default:
		set("response_clock", "mixed")
		r.warn("%d of %d responses carried no simulated clock and were timed by the wall clock", wallN, simN+wallN)
	}
}
