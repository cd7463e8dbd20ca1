package schemas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MetaRun is the footer key (schema 1.2 on) holding a results file's run
// metadata: one RunMeta encoded as JSON.
const MetaRun = "agentperf.run"

// RunMeta is the run metadata of a results file: how replay was configured,
// what it measured per level and how the run ended. It is written once, as
// JSON under MetaRun, and read back by ReadRunMeta, which also turns the
// string keys of schema 1.0/1.1 files into this type. Durations are
// nanoseconds (the JSON keys end in _ns); "world" durations are in the
// simulated world (see replay's time scale), the others wall time. Zero
// values mean "not recorded".
type RunMeta struct {
	// RunID names the run; shards of a run share it.
	RunID string `json:"run_id"`
	// Mode is replay's load generator: "closed", "poisson" or "timestamps".
	Mode string `json:"mode,omitempty"`
	// Target is the endpoint URL, or "sim" for the embedded simulator.
	Target string `json:"target,omitempty"`
	// API is the API sent with ("auto": each turn's recorded one).
	API string `json:"api,omitempty"`
	// Model is the served model; it picks analyze's default tier preset.
	Model string `json:"model,omitempty"`
	// System labels the system under test in reports ("8×H200 vLLM").
	System string `json:"system,omitempty"`
	// Hardware is a catalog hardware name ("h200"); Accelerators the number
	// serving the target (0 = unknown).
	Hardware     string `json:"hardware,omitempty"`
	Accelerators int    `json:"accelerators,omitempty"`
	// Sim describes the embedded simulator's deployment (nil otherwise).
	Sim *SimMeta `json:"sim,omitempty"`
	// AgentperfVersion and TraceSet say what produced the run.
	AgentperfVersion string `json:"agentperf_version,omitempty"`
	TraceSet         string `json:"trace_set,omitempty"`
	// OutputPolicy is replay's output-length policy ("exact", "cap", "free").
	OutputPolicy string `json:"output_policy,omitempty"`
	// TimeScale is K: the world ran K times faster than the wall clock; the
	// rows hold world time. 0 means 1.
	TimeScale float64 `json:"time_scale,omitempty"`
	// ThinkScale multiplied recorded think times; ThinkCap capped them
	// (world, 0 = none).
	ThinkScale float64       `json:"think_scale,omitempty"`
	ThinkCap   time.Duration `json:"think_cap_ns,omitempty"`
	// CacheSalt is the prefix-cache salt template.
	CacheSalt string `json:"cache_salt,omitempty"`
	// Users is the closed-loop users of a fixed run (summed over shards);
	// SessionsPerSecond and Seed the Poisson arrivals.
	Users             int     `json:"users,omitempty"`
	SessionsPerSecond float64 `json:"sessions_per_second,omitempty"`
	Seed              uint64  `json:"seed,omitempty"`
	// Warmup and Steady are each level's warm-up and steady-state window
	// (world) as configured; a level may override Steady (LevelMeta).
	Warmup time.Duration `json:"warmup_ns,omitempty"`
	Steady time.Duration `json:"steady_ns,omitempty"`
	// DrainTimeout, RequestTimeout and StallTimeout are world durations.
	DrainTimeout   time.Duration `json:"drain_timeout_ns,omitempty"`
	RequestTimeout time.Duration `json:"request_timeout_ns,omitempty"`
	StallTimeout   time.Duration `json:"stall_timeout_ns,omitempty"`
	// Shard is this file's shard index of ShardCount (1 when not sharded).
	Shard      int `json:"shard"`
	ShardCount int `json:"shard_count,omitempty"`
	// StartAt is the shards' start barrier; Started when this process
	// started (UTC).
	StartAt time.Time `json:"start_at,omitzero"`
	Started time.Time `json:"started,omitzero"`
	// PlanSessions and PlanTurns size the replayed plan.
	PlanSessions int   `json:"plan_sessions,omitempty"`
	PlanTurns    int64 `json:"plan_turns,omitempty"`
	// Client describes the machine replay ran on.
	Client ClientMachine `json:"client,omitzero"`
	// BelowAABar says why the run's windows do not meet AgentPerf's bar
	// (empty when they do).
	BelowAABar string `json:"below_aa_bar,omitempty"`
	// Levels holds one entry per level run, in order.
	Levels []LevelMeta `json:"levels,omitempty"`
	// Search is the capacity search's outcome (nil without a search).
	Search *SearchMeta `json:"search,omitempty"`
	// ResponseClock says which clock timed responses: "sim", "wall" or
	// "mixed", with the counts of each; ReceiveTimestamps how wall-timed
	// output was timed: "kernel", "read" or "mixed".
	ResponseClock                   string `json:"response_clock,omitempty"`
	ResponseClockSimRequests        int64  `json:"response_clock_sim_requests,omitempty"`
	ResponseClockWallRequests       int64  `json:"response_clock_wall_requests,omitempty"`
	ReceiveTimestamps               string `json:"receive_timestamps,omitempty"`
	ReceiveTimestampsKernelRequests int64  `json:"receive_timestamps_kernel_requests,omitempty"`
	// Interrupted is set when the run was stopped before its end.
	Interrupted bool `json:"interrupted,omitempty"`
	// Warnings are the run's warnings, in order.
	Warnings []string `json:"warnings,omitempty"`
	// Extra holds keys a schema 1.0/1.1 file carried that no field above
	// stands for (nil for files of 1.2 on).
	Extra map[string]string `json:"extra,omitempty"`

	// ConversationMarker is "on" when each user's conversation carried a
	// marker after the shared prefix (system prompt and tools), "off" when
	// conversations were sent as recorded ("" in older files).
	ConversationMarker string `json:"conversation_marker,omitempty"`
	// ConversationMarkerRun is set when the markers also carried the run
	// id (runs against a target), so no other run sent the same ones.
	ConversationMarkerRun bool `json:"conversation_marker_run,omitempty"`
	// KeepRequestMetadata is set when per-request metadata blocks
	// (KindRequestMeta) were sent as recorded instead of dropped.
	KeepRequestMetadata bool `json:"keep_request_metadata,omitempty"`

	// The target (issues 15 and 16; schemas/target.go).
	//
	// Engine is the dialect replay spoke ("vllm", "sglang", …, "generic";
	// "sim" for the embedded simulator) and EngineSource how it was chosen:
	// "given", "detected" or "embedded".
	Engine       string `json:"engine,omitempty"`
	EngineSource string `json:"engine_source,omitempty"`
	// Provenance is what the target said about itself at the start (nil
	// for the embedded simulator, whose deployment is Sim, Hardware and
	// Accelerators).
	Provenance *Provenance `json:"provenance,omitempty"`
	// RequestSettings are the request fields set in every body (presets
	// and the user's settings) and the output pin per API.
	RequestSettings *RequestSettings `json:"request_settings,omitempty"`
	// Probe holds one result per API probed before the run; ProbeSkipped
	// says why no probe ran.
	Probe        []ProbeResult `json:"probe,omitempty"`
	ProbeSkipped string        `json:"probe_skipped,omitempty"`
	// Context is the context limit the plan was cut to and what was cut
	// (nil when no limit was known).
	Context *ContextMeta `json:"context,omitempty"`
	// Power is the power sampled during the run (nil without sources).
	Power *PowerMeta `json:"power,omitempty"`

	// Sizing is replay's estimate, before the run, of the load the trace
	// set offers the embedded simulator against what its deployment
	// sustains (nil against a real target or in a search; issue 13).
	Sizing *SizingMeta `json:"sizing,omitempty"`
}

