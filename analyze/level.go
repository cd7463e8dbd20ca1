package analyze

import (
	"cmp"
	"fmt"
	"github.com/agentperf/agentperf/internal/hist"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/agentperf/agentperf/schemas"
)

// AgentPerf's phase requirements (see Validity); the client rule's
// thresholds are in client.go.
const (
	// DefaultMinTrajectories is the completed trajectories a level needs.
	DefaultMinTrajectories = 30
	// DefaultMinTrajectoriesPerAgent is the least each agent must complete.
	DefaultMinTrajectoriesPerAgent = 3
	// DefaultMinWindow is the shortest steady-state window.
	DefaultMinWindow = 10 * time.Minute
)

// Validity holds the thresholds behind a level's validity flags. The zero
// value means the defaults; a negative field disables its check.
type Validity struct {
	// MinTrajectories is the least number of completed trajectories a level
	// needs (AA: 30).
	MinTrajectories int
	// MinTrajectoriesPerAgent is the least number each agent (the coding
	// agent a trace came from, as replay reports it) must complete (AA: 3).
	MinTrajectoriesPerAgent int
	// LateLag is the least client lag (sent − scheduled, wall) that counts
	// a send as late; LateCycleShare the share of the level's cycle that
	// does too (the larger decides). Defaults DefaultLateLag and
	// DefaultLateCycleShare.
	LateLag        time.Duration
	LateCycleShare float64
	// MaxDelayedLoad is the share of the level's intended load late sends
	// may leave undelivered (default DefaultMaxDelayedLoad).
	MaxDelayedLoad float64
	// MinSendsP99 is the least number of steady sends whose lag p99 is
	// judged (default DefaultMinSendsP99).
	MinSendsP99 int
	// MaxClientCPU is the client's CPU share of its cores at which it counts
	// as saturated (default DefaultMaxClientCPU); SaturatedLoad the
	// undelivered load share at which a client that fell behind does
	// (default DefaultSaturatedLoad).
	MaxClientCPU  float64
	SaturatedLoad float64
	// MaxErrorRate flags levels with more errors (default 0.01).
	MaxErrorRate float64
	// MinWindow is the shortest acceptable steady-state window (AA: 10 min).
	MinWindow time.Duration
}

func (v Validity) normalized() Validity {
	if v.MinTrajectories == 0 {
		v.MinTrajectories = DefaultMinTrajectories
	}
	if v.MinTrajectoriesPerAgent == 0 {
		v.MinTrajectoriesPerAgent = DefaultMinTrajectoriesPerAgent
	}
	if v.LateLag == 0 {
		v.LateLag = DefaultLateLag
	}
	if v.LateCycleShare == 0 {
		v.LateCycleShare = DefaultLateCycleShare
	}
	if v.MaxDelayedLoad == 0 {
		v.MaxDelayedLoad = DefaultMaxDelayedLoad
	}
	if v.MinSendsP99 == 0 {
		v.MinSendsP99 = DefaultMinSendsP99
	}
	if v.MaxClientCPU == 0 {
		v.MaxClientCPU = DefaultMaxClientCPU
	}
	if v.SaturatedLoad == 0 {
		v.SaturatedLoad = DefaultSaturatedLoad
	}
	if v.MaxErrorRate == 0 {
		v.MaxErrorRate = DefaultMaxErrorRate
	}
	if v.MinWindow == 0 {
		v.MinWindow = DefaultMinWindow
	}
	return v
}

// Flag codes of LevelStats.Flags.
const (
	FlagFewTrajectories         = "few_trajectories"
	FlagFewTrajectoriesPerAgent = "few_trajectories_per_agent"
	FlagClientLag               = "client_lag"
	FlagClientSaturated         = "client_saturated"
	FlagRemeasured              = "remeasured"
	FlagErrors                  = "errors"
	FlagShortWindow             = "short_window"
	FlagWindowUnderMin          = "window_under_minimum"
	FlagInvalid                 = "invalid"
	FlagNoSteady                = "no_steady_state"
	// FlagOutputNotPinned: with output policy exact, some responses' output
	// tokens differ from the pinned length (the target ignores the pin).
	FlagOutputNotPinned = "output_not_pinned"
)

// Flag is one validity problem of a level: a reason its figures should not
// be trusted (or would not be accepted by AA-AgentPerf).
type Flag struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Dist is the distribution of one metric over a level's requests: the
// project's one histogram (internal/hist), exact up to hist.ExactValues
// values, then within 2^-11 of the value.
type Dist = hist.Hist

