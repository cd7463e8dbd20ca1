// Package synth generates seeded, deterministic coding-agent trajectories in
// OpenAI Chat format, shaped like the published AA-AgentPerf workload: 20–200
// model calls per session, one system prompt and tool list shared by every
// session, context growing with every tool result past 100K tokens in the
// longest sessions, short outputs with a long tail, and 0.1–5 s of tool time
// between calls. The text (Go and Python code, diffs, shell and test output,
// file reads) comes from this package's own templates, so token counts are
// exact o200k_base counts of real text.
package synth

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"time"

	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/tokens"
)

// Defaults of Options.
const (
	DefaultSessions       = 20
	DefaultMinTurns       = 20
	DefaultMaxTurns       = 200
	DefaultModel          = "gpt-oss-120b"
	DefaultMaxInputTokens = 128000
	DefaultMaxTokens      = 16384
	DefaultArrivalGap     = 30 * time.Second
)

// DefaultStart is the start time of the first session unless Options.Start
// is set: 2026-01-01T00:00:00Z, so output does not depend on the clock.
var DefaultStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Shape of the workload (see the package comment). Output lengths are
// log-normal; think times are log-normal around a per-tool median, clamped.
const (
	outputMedian = 125.0 // tokens, before the visible text raises short outputs
	outputSigma  = 1.75
	minOutput    = 8
	thinkMedian  = 1.0 // seconds, scaled per tool (toolCall.slow)
	thinkSigma   = 0.6
	minThink     = 100 * time.Millisecond
	maxThink     = 5 * time.Second
)

// Options configures Generate and Write. Zero fields take the defaults.
type Options struct {
	// Sessions is the number of sessions (trajectories); default 20.
	Sessions int
	// MinTurns and MaxTurns bound the model calls per session (defaults 20
	// and 200); turn counts are log-uniform between them.
	MinTurns, MaxTurns int
	// Seed selects the workload; the same options and seed give the same
	// trace set, byte for byte in content.
	Seed uint64
	// Model is the model name in every request; default gpt-oss-120b.
	Model string
	// MaxInputTokens is the prompt size at which the agent compacts its
	// history into a summary, as real agents do near the context limit;
	// default 128000 tokens.
	MaxInputTokens int
	// MaxTokens is the max_tokens request parameter; default 16384. Outputs
	// are drawn below it.
	MaxTokens int
	// Start is the first session's start time; default DefaultStart.
	Start time.Time
	// ArrivalGap is the mean gap between session starts (exponentially
	// distributed); default 30 s. Negative means all sessions start at Start.
	ArrivalGap time.Duration
	// Workers is the number of sessions generated in parallel; 0 means
	// GOMAXPROCS. It does not change the output.
	Workers int
}

