package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/agentperf/agentperf/analyze"
	"github.com/agentperf/agentperf/replay"
	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/sim"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
		Name:      "replay",
		Usage:     "replay a trace set against a target as closed-loop simulated users",
		ArgsUsage: " ",
		Description: `replay sends the recorded requests of a trace set to a target endpoint and
writes one row per request to a results file (Parquet). Each simulated user is
a closed loop: it sends a session's turns in order, each after the previous
response ended plus the recorded think time, then takes the next session.
User u of N starts at session ⌊u·S/N⌋ of the S sessions and cycles through
all of them. Output length is pinned to the recorded length (--output-policy).

Without --target, the embedded simulator (--hardware, --model,
--accelerators) runs in virtual time: the users, their think times and
arrivals and the simulated engine share one discrete-event clock, with no
sockets and no wall clock, as fast as the host computes it. Every mode and
--search work there; the rows and metadata are those of an HTTP run
(response_clock "virtual"), and the same inputs and --seed give the same
rows. AA's rules hold by default: a 1-minute warm-up and a 10-minute steady
window, grown (metadata steady_extended_ns) until the level has >= 30
completed trajectories and >= 3 per agent. --time-scale has no effect
there. The simulator's modelled power goes beside the results
(FILE.power.parquet, docs/power.md). Sizing: before the run replay
estimates the load the trace set offers against what the simulated
deployment sustains and warns when it is overloaded, naming the
accelerators that would fit (--accelerators, --hardware); after it, a
level that ran overloaded is named in the summary (docs/replay.md,
"Sizing"). To test a client or another tool
against the simulator over HTTP, start 'agentperf sim' and give --target.

Modes: closed loop (--users, default); --sessions-per-second R (Poisson
arrivals of sessions); --timestamps (each turn at its recorded arrival time);
--search (AgentPerf capacity search: exponential ramp then binary search over
users, each level judged at --tier, every level appended to --out).

A level is marked invalid (metadata and stderr) when the client's late sends
left over 2 % of its load undelivered or it was saturated (docs/replay.md,
"Client lag: the rule"); --search measures such a level again and stops only
for a saturated client. Ctrl-C stops cleanly and leaves a
valid results file (exit code 130). API keys come from the environment
(AGENTPERF_API_KEY, else OPENAI_API_KEY / ANTHROPIC_API_KEY) and are never
written to disk. See docs/replay.md and docs/distributed.md.

Against a serving engine (--target), replay first asks it what it is
(/v1/models, /version and the like: engine, version, context length, into the
metadata's provenance; never a credential), speaks its dialect (--engine, auto
by default: how output is pinned, where usage, cached and reasoning tokens
are), sets the request fields of the presets and --set in every body after
translation (--sampling aa, --model-preset), sends one short probe request per
API and refuses a target that ignores the output pin, and cuts sessions that
do not fit its context (--max-context, --context-policy). --power samples
accelerator power during the run into a file beside --out (docs/power.md).

Examples:
   agentperf replay --traces traces/demo --users 32 --duration 2m --out results.parquet
   agentperf replay --traces traces/demo --hardware h200 --accelerators 8 --search --tier 250:3s --out search.parquet
   agentperf replay --traces traces/cc --target http://127.0.0.1:8000/v1 --api openai-chat --model openai/gpt-oss-120b --users 64 --duration 10m --cache-salt run42-{user}
   agentperf replay --traces traces/mooncake --timestamps --out mooncake.parquet
   agentperf replay --traces traces/demo --target http://vllm:8000 --users 2000 --shard 4 --start-at 2026-06-01T12:00:00Z --out /results/shard.parquet
   agentperf replay --traces traces/cc --target http://127.0.0.1:8000/v1 --model openai/gpt-oss-120b --engine vllm --sampling aa --set 'chat_template_kwargs.enable_thinking=false' --power 'prom+http://127.0.0.1:9400/metrics' --users 64`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "traces", Required: true, Usage: "trace set `DIR` (made by synth, import or record)"},
			&cli.StringFlag{Name: "target", Usage: "base `URL` of the endpoint (e.g. http://127.0.0.1:8000/v1); empty starts the embedded simulator"},
			&cli.StringFlag{Name: "api", Value: "auto", Usage: "API to send with: auto (each turn's recorded API), openai-chat, openai-responses or anthropic (translated when it differs)"},
			&cli.StringFlag{Name: "model", Usage: "model `NAME` sent in every request (default: the recorded one; with the simulator, the simulated model)"},
			&cli.StringFlag{Name: "out", Value: "results.parquet", Usage: "results `FILE` (Parquet, one row per request)"},
			&cli.BoolFlag{Name: "overwrite", Usage: "replace an existing --out file"},
			&cli.IntFlag{Name: "users", Value: 8, Usage: "closed-loop users `N`, summed over shards"},
			&cli.DurationFlag{Name: "duration", Value: 10 * time.Minute, Usage: "steady-state window (world time); with --timestamps, 0 = until the last recorded arrival"},
			&cli.DurationFlag{Name: "warmup", Value: time.Minute, Usage: "warm-up before the steady-state window (world time)"},
			&cli.DurationFlag{Name: "ramp-up", Usage: "spread user starts over this span (world time; default min(warmup/2, 30s))"},
			&cli.DurationFlag{Name: "drain-timeout", Value: 5 * time.Minute, Usage: "longest wait after the window for its requests to finish (world time)"},
			&cli.Float64Flag{Name: "think-scale", Value: 1, Usage: "multiply recorded think/tool times by `F`"},
			&cli.DurationFlag{Name: "think-cap", Usage: "cap think times after scaling (world time; 0 = no cap)"},
			&cli.StringFlag{Name: "output-policy", Value: "exact", Usage: "output length: exact (max tokens + the engine's pin fields, e.g. min_tokens + ignore_eos; checked by the probe), cap (max tokens only) or free (as recorded)"},
			&cli.StringFlag{Name: "cache-salt", Usage: "`TEXT` prepended as \"[cache-salt TEXT]\\n\" to each request's system prompt or first message; {user} and {pass} expand per user and pass"},
			&cli.StringFlag{Name: "hardware", Value: sim.DefaultHardware, Usage: "simulator accelerator `NAME` (without --target)"},
			&cli.IntFlag{Name: "accelerators", Usage: "simulator accelerators (without --target; default: smallest that fits)"},
			&cli.Float64Flag{Name: "time-scale", Value: 1, Usage: "world runs `K` times faster than the wall clock (think times and timeouts; results in world time); no effect without --target (virtual time)"},
			&cli.Int64Flag{Name: "seed", Value: 1, Usage: "seed of the simulator and of Poisson arrivals"},
			&cli.Float64Flag{Name: "sessions-per-second", Usage: "open loop: start sessions as a Poisson process of rate `R` per world second"},
			&cli.BoolFlag{Name: "timestamps", Usage: "open loop: send every turn at its recorded arrival time (scaled by --time-scale)"},
			&cli.BoolFlag{Name: "search", Usage: "run the AgentPerf capacity search over users"},
			&cli.StringFlag{Name: "tier", Usage: "search tier: SPEED:TTFT (e.g. 250:3s) or a preset speed of --model (default: the model's slowest preset)"},
			&cli.IntFlag{Name: "search-start", Value: 1, Usage: "users of the first search level"},
			&cli.IntFlag{Name: "search-max", Value: 4096, Usage: "most users the search tries"},
			&cli.Float64Flag{Name: "search-precision", Value: 0.05, Usage: "bisect until fail − pass ≤ max(1, `P`·pass), then narrow the 90 % interval on max users to ±P (--search-repeats)"},
			// The adaptive search (issue 12).
			&cli.IntFlag{Name: "search-repeats", Value: 2, Usage: "extra windows per user count the adaptive search may add after the bisection to narrow max users' interval (0: none, the plain ramp and bisection)"},
			&cli.DurationFlag{Name: "search-budget", Usage: "wall time the whole search may spend, warm-ups included (0: none); no window is started that would overrun it"},
			&cli.IntFlag{Name: "search-replicates", Value: 1000, Usage: "bootstrap replicates per window for the adaptive search's intervals (≥ 20)"},
			&cli.StringFlag{Name: "shard", Usage: "run shard `i/N` (sessions split by a stable hash of the session id); N alone takes i from JOB_COMPLETION_INDEX"},
			&cli.StringFlag{Name: "start-at", Usage: "wall-clock barrier, RFC 3339 `TIME` (e.g. 2026-06-01T12:00:00Z): shards start together"},
			&cli.StringFlag{Name: "run-id", Usage: "run `ID` written in every row (shards of one run share it; default: derived from --start-at or the time)"},
			&cli.DurationFlag{Name: "request-timeout", Value: 30 * time.Minute, Usage: "cancel a request that runs longer (world time)"},
			&cli.DurationFlag{Name: "stall-timeout", Value: 5 * time.Minute, Usage: "cancel a request that receives no bytes for this long (world time)"},
			&cli.DurationFlag{Name: "error-backoff", Value: time.Second, Usage: "least wait after a failed request before the user's next one (world time)"},
			&cli.BoolFlag{Name: "sim-clock", Usage: "time responses by the target's simulated clock (X-Agentperf-Sim-Clock of agentperf sim) instead of the wall clock × K", DefaultText: "false; without --target the simulator runs in virtual time and times every response"},
			&cli.BoolFlag{Name: "http2", Usage: "speak HTTP/2 without TLS (h2c) to an http:// target (https:// negotiates HTTP/2 by ALPN)"},
			&cli.BoolFlag{Name: "insecure", Usage: "skip TLS certificate verification"},
			&cli.BoolFlag{Name: "read-times", Usage: "time output events when the client reads them, not by the kernel's receive timestamp (Linux, HTTP/1.1; the default leaves the client's own wake-up delay out of TTFT and ITL)"},
			&cli.StringSliceFlag{Name: "header", Usage: "extra request header `K: V` (repeatable; not written to the results)"},
			&cli.StringFlag{Name: "metrics-addr", Usage: "serve Prometheus metrics on `ADDR` (e.g. 127.0.0.1:9464)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress line (warnings still go to stderr)"},
			&cli.DurationFlag{Name: "progress-interval", Value: time.Second, Usage: "how often the progress line is updated (wall time)"},
			// Faithful bodies and memory (issues 10 and 12).
			&cli.BoolFlag{Name: "keep-request-metadata", Usage: "send per-request metadata blocks as recorded (Claude Code's billing header, which changes on every request); by default they are dropped, as they would defeat the target's prefix cache"},
			&cli.StringFlag{Name: "conversation-marker", Value: "auto", Usage: "mark each user's conversation after the shared system prompt and tools, so users share those on the target but not their conversations: auto (on, off with --timestamps), on or off. Against a --target the markers also carry the run id, so a run never hits the blocks an earlier run left in the server's prefix cache (give the same --run-id to send the same markers again)"},
			&cli.StringFlag{Name: "memory-limit", Value: defaultMemoryLimit, Usage: "soft limit on the Go heap (`SIZE`, e.g. 384MiB or 2GiB), raised to twice the live heap when a run needs more; off for none; GOMEMLIMIT in the environment overrides it"},
			// Virtual time (issue 13).
			&cli.DurationFlag{Name: "max-steady", Value: replay.DefaultMaxSteady, Usage: "without --target (virtual time): longest a level's steady window grows to reach >= 30 completed trajectories and >= 3 per agent (world time; 0 = never grow)"},
		},
		Action: replayAction,
	})
}