// Resolutions of the distributions (units per value unit).
const (
	speedScale = 1000 // tok/s → milli-tok/s
	msScale    = 1000 // ms → µs
	lagScale   = 1e6  // ms → ns
)

// LevelStats are the measurements of one concurrency level of one run:
// every figure except the warm-up and drain counts is over the level's
// steady-state requests (Phase == "steady").
type LevelStats struct {
	// RunID and Level identify the level; Users is its concurrency.
	RunID string `json:"run_id"`
	Level int    `json:"level"`
	Users int    `json:"users"`
	// Shards is the number of distinct shards whose rows were merged.
	Shards int `json:"shards"`

	// Requests counts steady-state requests; Errors those that failed (an
	// error message, or a status outside 200–299).
	Requests int64 `json:"requests"`
	Errors   int64 `json:"errors"`
	// WarmupRequests and DrainRequests count the other phases' rows.
	WarmupRequests int64 `json:"warmup_requests"`
	DrainRequests  int64 `json:"drain_requests"`
	// Trajectories counts completed trajectories: replay's count when the
	// run metadata has it (TrajectoriesFrom "replay"), else the estimate
	// described at LevelAccumulator (TrajectoriesFrom ""), which never
	// counts a user's last session.
	Trajectories     int64  `json:"trajectories"`
	TrajectoriesFrom string `json:"trajectories_from"`
	// TrajectoriesByAgent splits replay's count by agent (nil when the
	// metadata does not say).
	TrajectoriesByAgent map[string]int64 `json:"trajectories_by_agent"`

	// OutputSpeed is the distribution of request output speed, tok/s;
	// E2ESpeed of end-to-end speed, tok/s; TTFT of time to first token, ms;
	// ITL of inter-chunk gaps, ms; ClientLag of sent − scheduled, ms.
	OutputSpeed *Dist `json:"-"`
	E2ESpeed    *Dist `json:"-"`
	TTFT        *Dist `json:"-"`
	ITL         *Dist `json:"-"`
	ClientLag   *Dist `json:"-"`

	// OutputTokens sums output tokens of successful requests; ChunkCounted
	// counts those whose target reported none (their chunks were counted).
	OutputTokens int64 `json:"output_tokens"`
	ChunkCounted int64 `json:"chunk_counted_requests"`
	// InputTokens sums input tokens of successful requests (target-reported,
	// else the trace's expected count).
	InputTokens int64 `json:"input_tokens"`
	// CacheInputTokens and CachedTokens sum input and cached tokens over
	// successful requests whose target reported both.
	CacheInputTokens int64 `json:"cache_input_tokens"`
	CachedTokens     int64 `json:"cached_tokens"`

	// WindowStartNS and WindowEndNS bound the steady requests: the first
	// steady request's send to the last steady request's end, Unix ns (0
	// when there is none). Window() is their span.
	WindowStartNS int64 `json:"window_start_ns"`
	WindowEndNS   int64 `json:"window_end_ns"`
	// SteadyStartNS and SteadyEndNS bound the steady-state window itself,
	// [start, end), Unix ns (world): replay's phase boundaries, estimated
	// from the scheduled times of the rows on either side of each (see
	// steadyWindow). Throughput and power are measured over it; 0 when the
	// level has no steady request.
	SteadyStartNS int64 `json:"steady_start_ns"`
	SteadyEndNS   int64 `json:"steady_end_ns"`
	// WindowOutputTokens counts the output tokens of successful requests
	// (any phase) that arrived inside the steady-state window, from each
	// request's chunk arrival times (a chunk carries output ÷ chunks
	// tokens; a response without chunks counts at its end). Input tokens
	// count at the request's send: those of the steady requests
	// (InputTokens), which replay sent inside the window.
	WindowOutputTokens float64 `json:"window_output_tokens"`
	// SteadySessions counts the distinct sessions (shard, user, session id)
	// with a steady request: the clusters of the bootstrap.
	SteadySessions int `json:"steady_sessions"`
	// TrajectoriesInWindow counts the completed trajectories (the estimate
	// rule of LevelAccumulator) whose last response ended inside the
	// steady-state window: the energy per trajectory divides by it.
	TrajectoriesInWindow int64 `json:"trajectories_in_window"`
	// PinChecked counts the successful steady requests with a pinned
	// output length (expected output tokens > 0) and a target-reported
	// output count; Unpinned those whose count differs from the pin.
	PinChecked int64 `json:"pin_checked"`
	Unpinned   int64 `json:"unpinned"`
	// Power is the measured power over the steady-state window (nil when
	// the run has no power file).
	Power *LevelPower `json:"power,omitempty"`
	// ConfiguredWindow is the steady-state window replay was asked for (0
	// when the results do not say).
	ConfiguredWindow time.Duration `json:"configured_window_ns"`

	// Flags lists validity problems; empty for a valid level.
	Flags []Flag `json:"flags"`

	// TimeScale is the run's K (rows hold world time; lags are divided by
	// it into the client's wall clock); 0 means 1.
	TimeScale float64 `json:"-"`
	// Client is the client rule's figures and judgement (JudgeClient).
	Client schemas.ClientHealth `json:"-"`
	client clientFigures
	// bounds are the scheduled times around the phase boundaries; out the
	// output tokens by arrival; boot the requests kept for the bootstrap.
	bounds phaseBounds
	out    *timeline
	boot   *bootSample
}