// SizingMeta is replay's sizing estimate of a run against the embedded
// simulator (docs/replay.md "Sizing"): the load the run offers, from the
// trace set's turn lengths, think times and arrival rate, against what the
// simulated deployment sustains by the simulator's own cost model. Rates
// are per world second.
type SizingMeta struct {
	// RequestsPerSecond is the offered request rate; PromptTokensPerSecond
	// and UncachedTokensPerSecond its prompt tokens, all and those not
	// expected from the prefix cache (sharing as recorded);
	// OutputTokensPerSecond its output tokens. In a closed loop they are
	// the users' pace at light load (think time plus an unloaded
	// response), an upper bound.
	RequestsPerSecond       float64 `json:"requests_per_second"`
	PromptTokensPerSecond   float64 `json:"prompt_tokens_per_second"`
	UncachedTokensPerSecond float64 `json:"uncached_tokens_per_second"`
	OutputTokensPerSecond   float64 `json:"output_tokens_per_second"`
	// Utilization is the offered engine time per second over the engine
	// instances' time (prefill and decode at DecodeBatch; with
	// disaggregated prefill the busier pool's): above 1 the deployment
	// cannot keep up and requests queue.
	Utilization float64 `json:"utilization"`
	// DecodeBatch is the sequences one instance decodes together at the
	// trace's mean context (its KV cache allows no more, or its batch
	// limit); MeanContextTokens that context, tokens.
	DecodeBatch       int `json:"decode_batch"`
	MeanContextTokens int `json:"mean_context_tokens"`
	// Overloaded is set when Utilization > 1. FitAccelerators is the
	// smallest accelerator count of the same hardware and TP that brings
	// Utilization to Headroom or below, and FitUsers (closed loop) the most
	// users the chosen sizing keeps there (0 when no rate was estimated).
	Overloaded      bool    `json:"overloaded,omitempty"`
	Headroom        float64 `json:"headroom"`
	FitAccelerators int     `json:"fit_accelerators,omitempty"`
	FitUsers        int     `json:"fit_users,omitempty"`
	// ContextTokens is the longest prompt and output the simulated model
	// accepts; OverContext counts the trace's turns that need more (the
	// simulator refuses them) and LongestTokens the longest turn's need.
	ContextTokens int `json:"context_tokens"`
	OverContext   int `json:"over_context,omitempty"`
	LongestTokens int `json:"longest_tokens,omitempty"`
	// Summary is the estimate in words, as printed before the run.
	Summary string `json:"summary,omitempty"`
}