func replayAction(c *cli.Context) error {
	stderr := c.App.ErrWriter
	if os.Getenv("GOGC") == "" && c.String("target") != "" {
		// A load generator trades memory for schedule: fewer GC mark
		// phases mean fewer late sends (measured at 10,000 users: steady
		// lag p99 43–156 ms at the default 100, 14 ms at 400; see
		// BENCHMARKS.md). GOGC in the environment overrides this. In
		// virtual time (no --target) no send can be late: the default
		// 100 costs less CPU there (fewer fresh pages) and memory
		// (BENCHMARKS.md, "Virtual-time replay").
		debug.SetGCPercent(400)
	}
	// The soft memory limit beside GOGC 400: see memlimit.go for why a
	// floor, raised with the live heap.
	if s := c.String("memory-limit"); s != "off" {
		floor, err := parseByteSize(s)
		if err != nil {
			return exitCode(2, fmt.Errorf("--memory-limit %q: %w", s, err))
		}
		defer startMemoryLimit(floor, os.Getenv)()
	}
	marker, err := replay.ParseMarkerPolicy(c.String("conversation-marker"))
	if err != nil {
		return exitCode(2, fmt.Errorf("--conversation-marker: %w", err))
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	policy, err := replay.ParseOutputPolicy(c.String("output-policy"))
	if err != nil {
		return exitCode(2, err)
	}
	api := c.String("api")
	switch api {
	case "auto", schemas.APIOpenAIChat, schemas.APIOpenAIResponses, schemas.APIAnthropic:
	default:
		return exitCode(2, fmt.Errorf("--api %q: want auto, openai-chat, openai-responses or anthropic", api))
	}
	shard, err := replay.ParseShard(c.String("shard"), os.Getenv)
	if err != nil {
		return exitCode(2, fmt.Errorf("--shard: %w", err))
	}
	var startAt time.Time
	if s := c.String("start-at"); s != "" {
		startAt, err = time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return exitCode(2, fmt.Errorf("--start-at %q: want RFC 3339, e.g. 2026-06-01T12:00:00Z", s))
		}
	}
	mode := replay.ModeClosed
	switch {
	case c.Bool("timestamps") && c.IsSet("sessions-per-second"):
		return exitCode(2, errors.New("choose one of --timestamps and --sessions-per-second"))
	case c.Bool("timestamps"):
		mode = replay.ModeTimestamps
	case c.IsSet("sessions-per-second"):
		mode = replay.ModePoisson
	}
	headers := http.Header{}
	for _, h := range c.StringSlice("header") {
		k, v, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return exitCode(2, fmt.Errorf("--header %q: want \"Name: value\"", h))
		}
		headers.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}

	ts, err := schemas.OpenTraceSet(c.String("traces"), schemas.TraceSetOptions{})
	if err != nil {
		return err
	}
	defer ts.Close()
	plan, err := replay.LoadPlan(ts, replay.PlanOptions{Shard: shard})
	if err != nil {
		return err
	}
	if c.String("target") != "" {
		// Before any request: a target answers requests without a model
		// with errors. The embedded simulator serves any name, and is sent
		// its own model's.
		if err := plan.CheckModel(c.String("model")); err != nil {
			return exitCode(2, fmt.Errorf("%w (--model NAME)", err))
		}
	}

	target := c.String("target")
	simClock := target == "" // the embedded simulator's clock times its responses
	if c.IsSet("sim-clock") {
		simClock = c.Bool("sim-clock")
	}
	model := c.String("model")
	var virtualSim *sim.Plan // the embedded simulator, run in virtual time
	meta := schemas.RunMeta{AgentperfVersion: version, TraceSet: c.String("traces")}
	if target == "" {
		simModel := model
		if simModel == "" {
			simModel = sim.DefaultModel
		}
		// Virtual time (issue 13): the embedded simulator runs in the
		// replay's own discrete-event loop, not over loopback HTTP.
		if c.IsSet("time-scale") && c.Float64("time-scale") != 1 {
			fmt.Fprintln(stderr, "note: --time-scale has no effect without --target: the embedded simulator runs in virtual time, as fast as the host computes it")
		}
		sc := sim.Config{Hardware: c.String("hardware"), Model: simModel,
			Accelerators: c.Int("accelerators"), Seed: c.Int64("seed")}
		if err := simKnobs(c, &sc); err != nil {
			return err
		}
		sp, err := sim.Resolve(sc)
		if err != nil {
			return exitCode(2, fmt.Errorf("embedded simulator: %w (--hardware, --model, --accelerators)", err))
		}
		virtualSim = sp
		model = sp.Model.Name
		sm := replay.SimMeta(sp)
		sm.AgentperfVersion, sm.TraceSet = meta.AgentperfVersion, meta.TraceSet
		meta = sm
	} else {
		if k := simKnobSet(c); k != "" {
			return exitCode(2, fmt.Errorf("--%s configures the embedded simulator: give it to 'agentperf sim', or drop --target", k))
		}
		meta.Target = target
		meta.Model = model
		if c.IsSet("hardware") {
			meta.Hardware = c.String("hardware")
		}
		meta.Accelerators = c.Int("accelerators")
	}
	perAPI := apiHeaders(headers)

	cfg := replay.Config{
		Plan: plan, Target: target, API: api,
		Shaping:   replay.Shaping{Model: model, Output: policy},
		CacheSalt: c.String("cache-salt"), ThinkScale: c.Float64("think-scale"), ThinkCap: c.Duration("think-cap"),
		ErrorBackoff: c.Duration("error-backoff"), TimeScale: c.Float64("time-scale"),
		Mode: mode, Users: c.Int("users"), SessionsPerSecond: c.Float64("sessions-per-second"),
		Warmup: c.Duration("warmup"), Steady: c.Duration("duration"), DrainTimeout: c.Duration("drain-timeout"),
		RampUp: c.Duration("ramp-up"), Seed: uint64(c.Int64("seed")),
		RequestTimeout: c.Duration("request-timeout"), StallTimeout: c.Duration("stall-timeout"),
		Transport: replay.TransportOptions{HTTP2: c.Bool("http2"), Insecure: c.Bool("insecure"), ReadTimes: c.Bool("read-times")},
		Headers:   perAPI, SimClock: simClock, RunID: c.String("run-id"), StartAt: startAt,
		Logger: log, Meta: meta,
	}
	if virtualSim != nil {
		cfg.Sim, cfg.Target, cfg.TimeScale, cfg.SimClock = virtualSim, "", 1, false
		if cfg.MaxSteady = c.Duration("max-steady"); cfg.MaxSteady == 0 {
			cfg.MaxSteady = -1 // never grow
		}
	}
	cfg.KeepRequestMetadata = c.Bool("keep-request-metadata")
	cfg.ConversationMarker = marker
	// A target's prefix cache outlives a run: markers of this run only
	// (replay.Config.RunMarkers). The virtual-time engine starts empty.
	cfg.RunMarkers = virtualSim == nil
	// The target's engine, request settings, context and power (issues 15
	// and 16; replay_target.go).
	if err := targetConfig(c, &cfg, c.String("target") == "", c.String("out")); err != nil {
		return err
	}
	if virtualSim != nil {
		// The simulator's modelled power goes beside the results, as
		// measured power does (docs/power.md).
		if len(cfg.Power) > 0 {
			return exitCode(2, errors.New("--power needs --target: without it the simulator's modelled power is written beside --out"))
		}
		cfg.PowerFile, cfg.PowerOverwrite = schemas.PowerPath(c.String("out")), c.Bool("overwrite")
	}
	if mode == replay.ModeTimestamps && !c.IsSet("duration") {
		cfg.Steady = 0
	}
	if mode != replay.ModeClosed && !c.IsSet("warmup") {
		cfg.Warmup = 0
	}
	if c.Bool("search") {
		tierModel := model
		if tierModel == "" {
			tierModel = plan.Sessions[0].Turns[0].Model
		}
		tier, err := analyze.ParseTier(c.String("tier"), tierModel)
		if err != nil {
			return exitCode(2, fmt.Errorf("--tier: %w", err))
		}
		cfg.Search = &replay.SearchConfig{Start: c.Int("search-start"), MaxUsers: c.Int("search-max"),
			Precision: c.Float64("search-precision"), Tier: tier}
		if n := c.Int("search-replicates"); n < 20 {
			return exitCode(2, fmt.Errorf("--search-replicates %d: give at least 20 (1000 is the default)", n))
		}
		if c.Duration("search-budget") < 0 || c.Int("search-repeats") < 0 || !(c.Float64("search-precision") > 0) {
			return exitCode(2, errors.New("--search-budget and --search-repeats must not be negative, --search-precision must be > 0"))
		}
		cfg.Search.Repeats, cfg.Search.Budget, cfg.Search.Replicates = c.Int("search-repeats"), c.Duration("search-budget"), c.Int("search-replicates")
	}
	if !c.Bool("quiet") {
		cfg.Progress = stderr
		cfg.ProgressInterval = c.Duration("progress-interval")
		if f, ok := stderr.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				cfg.ProgressTTY = true
			}
		}
	}
	if addr := c.String("metrics-addr"); addr != "" {
		m := replay.NewMetrics()
		bound, err := m.Serve(c.Context, addr)
		if err != nil {
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		cfg.Metrics = m
		fmt.Fprintf(stderr, "metrics on http://%s/metrics\n", bound)
	}

	// Sizing (issue 13): warn before the run when the simulated
	// deployment cannot keep up with the load the trace offers.
	sizing := sizingBefore(stderr, cfg)
	cfg.Meta.Sizing = sizing

	out := c.String("out")
	rw, err := schemas.CreateResults(out, c.Bool("overwrite"))
	if err != nil {
		return err
	}
	rep, err := replay.Run(c.Context, cfg, rw)
	if err != nil {
		if rep == nil {
			rw.Abort()
			return targetError(err)
		}
		// Keep what was measured: close the file, then report the error.
		if cerr := rw.Close(); cerr != nil {
			return fmt.Errorf("%v (and closing %s: %v)", err, out, cerr)
		}
		return fmt.Errorf("%v (partial results in %s)", err, out)
	}
	if err := rw.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", out, err)
	}
	printSummary(c.App.Writer, rep, out, rw.Rows())
	printTarget(c.App.Writer, rep)
	sizingAfter(c.App.Writer, cfg, sizing, rep)
	if rep.Interrupted {
		return exitCode(130, fmt.Errorf("interrupted; results so far are in %s", out))
	}
	return nil
}

