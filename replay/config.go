package replay

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/agentperf/agentperf/analyze"
	"github.com/agentperf/agentperf/power"
	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/sim"
	"github.com/agentperf/agentperf/target"
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
	// piece (see saltText) to keep prefix caches of other runs out.
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
	// Sender sends each request and times its response; nil means HTTP to
	// Target (with Transport, Headers and SimClock).
	Sender Sender
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

	// KeepRequestMetadata sends the per-request metadata blocks a trace
	// recorded (schemas.KindRequestMeta: Claude Code's billing header) as
	// they were; by default they are dropped, because a block that changes
	// on every request ahead of the prompt defeats every prefix cache.
	KeepRequestMetadata bool
	// ConversationMarker says whether each user's conversation carries a
	// marker after the shared prefix (see MarkerPolicy); "" means
	// MarkerAuto, which withDefaults resolves to MarkerOn or MarkerOff.
	ConversationMarker MarkerPolicy
	// RunMarkers mixes the run id (RunID) into every conversation marker,
	// so that no two runs send the same conversation. A server's prefix
	// cache keeps the blocks of a previous run, and a run that sends the
	// same markers again hits them: a second search against one simulator
	// process found 92 users at 96–98 % cache hits where the first found
	// 88 at the trace set's 90–95 % (BENCHMARKS.md). The CLI sets it for
	// runs against a target; a virtual-time run's engine starts empty, so
	// its markers stay the same from run to run (and its rows with them).
	RunMarkers bool

	// The target's engine, request settings, context and power (issues 15
	// and 16; docs/engines.md, docs/power.md; provenance.go, settings.go,
	// probe.go, fit.go, power.go).
	//
	// Engine is the target's serving engine: its dialect pins output
	// length and says where usage, cached and reasoning tokens and
	// reasoning deltas are; "" or auto takes the engine Describe detects
	// (the generic dialect without Describe).
	Engine target.Engine
	// Describe asks the target what it is before the run (provenance for
	// the metadata, the engine, the context length: target.Describe);
	// Probe sends one short request per API the plan uses and refuses to
	// run when it fails, does not stream, or the output pin is ignored
	// under OutputExact (target.Probe). Both need an HTTP target (Sender
	// nil). The CLI sets both for every target but the embedded simulator.
	Describe, Probe bool
	// Sampling names a catalog sampling preset ("aa"; "" sends the
	// recorded sampling); ModelPreset names the model preset ("" picks it
	// by the model replay asks for, "none" applies none). Settings are the
	// user's PATH=JSON request fields, applied after the presets' in every
	// body of every API, after translation.
	Sampling, ModelPreset string
	Settings              []target.Setting
	// MaxContext is the target's context length, tokens; 0 takes what
	// Describe found (and cuts nothing when it found none). Sessions with
	// a turn whose prompt and output exceed it are cut by ContextPolicy
	// ("" means truncate: the session's later turns are dropped; fail
	// refuses to run instead). A known context below AA's 65,536 tokens
	// is a warning.
	MaxContext    int
	ContextPolicy target.ContextPolicy
	// Power lists the power sources sampled for the whole run
	// (power.ParseSource); their samples and gaps go to PowerFile (a
	// results file's schemas.PowerPath), replaced when PowerOverwrite. A
	// source that fails is a gap, never a failed run.
	Power          []power.Source
	PowerFile      string
	PowerOverwrite bool

	// Sim, when set, replays against this simulated deployment in
	// virtual time (virtual.go): one discrete-event loop runs the users,
	// their think times and the simulator's engine, without sockets or
	// the wall clock; Target and Sender must be unset, and TimeScale is
	// meaningless (0 or 1). The same inputs and Seed give the same rows.
	Sim *sim.Plan
	// MaxSteady bounds how long a virtual-time closed-loop level's steady
	// window may grow (world) to meet AgentPerf's trajectory minimums (the
	// search's MinSessions and MinPerAgent, else analyze's defaults): the
	// window is extended a step at a time until they hold. 0 means
	// DefaultMaxSteady; negative never extends.
	MaxSteady time.Duration
}