// SimMeta describes the embedded simulator's deployment.
type SimMeta struct {
	// TP is the tensor-parallel degree of one instance; Instances the
	// number of instances.
	TP        int `json:"tp"`
	Instances int `json:"instances"`
}

// ClientMachine describes the machine and runtime replay ran on.
type ClientMachine struct {
	GOMAXPROCS int    `json:"gomaxprocs,omitempty"`
	NumCPU     int    `json:"num_cpu,omitempty"`
	GoVersion  string `json:"go_version,omitempty"`
	// CPU is the processor model name; OS, Arch and Kernel name the
	// operating system, architecture and kernel release ("" when
	// unknown).
	CPU    string `json:"cpu,omitempty"`
	OS     string `json:"os,omitempty"`
	Arch   string `json:"arch,omitempty"`
	Kernel string `json:"kernel,omitempty"`
}

// LevelMeta is what replay recorded about one level (its rows carry Level
// = Index).
type LevelMeta struct {
	// Index is the level's index in the run; Users its concurrency summed
	// over shards (0 in open-loop modes); LocalUsers those this shard ran.
	Index      int `json:"index"`
	Users      int `json:"users"`
	LocalUsers int `json:"local_users,omitempty"`
	// Attempt counts re-measurements of the same users (0 for the first
	// window); Remeasured is set when a later level measured the same users
	// again, so this window does not count towards capacity.
	Attempt    int  `json:"attempt,omitempty"`
	Remeasured bool `json:"remeasured,omitempty"`
	// Requests counts rows written; Errors those with an error;
	// SteadyRequests and SteadyErrors those in the steady-state window.
	Requests       int64 `json:"requests"`
	Errors         int64 `json:"errors"`
	SteadyRequests int64 `json:"steady_requests"`
	SteadyErrors   int64 `json:"steady_errors"`
	// OutputTokens sums reported (or counted) output tokens.
	OutputTokens int64 `json:"output_tokens"`
	// CompletedSessions counts session replays finished during the level
	// (-1 when not recorded), per agent in SessionsByAgent (nil when not
	// recorded).
	CompletedSessions int            `json:"completed_sessions"`
	SessionsByAgent   map[string]int `json:"sessions_by_agent,omitempty"`
	// SteadyWindow is the level's steady-state window (world) when it
	// differs from RunMeta.Steady.
	SteadyWindow time.Duration `json:"steady_window_ns,omitempty"`
	// Wall is the level's wall time; CPU the process CPU over it; CPUUtil =
	// CPU ÷ (Wall × GOMAXPROCS) (-1 when not measured).
	Wall    time.Duration `json:"wall_ns,omitempty"`
	CPU     time.Duration `json:"cpu_ns,omitempty"`
	CPUUtil float64       `json:"cpu_utilization"`
	// Client holds the client-health figures of the steady window and the
	// judgement of the client rule (analyze.Validity) on them; nil in files
	// older than schema 1.2.
	Client *ClientHealth `json:"client,omitempty"`
	// Valid is false when the level's load was not what was asked;
	// Invalid says why in files older than schema 1.2 (replay's own rule
	// then). From 1.2 on the reasons are in Client.
	Valid   bool     `json:"valid"`
	Invalid []string `json:"invalid,omitempty"`
	// Verdict is the search's judgement of the level at its tier (nil
	// outside a search).
	Verdict *LevelVerdict `json:"verdict,omitempty"`
	// SearchAction is why the search ran this window: "run" (a new user
	// count: the ramp or a bisection) or "repeat" (another window at users
	// already measured, to narrow the interval), with SearchReason's
	// figures; "remeasure" for a window measured again because the
	// client fell behind. Empty outside a search.
	SearchAction string `json:"search_action,omitempty"`
	SearchReason string `json:"search_reason,omitempty"`
	// BelowAABar lists why the level misses AgentPerf's trajectory bar.
	BelowAABar []string `json:"below_aa_bar,omitempty"`
	// Interrupted is set when the run was stopped during the level.
	Interrupted bool `json:"interrupted,omitempty"`

	// PrefixCache compares the target's prefix-cache hit rate with the
	// trace set's under production sharing (nil when not computed).
	PrefixCache *CacheExpectation `json:"prefix_cache,omitempty"`

	// SteadyExtended is how much a virtual-time level extended its steady
	// window (world) to meet AgentPerf's trajectory minimums, and
	// SteadyExtendedReason the minimum it was short of when it last did;
	// SteadyExtendCapped is set when the window reached its cap still
	// short (BelowAABar says by how much). Zero when not extended.
	SteadyExtended       time.Duration `json:"steady_extended_ns,omitempty"`
	SteadyExtendedReason string        `json:"steady_extended_reason,omitempty"`
	SteadyExtendCapped   bool          `json:"steady_extend_capped,omitempty"`
}