// apiHeaders builds per-API request headers: the --header values, the API
// key from the environment in each API's scheme, and Anthropic's version.
func apiHeaders(extra http.Header) map[string]http.Header {
	key := func(names ...string) string {
		for _, n := range names {
			if v := os.Getenv(n); v != "" {
				return v
			}
		}
		return ""
	}
	out := map[string]http.Header{}
	for _, api := range []string{schemas.APIOpenAIChat, schemas.APIOpenAIResponses, schemas.APIAnthropic} {
		h := extra.Clone()
		if api == schemas.APIAnthropic {
			if h.Get("anthropic-version") == "" {
				h.Set("anthropic-version", "2023-06-01")
			}
			if k := key("AGENTPERF_API_KEY", "ANTHROPIC_API_KEY"); k != "" && h.Get("x-api-key") == "" {
				h.Set("x-api-key", k)
			}
		} else if k := key("AGENTPERF_API_KEY", "OPENAI_API_KEY"); k != "" && h.Get("Authorization") == "" {
			h.Set("Authorization", "Bearer "+k)
		}
		out[api] = h
	}
	return out
}

func printSummary(w io.Writer, rep *replay.Report, out string, rows int64) {
	fmt.Fprintf(w, "%-5s %6s %9s %7s %7s %13s %8s %6s  %s\n", "level", "users", "requests", "steady", "errors", "lag p99 wall", "cpu", "valid", "verdict")
	for _, l := range rep.Levels {
		verdict := "-"
		if l.Verdict != nil {
			verdict = "fail: " + strings.Join(l.Verdict.Reasons, "; ")
			if l.Verdict.Pass {
				verdict = fmt.Sprintf("pass (%.0f tok/s, TTFT %s)", l.Verdict.Speed, l.Verdict.TTFT)
			}
		}
		cpu := fmt.Sprintf("%7.0f%%", 100*l.CPUUtil)
		if l.CPUUtil < 0 {
			cpu = fmt.Sprintf("%8s", "-") // virtual time: no client CPU to judge
		}
		fmt.Fprintf(w, "%-5d %6d %9d %7d %7d %13s %s %6v  %s\n", l.Index, l.Users, l.Requests, l.Steady, l.SteadyErrors,
			l.LagP99.Round(time.Microsecond), cpu, l.Valid, verdict)
	}
	if s := rep.Search; s != nil {
		fmt.Fprintf(w, "max users passing: %d", s.MaxUsers)
		if s.FirstFail > 0 {
			fmt.Fprintf(w, " (first failing: %d)", s.FirstFail)
		}
		if s.Stopped != "" {
			fmt.Fprintf(w, "; %s", s.Stopped)
		}
		fmt.Fprintln(w)
		if e := s.Estimate; e != nil {
			fmt.Fprintf(w, "max users fitted over %d windows: %s (90 %% CI), highest passing %d\n", s.Windows, analyze.FormatUsers(e), e.HighestPassing)
		}
		if s.Ended != "" {
			fmt.Fprintf(w, "search ended: %s\n", s.EndReason)
		}
	}
	printPrefixCache(w, rep)
	fmt.Fprintf(w, "%d rows written to %s (steady: requests due in the steady window; errors: of those; requests cancelled when a level ends are drain rows)\n", rows, filepath.Clean(out))
}

// printPrefixCache prints each level's prefix-cache hit rate as the target
// reported it beside the trace set's under production sharing.
func printPrefixCache(w io.Writer, rep *replay.Report) {
	for _, l := range rep.Levels {
		pc := l.PrefixCache
		if pc == nil {
			continue
		}
		rule := "each user's conversation private, system prompt and tools shared"
		if pc.Rule == replay.RuleAsRecorded {
			rule = "every block shared, as recorded"
		}
		if pc.TargetRequests == 0 {
			fmt.Fprintf(w, "prefix cache, level %d: target reported none; trace set %.1f %% (%s; %d steady requests)\n",
				l.Index, 100*pc.HitRate, rule, pc.Requests)
			continue
		}
		fmt.Fprintf(w, "prefix cache, level %d: target %.1f %%, trace set %.1f %% (%s; %d steady requests)\n",
			l.Index, 100*pc.TargetHitRate, 100*pc.ExpectedHitRate, rule, pc.TargetRequests)
	}
}