// phaseBounds holds the scheduled times next to the steady window's ends:
// the last warm-up and first steady schedule, the last steady and first
// drain schedule (Unix ns; 0 when there is none).
type phaseBounds struct {
	lastWarmup, firstSteady, lastSteady, firstDrain int64
}

func (b *phaseBounds) add(phase string, sched int64) {
	if sched <= 0 {
		return
	}
	switch phase {
	case schemas.PhaseWarmup:
		b.lastWarmup = max(b.lastWarmup, sched)
	case schemas.PhaseSteady:
		if b.firstSteady == 0 || sched < b.firstSteady {
			b.firstSteady = sched
		}
		b.lastSteady = max(b.lastSteady, sched)
	case schemas.PhaseDrain:
		if b.firstDrain == 0 || sched < b.firstDrain {
			b.firstDrain = sched
		}
	}
}

func (b *phaseBounds) merge(o *phaseBounds) {
	b.add(schemas.PhaseWarmup, o.lastWarmup)
	b.add(schemas.PhaseSteady, o.firstSteady)
	b.add(schemas.PhaseSteady, o.lastSteady)
	b.add(schemas.PhaseDrain, o.firstDrain)
}

// steadyWindow estimates replay's steady-state window [start, end) of a
// level whose configured window is configured (0 when unknown). Replay
// puts a request in the steady phase when it is due (scheduled) inside
// the window, so the start lies between the last warm-up and the first
// steady schedule (their midpoint is taken; the first steady schedule
// without warm-up rows), and the end between the last steady and the
// first drain schedule: start + configured, kept within those two (the
// midpoint when the window is unknown; the last steady schedule without
// drain rows). The error is at most half the gap between two sends
// around each end: 0.25 s at 20 users on 10 s cycles.
func (b *phaseBounds) steadyWindow(configured time.Duration) (start, end int64) {
	if b.firstSteady == 0 {
		return 0, 0
	}
	start = b.firstSteady
	if b.lastWarmup > 0 && b.lastWarmup < b.firstSteady {
		start = b.lastWarmup + (b.firstSteady-b.lastWarmup)/2
	}
	lo, hi := b.lastSteady, b.lastSteady
	if b.firstDrain > b.lastSteady {
		hi = b.firstDrain
	}
	end = lo + (hi-lo)/2
	if configured > 0 {
		end = min(max(start+int64(configured), lo), hi)
	}
	if end <= start {
		end = start
	}
	return start, end
}

// SteadyWindow returns the length of the steady-state window throughput
// and power are measured over (0 when unknown).
func (s *LevelStats) SteadyWindow() time.Duration {
	return time.Duration(max(s.SteadyEndNS-s.SteadyStartNS, 0))
}

// Window returns the steady-state window's length (0 when empty).
func (s *LevelStats) Window() time.Duration {
	if s.WindowEndNS <= s.WindowStartNS {
		return 0
	}
	return time.Duration(s.WindowEndNS - s.WindowStartNS)
}

// ErrorRate returns Errors ÷ Requests (0 without requests).
func (s *LevelStats) ErrorRate() float64 {
	if s.Requests == 0 {
		return 0
	}
	return float64(s.Errors) / float64(s.Requests)
}