func (o *Options) fill() error {
	if o.Sessions == 0 {
		o.Sessions = DefaultSessions
	}
	switch {
	case o.MinTurns == 0 && o.MaxTurns == 0:
		o.MinTurns, o.MaxTurns = DefaultMinTurns, DefaultMaxTurns
	case o.MinTurns == 0:
		o.MinTurns = max(1, min(DefaultMinTurns, o.MaxTurns))
	case o.MaxTurns == 0:
		o.MaxTurns = max(DefaultMaxTurns, o.MinTurns)
	}
	if o.Model == "" {
		o.Model = DefaultModel
	}
	if o.MaxInputTokens == 0 {
		o.MaxInputTokens = DefaultMaxInputTokens
	}
	if o.MaxTokens == 0 {
		o.MaxTokens = DefaultMaxTokens
	}
	if o.Start.IsZero() {
		o.Start = DefaultStart
	}
	if o.ArrivalGap == 0 {
		o.ArrivalGap = DefaultArrivalGap
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	switch {
	case o.Sessions < 0:
		return fmt.Errorf("sessions must be positive, got %d", o.Sessions)
	case o.MinTurns < 1:
		return fmt.Errorf("min turns must be at least 1, got %d", o.MinTurns)
	case o.MaxTurns < o.MinTurns:
		return fmt.Errorf("max turns (%d) is below min turns (%d)", o.MaxTurns, o.MinTurns)
	case o.MaxInputTokens < 8000:
		return fmt.Errorf("max input tokens must be at least 8000, got %d", o.MaxInputTokens)
	case o.MaxTokens < 256:
		return fmt.Errorf("max tokens must be at least 256, got %d", o.MaxTokens)
	}
	return nil
}

// Message is one OpenAI Chat message as synth writes it. Fields are in
// canonical (sorted) order.
type Message struct {
	// Content is null on assistant messages that only call tools.
	Content *string `json:"content"`
	// ReasoningContent is the model's reasoning; present only in responses
	// (agents do not send it back in later requests).
	ReasoningContent string     `json:"reasoning_content,omitempty"`
	Role             string     `json:"role"`
	ToolCallID       string     `json:"tool_call_id,omitempty"`
	ToolCalls        []ToolCall `json:"tool_calls,omitempty"`
}

// ToolCall is one function call of an assistant message.
type ToolCall struct {
	Function FunctionCall `json:"function"`
	ID       string       `json:"id"`
	Type     string       `json:"type"`
}

// FunctionCall names the tool and carries its JSON arguments as a string.
type FunctionCall struct {
	Arguments string `json:"arguments"`
	Name      string `json:"name"`
}

// ChatRequest is a /v1/chat/completions request body.
type ChatRequest struct {
	MaxTokens     int             `json:"max_tokens"`
	Messages      []*Message      `json:"messages"`
	Model         string          `json:"model"`
	Stream        bool            `json:"stream"`
	StreamOptions streamOptions   `json:"stream_options"`
	ToolChoice    string          `json:"tool_choice"`
	Tools         json.RawMessage `json:"tools"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// Body returns the request body JSON, marshalled from the typed request
// (independently of schemas.Split and schemas.Rebuild).
func (r *ChatRequest) Body() ([]byte, error) { return json.Marshal(r) }

// Call is one generated model call.
type Call struct {
	// Session is the 0-based index of the session.
	Session int
	// Turn is the call as schemas.TraceWriter takes it: Params and Parts
	// (with exact token counts) instead of Body, the canonical response,
	// times, and OutputTokens equal to the response's token count.
	Turn schemas.Turn
	// ResponseTokens is the o200k_base count of Turn.Response[0]
	// (tokens.CountJSON), the same as Turn.OutputTokens.
	ResponseTokens int
	// Request is the typed request; Request.Body() is the body Turn.Parts
	// stand for.
	Request *ChatRequest
}

// shared is what every session sends: tools and system prompt.
type shared struct {
	opt            *Options
	params         []byte
	tools          []byte
	toolsTokens    int
	system         *Message
	systemBody     []byte
	systemTokens   int
	toolsPart      schemas.Part
	systemPart     schemas.Part
	requestPattern ChatRequest
}

func newShared(opt *Options) (*shared, error) {
	sh := &shared{opt: opt}
	tools, err := schemas.Canonical(toolsJSON())
	if err != nil {
		return nil, err
	}
	sh.tools = tools
	sh.toolsTokens = tokens.CountJSON(tools)
	sys := systemPrompt
	sh.system = &Message{Role: "system", Content: &sys}
	if sh.systemBody, sh.systemTokens, err = encode(sh.system); err != nil {
		return nil, err
	}
	sh.toolsPart = schemas.Part{Kind: schemas.KindTools, Body: sh.tools, Tokens: sh.toolsTokens}
	sh.systemPart = schemas.Part{Kind: schemas.KindMessage, Body: sh.systemBody, Tokens: sh.systemTokens}
	sh.requestPattern = ChatRequest{MaxTokens: opt.MaxTokens, Model: opt.Model, Stream: true,
		StreamOptions: streamOptions{IncludeUsage: true}, ToolChoice: "auto", Tools: tools}
	p := sh.requestPattern
	raw, err := json.Marshal(struct {
		MaxTokens     int           `json:"max_tokens"`
		Model         string        `json:"model"`
		Stream        bool          `json:"stream"`
		StreamOptions streamOptions `json:"stream_options"`
		ToolChoice    string        `json:"tool_choice"`
	}{p.MaxTokens, p.Model, p.Stream, p.StreamOptions, p.ToolChoice})
	if err != nil {
		return nil, err
	}
	if sh.params, err = schemas.Canonical(raw); err != nil {
		return nil, err
	}
	return sh, nil
}

// encode returns the canonical JSON of m and its token count
// (tokens.CountJSON). Message fields are declared in
// sorted order and the text is valid UTF-8 without HTML escaping or \b/\f
// control characters, so encoding/json writes the canonical form directly
// (TestRebuildExact checks it against schemas.Canonical).
func encode(m *Message) ([]byte, int, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, 0, err
	}
	body := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	return body, tokens.CountJSON(body), nil
}

// SessionID returns the id of session i of a set generated with seed.
func SessionID(seed uint64, i int) string { return fmt.Sprintf("synth-%d-%04d", seed, i) }

// Generate produces the calls of opt.Sessions sessions and passes them to
// fn in order: session 0's turns 0…n, then session 1's, and so on. Sessions
// are generated in parallel; the output does not depend on Workers. It
// stops at the first error from fn or when ctx is done.
func Generate(ctx context.Context, opt Options, fn func(*Call) error) error {
	if err := opt.fill(); err != nil {
		return err
	}
	sh, err := newShared(&opt)
	if err != nil {
		return err
	}
	// Session start times: a Poisson process from stream 0 of the seed.
	// Session lengths are stratified, so that even a small set spans the
	// range: session i gets the (perm(i)+u)/n quantile of a log-uniform
	// distribution.
	starts := make([]int64, opt.Sessions)
	turns := make([]int, opt.Sessions)
	arr := newGen(opt.Seed, 0)
	t := opt.Start.UnixNano()
	perm := arr.r.Perm(opt.Sessions)
	for i := range starts {
		starts[i] = t
		if opt.ArrivalGap > 0 {
			t += int64(arr.r.ExpFloat64() * float64(opt.ArrivalGap))
		}
		turns[i] = turnCount(opt.MinTurns, opt.MaxTurns, (float64(perm[i])+arr.r.Float64())/float64(opt.Sessions))
	}
	type result struct {
		calls []*Call
		err   error
	}
	slots := make([]chan result, opt.Sessions)
	launch := func(i int) {
		if i >= opt.Sessions || slots[i] != nil {
			return
		}
		slots[i] = make(chan result, 1)
		go func() {
			calls, err := sh.session(i, turns[i], starts[i])
			slots[i] <- result{calls, err}
		}()
	}
	for i := 0; i < opt.Workers; i++ {
		launch(i)
	}
	for i := 0; i < opt.Sessions; i++ {
		var res result
		select {
		case res = <-slots[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
		if res.err != nil {
			return res.err
		}
		launch(i + opt.Workers)
		for _, c := range res.calls {
			if err := fn(c); err != nil {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

// turnCount returns the q quantile (0 ≤ q < 1) of session lengths:
// log-uniform in [lo, hi].
func turnCount(lo, hi int, q float64) int {
	if hi <= lo {
		return lo
	}
	n := int(math.Round(float64(lo) * math.Pow(float64(hi)/float64(lo), q)))
	return min(max(n, lo), hi)
}

// session generates the T calls of session i, starting at startNS.
func (sh *shared) session(i, T int, startNS int64) ([]*Call, error) {
	opt := sh.opt
	g := newGen(opt.Seed, uint64(i)+1)
	s := newSession(g, T)
	sid := SessionID(opt.Seed, i)

	var (
		hist      = []*Message{sh.system}
		parts     = []schemas.Part{sh.toolsPart, sh.systemPart}
		promptTok = sh.toolsTokens + sh.systemTokens
		prefixTok = 0 // tokens of this prompt already sent as the previous prompt
		baseTok   int // tokens of tools + system + task: what survives compaction
	)
	add := func(m *Message) (int, error) {
		body, n, err := encode(m)
		if err != nil {
			return 0, err
		}
		hist = append(hist, m)
		parts = append(parts, schemas.Part{Kind: schemas.KindMessage, Body: body, Tokens: n})
		promptTok += n
		return n, nil
	}
	taskText := s.task()
	task := &Message{Role: "user", Content: &taskText}
	if _, err := add(task); err != nil {
		return nil, err
	}
	baseTok = promptTok
	base := len(parts)

	calls := make([]*Call, 0, T)
	now := startNS
	var think time.Duration
	for k := 0; k < T; k++ {
		final := k == T-1
		var tcs []*toolCall
		content := ""
		if final {
			content = s.summary()
		} else {
			tcs = s.step(k)
			content = s.preamble(tcs)
		}
		hm := &Message{Role: "assistant"}
		if content != "" {
			hm.Content = &content
		}
		visible := len(content)
		for _, tc := range tcs {
			args := tc.arguments()
			visible += len(args) + len(tc.name)
			hm.ToolCalls = append(hm.ToolCalls, ToolCall{ID: "call_" + g.alnum(24), Type: "function",
				Function: FunctionCall{Name: tc.name, Arguments: args}})
		}
		want := int(g.lognormal(outputMedian, outputSigma))
		want = min(max(want, minOutput), opt.MaxTokens*3/4)
		resp := *hm
		if est := visible * 10 / 38; want > est+4 {
			resp.ReasoningContent = s.reasoning(want - est)
		}
		respBody, respTok, err := encode(&resp)
		if err != nil {
			return nil, err
		}

		// Timing: think/tool time, then a modeled response time.
		start := now + int64(think)
		ttft, tpot := responseTimes(g, promptTok-prefixTok, promptTok)
		first := start + int64(ttft)
		end := first + int64(max(respTok-1, 0))*int64(tpot)
		req := sh.requestPattern
		req.Messages = hist[:len(hist):len(hist)]
		calls = append(calls, &Call{Session: i, ResponseTokens: respTok, Request: &req, Turn: schemas.Turn{
			SessionID: sid, API: schemas.APIOpenAIChat, Params: sh.params,
			Parts: parts[:len(parts):len(parts)], Response: [][]byte{respBody},
			StartNS: start, FirstTokenNS: first, EndNS: end, ThinkNS: int64(think),
			OutputTokens: respTok, Status: 200,
		}})
		now = end
		if final {
			break
		}

		// The next prompt: this answer (without reasoning) and the tool
		// results, or a compacted history when that would not fit.
		prefixTok = promptTok
		var next []*Message
		nextTok := 0
		hb, hn := respBody, respTok
		if resp.ReasoningContent != "" {
			if hb, hn, err = encode(hm); err != nil {
				return nil, err
			}
		}
		nextTok += hn
		slow := 0.0
		for j, tc := range tcs {
			res := tc.result
			m := &Message{Role: "tool", ToolCallID: hm.ToolCalls[j].ID, Content: &res}
			next = append(next, m)
			slow = max(slow, tc.slow)
		}
		var nextBodies [][]byte
		var nextCounts []int
		for _, m := range next {
			b, n, err := encode(m)
			if err != nil {
				return nil, err
			}
			nextBodies = append(nextBodies, b)
			nextCounts = append(nextCounts, n)
			nextTok += n
		}
		if promptTok+nextTok > opt.MaxInputTokens {
			hist = hist[: base-1 : base-1]
			parts = parts[:base:base]
			promptTok, prefixTok = baseTok, baseTok
			sum := s.compaction()
			if _, err := add(&Message{Role: "user", Content: &sum}); err != nil {
				return nil, err
			}
		} else {
			hist = append(hist, hm)
			parts = append(parts, schemas.Part{Kind: schemas.KindMessage, Body: hb, Tokens: hn})
			promptTok += hn
			for j, m := range next {
				hist = append(hist, m)
				parts = append(parts, schemas.Part{Kind: schemas.KindMessage, Body: nextBodies[j], Tokens: nextCounts[j]})
				promptTok += nextCounts[j]
			}
		}
		think = thinkTime(g, slow)
	}
	return calls, nil
}

// thinkTime draws the agent's tool and think time after a turn whose
// slowest tool has the given factor.
func thinkTime(g *gen, slow float64) time.Duration {
	if slow <= 0 {
		slow = 1
	}
	d := time.Duration(g.lognormal(thinkMedian*slow, thinkSigma) * float64(time.Second))
	return min(max(d, minThink), maxThink).Round(time.Millisecond)
}

// responseTimes models one large model serving a single user: time to
// first token grows with the uncached prompt (≈ 25K tokens/s prefill) and a
// little with the whole prompt; time per output token is ≈ 11 ms plus a
// little per prompt token. Each gets ±15 % jitter.
func responseTimes(g *gen, uncached, prompt int) (ttft, tpot time.Duration) {
	j := func() float64 { return 0.85 + 0.3*g.r.Float64() }
	ttftS := (0.06 + float64(uncached)/25000 + float64(prompt)/2e6) * j()
	tpotS := (1.0/90 + float64(prompt)*5e-8) * j()
	return time.Duration(ttftS * float64(time.Second)), time.Duration(tpotS * float64(time.Second))
}

// Summary describes a written trace set.
type Summary struct {
	Sessions, Requests        int
	InputTokens, OutputTokens int64
	MaxInputTokens            int
}

// WriteOptions configures Write.
type WriteOptions struct {
	// Overwrite replaces an existing trace set at the directory.
	Overwrite bool
}

// Write generates a trace set into dir. On error or cancellation nothing
// that looks like a complete set is left behind.
func Write(ctx context.Context, dir string, opt Options, wo WriteOptions) (*Summary, error) {
	if err := opt.fill(); err != nil {
		return nil, err
	}
	w, err := schemas.CreateTraceSet(dir, schemas.TraceWriterOptions{Overwrite: wo.Overwrite})
	if err != nil {
		return nil, err
	}
	sum := &Summary{}
	last := -1
	err = Generate(ctx, opt, func(c *Call) error {
		if c.Session != last {
			last = c.Session
			w.SetSession(schemas.Session{ID: c.Turn.SessionID, Source: schemas.SourceSynth, Agent: "synth"})
			sum.Sessions++
		}
		// The response's count is known: store it so the writer does not
		// tokenize it again.
		if _, _, err := w.PutBlob(schemas.KindMessage, c.Turn.Response[0], c.ResponseTokens); err != nil {
			return err
		}
		r, err := w.WriteTurn(&c.Turn)
		if err != nil {
			return err
		}
		sum.Requests++
		sum.InputTokens += int64(r.InputTokens)
		sum.OutputTokens += int64(r.OutputTokens)
		sum.MaxInputTokens = max(sum.MaxInputTokens, int(r.InputTokens))
		return nil
	})
	if err != nil {
		w.Abort()
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return sum, nil
}