// CacheExpectation is a level's prefix-cache hit rate as the trace set
// implies it beside the one the target reported, over the steady-state
// window's successful requests. The expected figures are those of a
// target with an unbounded cache of 512-token blocks under Rule (replay's
// docs, Prefix sharing); rates are fractions, tokens the trace's local
// counts for the expected figures and the target's for its own.
type CacheExpectation struct {
	// Rule is the sharing rule: "private-conversations" (the agent's
	// system prompt and tools shared by all users, each user's
	// conversation private) or "as-recorded" (every block shared, each
	// recorded request sent once).
	Rule string `json:"rule"`
	// Requests counts the requests; InputTokens and CachedTokens sum their
	// input and the tokens the rule expects from the cache; HitRate =
	// CachedTokens ÷ InputTokens.
	Requests     int64   `json:"requests"`
	InputTokens  int64   `json:"input_tokens"`
	CachedTokens int64   `json:"cached_tokens"`
	HitRate      float64 `json:"hit_rate"`
	// TargetRequests counts those whose response reported input and cached
	// tokens (0: the target reported none); TargetInputTokens,
	// TargetCachedTokens and TargetHitRate are the target's figures over
	// them, and ExpectedHitRate is the rule's over the same requests.
	TargetRequests     int64   `json:"target_requests"`
	TargetInputTokens  int64   `json:"target_input_tokens"`
	TargetCachedTokens int64   `json:"target_cached_tokens"`
	TargetHitRate      float64 `json:"target_hit_rate"`
	ExpectedHitRate    float64 `json:"expected_hit_rate"`
}