// OutputTokPerSec returns the output tokens that arrived inside the
// steady-state window ÷ its length in seconds, summed over all users: what
// the system delivered per second (0 when the window is empty).
func (s *LevelStats) OutputTokPerSec() float64 {
	w := s.SteadyWindow().Seconds()
	if w <= 0 {
		return 0
	}
	return s.WindowOutputTokens / w
}

// TotalTokPerSec returns (input tokens of the requests sent inside the
// steady-state window, the steady ones, + output tokens that arrived
// inside it) ÷ its length in seconds (0 when the window is empty).
func (s *LevelStats) TotalTokPerSec() float64 {
	w := s.SteadyWindow().Seconds()
	if w <= 0 {
		return 0
	}
	return (float64(s.InputTokens) + s.WindowOutputTokens) / w
}

// CacheHitRate returns target-reported cached ÷ input tokens (NaN when no
// request reported both).
func (s *LevelStats) CacheHitRate() float64 {
	if s.CacheInputTokens == 0 {
		return math.NaN()
	}
	return float64(s.CachedTokens) / float64(s.CacheInputTokens)
}

// HasFlag reports whether the level carries the flag code.
func (s *LevelStats) HasFlag(code string) bool {
	for _, f := range s.Flags {
		if f.Code == code {
			return true
		}
	}
	return false
}

// isFailed reports whether a result row is an error: it carries an error
// message or its HTTP status is outside 200–299 (0 = no response).
func isFailed(r *schemas.Result) bool {
	return r.Error != "" || r.Status < 200 || r.Status > 299
}

// outputTokens returns the request's output tokens: the target-reported
// count when present (≥ 0), else the number of content chunks received;
// counted is true in the second case.
func outputTokens(r *schemas.Result) (n int64, counted bool) {
	if r.OutputTokens >= 0 {
		return int64(r.OutputTokens), false
	}
	return int64(len(r.ChunkOffsetsUS)), true
}

// requestTimes returns the request's first-token and last-token times, Unix
// ns: first is FirstTokenNS (else the first chunk's arrival), last is the
// last chunk's arrival (else EndNS). ok is false without a first token.
func requestTimes(r *schemas.Result) (first, last int64, ok bool) {
	var f, l int32
	if n := len(r.ChunkOffsetsUS); n > 0 {
		f, l = r.ChunkOffsetsUS[0], r.ChunkOffsetsUS[n-1]
	}
	return times(r.SentNS, r.FirstTokenNS, r.EndNS, int32(len(r.ChunkOffsetsUS)), f, l)
}

func times(sent, firstNS, end int64, n, firstUS, lastUS int32) (first, last int64, ok bool) {
	first = firstNS
	if first <= 0 && n > 0 {
		first = sent + int64(firstUS)*1000
	}
	if first <= 0 {
		return 0, 0, false
	}
	if n > 0 {
		last = sent + int64(lastUS)*1000
	} else {
		last = end
	}
	if last < first {
		last = first
	}
	return first, last, true
}

// sessionKey identifies one session replay by one simulated user.
type sessionKey struct {
	shard   int32
	user    int32
	session string
}

// sessionTrack follows one (user, session) through a level.
type sessionTrack struct {
	hash      uint64 // sessionHash of its key
	firstSent int64
	lastEnd   int64
	maxTurn   int32
	rows      int32
	failed    bool
	hasTurn0  bool
	steady    bool // it has a steady request
}

// LevelAccumulator gathers one level's result rows into LevelStats. Memory
// is bounded by the distributions (see Dist) plus a few words per session
// and user, not per row. Not safe for concurrent use.
//
// Which rows count: metrics come from steady-phase rows only. Every steady
// row counts as a request and in the error rate. Successful steady rows give
// TTFT (if a first token arrived), ITL (gaps between consecutive chunk
// offsets), E2E speed (≥ 1 output token) and output speed (≥ 2 output tokens
// and last token after first); failed rows give none of these. Client lag is
// over all steady rows.
//
// A trajectory is complete when one user sent every turn of a session
// (turns 0…k contiguous, all successful, any phase of this level) and then
// moved on to another session — a closed-loop user starts its next session
// only after finishing the previous one, so the last session each user was
// on is not counted (its end was not observed).
type LevelAccumulator struct {
	s        LevelStats
	shards   map[int32]bool
	sessions map[sessionKey]*sessionTrack
	started  bool
	// timeScale is the run's K (see NewLevelAccumulator).
	timeScale float64
}