// withDefaults returns c with every zero field that has a default set to
// it (the run's and the search's), or an error naming what cannot run. It
// is the one place defaults live; the CLI's flag defaults only mirror them.
func (c Config) withDefaults() (Config, error) {
	if c.Plan == nil {
		return c, errors.New("no plan to replay")
	}
	if c.Sim != nil {
		if c.Target != "" || c.Sender != nil {
			return c, errors.New("a virtual-time run sends to its simulator only: give a simulator or a target, not both")
		}
		if c.TimeScale != 0 && c.TimeScale != 1 {
			return c, fmt.Errorf("time scale %g: a virtual-time run has no wall clock to scale (leave it at 1)", c.TimeScale)
		}
		if !c.StartAt.IsZero() {
			return c, errors.New("a virtual-time run has no wall clock to wait for a start barrier")
		}
		if len(c.Power) > 0 {
			return c, errors.New("a virtual-time run has no hardware to measure: the simulator's modelled power is written to the power file")
		}
	}
	if c.Mode == "" {
		c.Mode = ModeClosed
	}
	if c.TimeScale <= 0 {
		c.TimeScale = 1
	}
	if c.ThinkScale == 0 {
		c.ThinkScale = 1
	}
	if c.ThinkScale < 0 {
		return c, fmt.Errorf("think scale %g < 0: give a factor ≥ 0 (1 replays recorded think times as they are)", c.ThinkScale)
	}
	if c.ErrorBackoff == 0 {
		c.ErrorBackoff = time.Second
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = 5 * time.Minute
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 30 * time.Minute
	}
	if c.StallTimeout == 0 {
		c.StallTimeout = 5 * time.Minute
	}
	if c.ProgressInterval <= 0 {
		c.ProgressInterval = time.Second
	}
	if c.API == "auto" {
		c.API = ""
	}
	if c.Clock == nil {
		c.Clock = SystemClock{}
	}
	if c.ProcessCPU == nil {
		c.ProcessCPU = processCPU
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.RunID == "" {
		if !c.StartAt.IsZero() {
			// Shards started at one barrier share a run id.
			c.RunID = "run-" + c.StartAt.UTC().Format("20060102T150405Z")
		} else {
			c.RunID = "run-" + strconv.FormatInt(c.Clock.Now().Unix(), 36)
		}
	}
	switch c.Mode {
	case ModeClosed:
		if c.Search == nil && c.Users <= 0 {
			return c, errors.New("closed-loop replay needs users > 0")
		}
		if c.Steady <= 0 && c.Search == nil {
			return c, errors.New("closed-loop replay needs a steady-state window > 0")
		}
	case ModePoisson:
		if c.SessionsPerSecond <= 0 {
			return c, errors.New("poisson replay needs an arrival rate > 0 sessions per second")
		}
		if c.Steady <= 0 {
			return c, errors.New("poisson replay needs a steady-state window > 0")
		}
	case ModeTimestamps:
	default:
		return c, fmt.Errorf("unknown mode %q (closed, poisson or timestamps)", c.Mode)
	}
	if c.Search != nil {
		if c.Mode != ModeClosed {
			return c, errors.New("the capacity search runs closed-loop users: it takes neither Poisson arrivals nor recorded timestamps")
		}
		if c.Plan.Shard.Count > 1 {
			return c, errors.New("the capacity search needs one process (each level's verdict decides the next): run it unsharded, or run fixed levels as shards")
		}
		sc, err := c.Search.withDefaults(c.Warmup, c.Steady)
		if err != nil {
			return c, err
		}
		c.Search = &sc
	}
	marker, err := ParseMarkerPolicy(string(c.ConversationMarker))
	if err != nil {
		return c, err
	}
	c.ConversationMarker = marker
	if marker == MarkerAuto {
		c.ConversationMarker = MarkerOn
		if c.Mode == ModeTimestamps {
			c.ConversationMarker = MarkerOff
		}
	}
	if c.Sender == nil {
		// An HTTP target answers a request without a model with an error.
		if err := c.Plan.CheckModel(c.Shaping.Model); err != nil {
			return c, err
		}
	}
	if c.Transport.MaxConns == 0 {
		c.Transport.MaxConns = c.Users
		if c.Search != nil {
			c.Transport.MaxConns = c.Search.MaxUsers
		}
	}
	// The target's context (issue 16).
	policy, err := target.ParseContextPolicy(string(c.ContextPolicy))
	if err != nil {
		return c, err
	}
	c.ContextPolicy = policy
	if c.MaxContext < 0 {
		return c, fmt.Errorf("context length %d < 0: give the target's context in tokens (0 takes what it reports)", c.MaxContext)
	}
	return c, nil
}

// withDefaults returns sc with its defaults: warmup and steady are the
// run's windows.
func (sc SearchConfig) withDefaults(warmup, steady time.Duration) (SearchConfig, error) {
	if sc.Start <= 0 {
		sc.Start = 1
	}
	if sc.MaxUsers <= 0 {
		sc.MaxUsers = 4096
	}
	if sc.Precision <= 0 {
		sc.Precision = 0.05
	}
	if sc.Warmup == 0 {
		sc.Warmup = warmup
	}
	if sc.Steady == 0 {
		sc.Steady = steady
	}
	if sc.Steady <= 0 {
		return sc, errors.New("the capacity search needs a steady-state window > 0 per level")
	}
	if sc.MinSessions == 0 {
		sc.MinSessions = analyze.DefaultMinTrajectories
	}
	if sc.MinPerAgent == 0 {
		sc.MinPerAgent = analyze.DefaultMinTrajectoriesPerAgent
	}
	if sc.Remeasure == 0 {
		sc.Remeasure = defaultRemeasure
	}
	sc.Tier = sc.Tier.Normalized()
	return sc, sc.Tier.Validate()
}