// ClientHealth holds the figures by which a level's client is judged (see
// analyze.Validity.JudgeClient) and that judgement. Lags are wall time.
type ClientHealth struct {
	// Sends counts the steady window's sends; LagP50 and LagP99 are their
	// client lag (actual − scheduled send) percentiles, LagMax the largest.
	Sends  int64         `json:"sends"`
	LagP50 time.Duration `json:"lag_p50_ns"`
	LagP99 time.Duration `json:"lag_p99_ns"`
	LagMax time.Duration `json:"lag_max_ns"`
	// Cycle is the level's own time scale (world): the mean time between
	// one user's sends (closed loop), else the mean request duration.
	Cycle time.Duration `json:"cycle_ns"`
	// LateSends counts sends later than the late threshold (the larger of
	// the minimum lag and a share of Cycle).
	LateSends int64 `json:"late_sends"`
	// DelayedLoad is the share of the level's intended load the client did
	// not offer because it sent late: Σ lag ÷ (users × window) in a closed
	// loop, Σ lag ÷ Σ request durations otherwise.
	DelayedLoad float64 `json:"delayed_load"`
	// LagGrowth is how much client lag rose over the steady window (a
	// least-squares fit of lag against send time; ≤ 0 when it did not).
	LagGrowth time.Duration `json:"lag_growth_ns"`
	// CPUUtil is the process CPU over the level ÷ (wall × Cores); -1 when
	// not measured.
	CPUUtil float64 `json:"cpu_utilization"`
	Cores   int     `json:"cores,omitempty"`
	// OK is the judgement: the level's load was what was asked; Saturated
	// says the client itself ran out of capacity (CPU, or lag growing with
	// the load left undelivered); Reasons explains a level that is not OK.
	OK        bool `json:"ok"`
	Saturated bool `json:"saturated,omitempty"`
	// CPUBound says the saturation was the CPU criterion's (the client's
	// own cores), not only lag that kept growing (which a neighbour's load
	// can cause for a while too).
	CPUBound bool     `json:"cpu_bound,omitempty"`
	Reasons  []string `json:"reasons,omitempty"`
}

// LevelVerdict is the search's judgement of a level at its tier.
type LevelVerdict struct {
	Pass bool `json:"pass"`
	// Reasons says why it failed.
	Reasons []string `json:"reasons,omitempty"`
	// SpeedTokS is the output speed at the tier's percentile, tok/s; TTFT
	// the time to first token at its percentile; ErrorRate a fraction.
	SpeedTokS float64       `json:"speed_tok_s"`
	TTFT      time.Duration `json:"ttft_ns"`
	ErrorRate float64       `json:"error_rate"`
	// Outcome is the verdict with the figures' uncertainty: "pass",
	// "fail" or "uncertain" (an interval straddles a limit); Margin its
	// worst normalised slack with the interval's ends (capacity.Level).
	// Empty in files written before the adaptive search.
	Outcome  string  `json:"outcome,omitempty"`
	Margin   float64 `json:"margin,omitempty"`
	MarginLo float64 `json:"margin_lo,omitempty"`
	MarginHi float64 `json:"margin_hi,omitempty"`
}