// NewLevelAccumulator returns an empty accumulator for the rows of a run at
// time scale timeScale (replay's K: the rows hold world time, K × the
// client's wall clock; 0 means 1).
func NewLevelAccumulator(timeScale float64) *LevelAccumulator {
	return &LevelAccumulator{
		timeScale: timeScale,
		s: LevelStats{
			OutputSpeed: hist.New(speedScale),
			E2ESpeed:    hist.New(speedScale),
			TTFT:        hist.New(msScale),
			ITL:         hist.New(msScale),
			ClientLag:   hist.New(lagScale),
			out:         &timeline{},
			boot:        &bootSample{thr: math.MaxUint64},
		},
		shards:   map[int32]bool{},
		sessions: map[sessionKey]*sessionTrack{},
	}
}

// Add records one result row of this level. The row may be reused after
// Add returns.
func (a *LevelAccumulator) Add(r *schemas.Result) {
	v := row{
		runID: r.RunID, phase: r.Phase, session: r.SessionID, err: r.Error,
		shard: r.Shard, level: r.Level, users: r.Users, user: r.User, turn: r.Turn,
		sched: r.ScheduledNS, sent: r.SentNS, first: r.FirstTokenNS, end: r.EndNS,
		input: r.InputTokens, cached: r.CachedTokens, output: r.OutputTokens,
		expIn: r.ExpectedInputTokens, expOut: r.ExpectedOutputTokens, status: r.Status,
		nChunks:  int32(len(r.ChunkOffsetsUS)),
		lagScale: a.timeScale,
	}
	if n := len(r.ChunkOffsetsUS); n > 0 {
		v.firstChunkUS, v.lastChunkUS = r.ChunkOffsetsUS[0], r.ChunkOffsetsUS[n-1]
	}
	if w := v.chunkTokens(); w > 0 {
		for _, off := range r.ChunkOffsetsUS {
			a.s.out.add(r.SentNS+int64(off)*1000, w)
		}
	}
	if a.addRow(&v) {
		a.s.ITL.AddGapsUS(r.ChunkOffsetsUS)
	}
}

// row is the part of a result row the analysis reads; chunk offsets are
// reduced to their count, first and last.
type row struct {
	runID, phase, session, err         string
	shard, level, users, user, turn    int32
	sched, sent, first, end            int64
	input, cached, output, expIn       int32
	expOut, status                     int32
	nChunks, firstChunkUS, lastChunkUS int32
	// lagScale divides sent − scheduled into wall-clock lag (the run's time
	// scale; 0 or 1 = none).
	lagScale float64
}

func (v *row) failed() bool { return v.err != "" || v.status < 200 || v.status > 299 }

// chunkTokens returns the output tokens each of a successful row's chunks
// stands for on the timeline: its output tokens ÷ its chunks (1 when the
// target reported none: the chunks were counted); 0 for a failed row or
// one without chunks.
func (v *row) chunkTokens() float64 {
	if v.nChunks <= 0 || v.failed() {
		return 0
	}
	if v.output < 0 {
		return 1
	}
	return float64(v.output) / float64(v.nChunks)
}

// itlEligible reports whether a row's inter-chunk gaps count towards ITL:
// steady-state and successful.
func (v *row) itlEligible() bool { return v.phase == schemas.PhaseSteady && !v.failed() }