// SearchMeta is the outcome of a capacity search.
type SearchMeta struct {
	// MaxUsers is the highest passing level's users (0 when none passed);
	// FirstFail the lowest failing level's users (0 when none failed).
	MaxUsers  int `json:"max_users"`
	FirstFail int `json:"first_fail_users"`
	// Tier is the tier each level was judged at.
	Tier        string        `json:"tier"`
	SpeedFloor  float64       `json:"tier_speed_floor_tok_s"`
	TTFTCeiling time.Duration `json:"tier_ttft_ceiling_ns"`
	// Levels counts the levels run, re-measurements included.
	Levels int `json:"levels"`
	// Stopped says why the search ended before its bracket closed.
	Stopped string `json:"stopped,omitempty"`
	// ClientSaturated is set when the client was saturated below the first
	// failing level, which bounded the search (Stopped gives the figures).
	ClientSaturated bool `json:"client_saturated,omitempty"`

	// The adaptive search (issue 12); empty in files written before it.
	//
	// Ended says what ended the search: one of capacity's stop reasons
	// ("precision reached", "budget exhausted", "max users reached", "max
	// repeats reached", "no level passes"), "client saturated" or
	// "interrupted"; EndReason says it with its figures.
	Ended     string `json:"ended,omitempty"`
	EndReason string `json:"end_reason,omitempty"`
	// Precision is the relative width (hi − lo) ÷ max users the search
	// aimed for; Budget the wall time it could spend (0: none).
	Precision float64       `json:"precision,omitempty"`
	Budget    time.Duration `json:"budget_ns,omitempty"`
	// Estimate is max users at Tier fitted over every window, with its
	// interval, when the search ended (nil when no window was measured).
	Estimate *SearchEstimate `json:"estimate,omitempty"`
	// Windows counts the windows the fit used (repeats included,
	// re-measured ones not).
	Windows int `json:"windows,omitempty"`
}

// SearchEstimate is max users with its confidence interval, in users.
type SearchEstimate struct {
	// Point, Lo and Hi are real numbers (round down for a user count); Hi
	// is 0 when unbounded (Censored "above").
	Point float64 `json:"point"`
	Lo    float64 `json:"lo"`
	Hi    float64 `json:"hi"`
	// Censored is "above" (every level passed: Point is a lower bound),
	// "below" (none did) or "" (bounded).
	Censored string `json:"censored,omitempty"`
	// Confidence is the interval's two-sided confidence (0.9).
	Confidence float64 `json:"confidence"`
}

// TimeScaleOrOne returns m.TimeScale, or 1 when it is not a positive number.
func (m *RunMeta) TimeScaleOrOne() float64 {
	if m == nil || !(m.TimeScale > 0) {
		return 1
	}
	return m.TimeScale
}

// Level returns the metadata of level index, or nil.
func (m *RunMeta) Level(index int) *LevelMeta {
	if m == nil {
		return nil
	}
	for i := range m.Levels {
		if m.Levels[i].Index == index {
			return &m.Levels[i]
		}
	}
	return nil
}

// LevelWindow returns the steady-state window level index was asked to
// hold (world; 0 when not recorded).
func (m *RunMeta) LevelWindow(index int) time.Duration {
	if l := m.Level(index); l != nil && l.SteadyWindow > 0 {
		return l.SteadyWindow
	}
	if m == nil {
		return 0
	}
	return m.Steady
}

// encodeRunMeta returns m as the JSON stored under MetaRun.
func encodeRunMeta(m *RunMeta) ([]byte, error) { return json.Marshal(m) }

// decodeRunMeta parses the JSON stored under MetaRun. Unknown keys are
// ignored (a later minor version may add some).
func decodeRunMeta(data []byte) (*RunMeta, error) {
	var m RunMeta
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: run metadata is not valid JSON: %v", ErrFormat, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: run metadata has data after its JSON value", ErrFormat)
	}
	for i := range m.Levels {
		if m.Levels[i].Index < 0 || m.Levels[i].Users < 0 {
			return nil, fmt.Errorf("%w: run metadata level %d has a negative index or user count", ErrFormat, i)
		}
	}
	return &m, nil
}

// runMetaFromKeys builds a RunMeta from the string keys of a schema 1.0/1.1
// results file (footer keys under MetaRunPrefix, prefix removed). Values
// that do not parse are left at their zero value and kept in Extra.
func runMetaFromKeys(kv map[string]string) *RunMeta {
	m := &RunMeta{}
	used := map[string]bool{}
	str := func(k string) string { used[k] = true; return kv[k] }
	keep := func(k string) { // a value that did not parse stays visible
		if v, ok := kv[k]; ok && v != "" {
			if m.Extra == nil {
				m.Extra = map[string]string{}
			}
			m.Extra[k] = v
		}
	}
	num := func(k string) float64 {
		s := str(k)
		if s == "" {
			return 0
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			keep(k)
		}
		return f
	}
	integer := func(k string) int64 {
		s := str(k)
		if s == "" {
			return 0
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			keep(k)
		}
		return n
	}
	dur := func(k string) time.Duration {
		s := str(k)
		if s == "" {
			return 0
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			keep(k)
		}
		return d
	}
	stamp := func(k string) time.Time {
		s := str(k)
		if s == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			keep(k)
		}
		return t
	}
	m.RunID, m.Mode, m.Target = str("run_id"), str("mode"), str("target")
	m.API, m.Model, m.System, m.Hardware = str("api"), str("model"), str("system"), str("hardware")
	m.Accelerators = int(integer("accelerators"))
	if kv["sim_tp"] != "" || kv["sim_instances"] != "" {
		m.Sim = &SimMeta{TP: int(integer("sim_tp")), Instances: int(integer("sim_instances"))}
	}
	m.AgentperfVersion, m.TraceSet, m.OutputPolicy = str("agentperf_version"), str("trace_set"), str("output_policy")
	m.TimeScale, m.ThinkScale, m.ThinkCap = num("time_scale"), num("think_scale"), dur("think_cap")
	m.CacheSalt = str("cache_salt")
	m.Users, m.SessionsPerSecond, m.Seed = int(integer("users")), num("sessions_per_second"), uint64(integer("seed"))
	m.Warmup = dur("warmup")
	// "steady_window" and "duration" both held the window; older files
	// have only "duration".
	if m.Steady = dur("steady_window"); m.Steady == 0 {
		m.Steady = dur("duration")
	}
	used["duration"] = true
	m.DrainTimeout, m.RequestTimeout, m.StallTimeout = dur("drain_timeout"), dur("request_timeout"), dur("stall_timeout")
	m.Shard, m.ShardCount = int(integer("shard")), int(integer("shard_count"))
	m.StartAt, m.Started = stamp("start_at"), stamp("started")
	m.PlanSessions, m.PlanTurns = int(integer("plan_sessions")), integer("plan_turns")
	m.Client = ClientMachine{GOMAXPROCS: int(integer("client_gomaxprocs")), NumCPU: int(integer("client_num_cpu")), GoVersion: str("client_go_version")}
	m.BelowAABar = str("below_aa_bar")
	m.ResponseClock = str("response_clock")
	m.ResponseClockSimRequests, m.ResponseClockWallRequests = integer("response_clock_sim_requests"), integer("response_clock_wall_requests")
	m.ReceiveTimestamps, m.ReceiveTimestampsKernelRequests = str("receive_timestamps"), integer("receive_timestamps_kernel_requests")
	m.Interrupted = str("interrupted") == "true"
	if w := str("warnings"); w != "" {
		m.Warnings = strings.Split(w, "\n")
	}
	// Derived or superseded keys: nothing to keep.
	used["levels"], used["max_client_lag_p99"] = true, true
	if s := kv["search.tier"]; s != "" || kv["search.max_users"] != "" {
		m.Search = &SearchMeta{
			MaxUsers: int(integer("search.max_users")), FirstFail: int(integer("search.first_fail_users")),
			Tier: str("search.tier"), SpeedFloor: num("search.tier_speed_floor_tok_s"), TTFTCeiling: dur("search.tier_ttft_ceiling"),
			Levels: int(integer("search.levels")), Stopped: str("search.stopped"),
		}
	}
	// Levels: every index named by a "level.N." key, in order.
	var idx []int
	seen := map[int]bool{}
	for k := range kv {
		rest, ok := strings.CutPrefix(k, "level.")
		if !ok {
			continue
		}
		n, _, ok := strings.Cut(rest, ".")
		if !ok {
			continue
		}
		i, err := strconv.Atoi(n)
		if err != nil || i < 0 || seen[i] {
			continue
		}
		seen[i] = true
		idx = append(idx, i)
	}
	slices.Sort(idx)
	for _, i := range idx {
		p := "level." + strconv.Itoa(i) + "."
		l := LevelMeta{Index: i, CompletedSessions: -1, CPUUtil: -1, Valid: true}
		l.Users, l.LocalUsers = int(integer(p+"users")), int(integer(p+"local_users"))
		l.Requests, l.Errors = integer(p+"requests"), integer(p+"errors")
		l.SteadyRequests, l.SteadyErrors = integer(p+"steady_requests"), integer(p+"steady_errors")
		l.OutputTokens = integer(p + "output_tokens")
		if kv[p+"completed_sessions"] != "" {
			l.CompletedSessions = int(integer(p + "completed_sessions"))
		}
		if s := str(p + "sessions_by_agent"); s != "" {
			if a, ok := agentCounts(s); ok {
				l.SessionsByAgent = a
			} else {
				keep(p + "sessions_by_agent")
			}
		}
		if kv[p+"cpu_utilization"] != "" {
			l.CPUUtil = num(p + "cpu_utilization")
		}
		l.Wall = time.Duration(num(p+"wall_s") * float64(time.Second))
		used[p+"cpu_us_per_output_token"], used[p+"client_lag_p50_ms"] = true, true
		used[p+"client_lag_p99_ms"], used[p+"client_lag_p99_all_ms"] = true, true
		l.SteadyWindow = dur(p + "steady_window")
		if str(p+"valid") == "false" || kv[p+"invalid"] != "" {
			l.Valid = false
			r := strings.TrimSpace(str(p + "invalid_reasons"))
			r = strings.TrimSuffix(strings.TrimPrefix(r, "["), "]")
			if r == "" {
				r = str(p + "invalid")
			}
			if r == "" {
				r = "marked invalid by replay"
			}
			l.Invalid = []string{r}
		}
		used[p+"invalid"], used[p+"invalid_reasons"] = true, true
		if s := str(p + "pass"); s != "" {
			v := &LevelVerdict{Pass: s == "true", SpeedTokS: num(p + "speed_tok_s"), TTFT: dur(p + "ttft"), ErrorRate: num(p + "error_rate")}
			if r := str(p + "verdict"); r != "" {
				v.Reasons = strings.Split(r, "; ")
			}
			l.Verdict = v
		}
		if s := strings.TrimSpace(str(p + "below_aa_bar")); s != "" {
			// fmt.Sprint of a []string: the items are not quoted, so they
			// are kept as one entry.
			l.BelowAABar = []string{strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")}
		}
		l.Interrupted = str(p+"interrupted") == "true"
		m.Levels = append(m.Levels, l)
	}
	for k, v := range kv {
		if !used[k] {
			if m.Extra == nil {
				m.Extra = map[string]string{}
			}
			m.Extra[k] = v
		}
	}
	return m
}

// agentCounts parses the per-agent session counts of a 1.1 file: Go's fmt
// of a map[string]int, "map[claude-code:12 codex:3]". An agent name with a
// space cannot be told apart there; such a value does not parse.
func agentCounts(s string) (map[string]int, bool) {
	s = strings.TrimSpace(s)
	inner, ok := strings.CutPrefix(s, "map[")
	if !ok {
		return nil, false
	}
	inner, ok = strings.CutSuffix(inner, "]")
	if !ok {
		return nil, false
	}
	out := map[string]int{}
	for _, f := range strings.Fields(inner) {
		i := strings.LastIndexByte(f, ':')
		if i < 0 {
			return nil, false
		}
		n, err := strconv.Atoi(f[i+1:])
		if err != nil || n < 0 {
			return nil, false
		}
		out[f[:i]] += n
	}
	return out, true
}