// addRow records everything of a row but its inter-chunk gaps, and reports
// whether those gaps count (see itlEligible).
func (a *LevelAccumulator) addRow(r *row) bool {
	s := &a.s
	if !a.started {
		a.started = true
		s.RunID = strings.Clone(r.runID)
		s.Level = int(r.level)
		s.Users = int(r.users)
	}
	if int(r.users) > s.Users {
		s.Users = int(r.users)
	}
	a.shards[r.shard] = true
	failed := r.failed()
	t := a.track(r, failed)
	s.bounds.add(r.phase, r.sched)
	if !failed {
		out := int64(r.output)
		if out < 0 {
			out = int64(r.nChunks)
		}
		if r.nChunks == 0 && out > 0 { // no chunk times: all at the end
			s.out.add(r.end, float64(out))
		}
	}
	switch r.phase {
	case schemas.PhaseWarmup:
		s.WarmupRequests++
		return false
	case schemas.PhaseDrain:
		s.DrainRequests++
		return false
	case schemas.PhaseSteady:
	default:
		return false
	}
	s.Requests++
	lag := float64(r.sent-r.sched) / 1e6
	if r.lagScale > 1 {
		lag /= r.lagScale // world time → the client's wall clock
		s.TimeScale = r.lagScale
	}
	s.ClientLag.Add(lag)
	s.client.add(r.sched, r.sent, r.end, lag*1e6)
	t.steady = true
	end := r.end
	if s.WindowStartNS == 0 || r.sent < s.WindowStartNS {
		s.WindowStartNS = r.sent
	}
	if failed {
		s.Errors++
		if end > s.WindowEndNS {
			s.WindowEndNS = end
		}
		s.boot.add(bootRecord{session: t.hash, speed: math.NaN(), ttft: bootFailed})
		return false
	}
	out := int64(r.output)
	if out < 0 {
		out = int64(r.nChunks)
		s.ChunkCounted++
	}
	s.OutputTokens += out
	in := int64(r.input)
	if in < 0 {
		in = max(int64(r.expIn), 0)
	}
	s.InputTokens += in
	if r.input >= 0 && r.cached >= 0 {
		s.CacheInputTokens += int64(r.input)
		s.CachedTokens += int64(r.cached)
	}
	if r.output >= 0 && r.expOut > 0 {
		s.PinChecked++
		if r.output != r.expOut {
			s.Unpinned++
		}
	}
	first, last, ok := times(r.sent, r.first, r.end, r.nChunks, r.firstChunkUS, r.lastChunkUS)
	if last > end {
		end = last
	}
	if end > s.WindowEndNS {
		s.WindowEndNS = end
	}
	rec := bootRecord{session: t.hash, speed: math.NaN(), ttft: -1}
	if ok {
		rec.ttft = first - r.sent
		s.TTFT.Add(float64(first-r.sent) / 1e6)
		if out >= 1 && last > r.sent {
			s.E2ESpeed.Add(float64(out) / (float64(last-r.sent) / 1e9))
		}
		if out >= 2 && last > first {
			rec.speed = float64(out-1) / (float64(last-first) / 1e9)
			s.OutputSpeed.Add(rec.speed)
		}
	}
	s.boot.add(rec)
	return true
}

func (a *LevelAccumulator) track(r *row, failed bool) *sessionTrack {
	t := a.sessions[sessionKey{r.shard, r.user, r.session}]
	if t == nil {
		// the row's memory may be reused: keep a copy of the id
		t = &sessionTrack{hash: sessionHash(r.shard, r.user, r.session), firstSent: r.sent, maxTurn: -1}
		a.sessions[sessionKey{r.shard, r.user, strings.Clone(r.session)}] = t
	}
	t.rows++
	t.firstSent = min(t.firstSent, r.sent)
	t.lastEnd = max(t.lastEnd, r.end)
	t.maxTurn = max(t.maxTurn, r.turn)
	t.failed = t.failed || failed
	t.hasTurn0 = t.hasTurn0 || r.turn == 0
	return t
}

// Stats returns the level's measurements and validity flags, judged with
// thresholds v (zero value: defaults) and configuredWindow (the window
// replay was asked for; 0 if unknown). Calling Add after Stats is allowed;
// the returned LevelStats shares its distributions with the accumulator.
func (a *LevelAccumulator) Stats(v Validity, configuredWindow time.Duration) *LevelStats {
	v = v.normalized()
	s := a.s
	s.Shards = len(a.shards)
	s.ConfiguredWindow = configuredWindow
	s.SteadyStartNS, s.SteadyEndNS = s.bounds.steadyWindow(configuredWindow)
	s.WindowOutputTokens = s.out.sum(s.SteadyStartNS, s.SteadyEndNS)
	s.Trajectories, s.TrajectoriesFrom, s.TrajectoriesByAgent = 0, "", nil
	s.TrajectoriesInWindow, s.SteadySessions = 0, 0
	type userKey struct{ shard, user int32 }
	type ses struct {
		first int64
		t     *sessionTrack
	}
	byUser := map[userKey][]ses{}
	for k, t := range a.sessions {
		u := userKey{k.shard, k.user}
		byUser[u] = append(byUser[u], ses{t.firstSent, t})
		if t.steady {
			s.SteadySessions++
		}
	}
	for _, list := range byUser {
		slices.SortFunc(list, func(x, y ses) int { return cmp.Compare(x.first, y.first) })
		for i := 0; i < len(list)-1; i++ { // the last session may be unfinished
			t := list[i].t
			if !t.failed && t.hasTurn0 && int32(t.rows) == t.maxTurn+1 {
				s.Trajectories++
				if t.lastEnd >= s.SteadyStartNS && t.lastEnd < s.SteadyEndNS {
					s.TrajectoriesInWindow++
				}
			}
		}
	}
	s.Flags = nil
	flag := func(code, format string, args ...any) {
		s.Flags = append(s.Flags, Flag{Code: code, Message: fmt.Sprintf(format, args...)})
	}
	if s.Requests == 0 {
		flag(FlagNoSteady, "no steady-state requests")
	}
	if v.MinTrajectories > 0 && s.Users > 0 && s.Trajectories < int64(v.MinTrajectories) {
		// AA's minimum is of closed-loop users' trajectories; an open-loop
		// level (users 0) is judged on its requests
		flag(FlagFewTrajectories, "%d completed trajectories < %d", s.Trajectories, v.MinTrajectories)
	}
	if v.MaxErrorRate > 0 && s.ErrorRate() > v.MaxErrorRate {
		flag(FlagErrors, "error rate %.2f %% > %s %%", 100*s.ErrorRate(), fmtNum(100*v.MaxErrorRate))
	}
	w := s.Window()
	if configuredWindow > 0 && s.Requests > 0 && w < configuredWindow {
		flag(FlagShortWindow, "steady-state window %s shorter than the configured %s", fmtDur(w), fmtDur(configuredWindow))
	}
	if v.MinWindow > 0 && s.Requests > 0 && w < v.MinWindow {
		flag(FlagWindowUnderMin, "steady-state window %s < %s (AA minimum)", fmtDur(w), fmtDur(v.MinWindow))
	}
	sortFlags(s.Flags)
	s.setClientFlags(s.JudgeClient(v, -1, 0))
	return &s
}

// Merge adds everything o gathered to a; both must hold rows of the same
// level. o must not be used afterwards.
func (a *LevelAccumulator) Merge(o *LevelAccumulator) {
	if !o.started {
		return
	}
	s, t := &a.s, &o.s
	if !a.started {
		a.started = true
		s.RunID, s.Level, s.Users = t.RunID, t.Level, t.Users
	}
	s.Users = max(s.Users, t.Users)
	for k := range o.shards {
		a.shards[k] = true
	}
	s.Requests += t.Requests
	s.Errors += t.Errors
	s.WarmupRequests += t.WarmupRequests
	s.DrainRequests += t.DrainRequests
	s.OutputSpeed.Merge(t.OutputSpeed)
	s.E2ESpeed.Merge(t.E2ESpeed)
	s.TTFT.Merge(t.TTFT)
	s.ITL.Merge(t.ITL)
	s.ClientLag.Merge(t.ClientLag)
	s.client.merge(&t.client)
	s.TimeScale = max(s.TimeScale, t.TimeScale)
	s.OutputTokens += t.OutputTokens
	s.ChunkCounted += t.ChunkCounted
	s.PinChecked += t.PinChecked
	s.Unpinned += t.Unpinned
	s.bounds.merge(&t.bounds)
	s.out.merge(t.out)
	s.boot.merge(t.boot)
	s.InputTokens += t.InputTokens
	s.CacheInputTokens += t.CacheInputTokens
	s.CachedTokens += t.CachedTokens
	if t.WindowStartNS != 0 && (s.WindowStartNS == 0 || t.WindowStartNS < s.WindowStartNS) {
		s.WindowStartNS = t.WindowStartNS
	}
	s.WindowEndNS = max(s.WindowEndNS, t.WindowEndNS)
	for k, ot := range o.sessions {
		mt := a.sessions[k]
		if mt == nil {
			a.sessions[k] = ot
			continue
		}
		mt.rows += ot.rows
		mt.firstSent = min(mt.firstSent, ot.firstSent)
		mt.lastEnd = max(mt.lastEnd, ot.lastEnd)
		mt.steady = mt.steady || ot.steady
		mt.maxTurn = max(mt.maxTurn, ot.maxTurn)
		mt.failed = mt.failed || ot.failed
		mt.hasTurn0 = mt.hasTurn0 || ot.hasTurn0
	}
}
