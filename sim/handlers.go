package sim

import (
	"encoding/json"
	"fmt"
	"github.com/agentperf/agentperf/wire"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc(wire.PathOpenAIChat, s.handleGen(apiChat))
	mux.HandleFunc(wire.PathCompletions, s.handleGen(apiCompletions))
	mux.HandleFunc(wire.PathOpenAIResponses, s.handleGen(apiResponses))
	mux.HandleFunc(wire.PathAnthropic, s.handleGen(apiMessages))
	mux.HandleFunc(wire.PathCountTokens, s.handleCountTokens)
	mux.HandleFunc(wire.PathModels, s.handleModels)
	mux.HandleFunc("/v1/models/{id...}", s.handleModels)
	mux.HandleFunc("/health", s.handleHealth)
	mux.Handle("/metrics", s.metrics.handler())
	mux.HandleFunc("/", s.handleRoot)
	return mux
}

func (s *Server) setCommonHeaders(w http.ResponseWriter) {
	w.Header().Set(wire.HeaderTimeScale, formatScale(s.scale))
}

// apiOf guesses the API a request to an unknown path speaks, for the
// error shape.
func apiOf(r *http.Request) apiKind {
	if r.Header.Get("anthropic-version") != "" || r.Header.Get("x-api-key") != "" && r.Header.Get("Authorization") == "" {
		return apiMessages
	}
	return apiChat
}

func (s *Server) handleRoot(w http.ResponseWriter, r *http.Request) {
	s.setCommonHeaders(w)
	if r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "agentperf sim: an OpenAI/Anthropic-compatible simulated inference server (see /v1/models, /metrics)\n")
		return
	}
	writeError(w, apiOf(r), &apiError{status: http.StatusNotFound, typ: "not_found_error",
		message: fmt.Sprintf("no route %s %s (the simulator serves /v1/chat/completions, /v1/completions, /v1/responses, /v1/messages, /v1/messages/count_tokens, /v1/models, /health, /metrics)", r.Method, r.URL.Path)})
}

// handleCountTokens answers Anthropic's POST /v1/messages/count_tokens
// with the prompt's token count (as the simulator counts it).
func (s *Server) handleCountTokens(w http.ResponseWriter, r *http.Request) {
	s.setCommonHeaders(w)
	if r.Method != http.MethodPost {
		writeError(w, apiMessages, &apiError{status: http.StatusMethodNotAllowed, typ: "invalid_request_error", message: "use POST"})
		return
	}
	body, aerr := readBody(r, s.plan.cfg.MaxRequestBytes)
	if aerr == nil {
		var g *genRequest
		if g, aerr = parseMessagesOpt(body, s.counts, false, false); aerr == nil {
			g.prompt.finish()
			writeJSON(w, http.StatusOK, map[string]int{"input_tokens": g.prompt.tokens})
			return
		}
	}
	writeError(w, apiMessages, aerr)
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	s.setCommonHeaders(w)
	if s.closed.Load() {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"status":"ok"}`)
}

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	s.setCommonHeaders(w)
	api := apiOf(r)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, api, &apiError{status: http.StatusMethodNotAllowed, typ: "invalid_request_error", message: "use GET"})
		return
	}
	m := s.plan.Model
	id := r.PathValue("id")
	if id != "" && !strings.EqualFold(id, m.Name) {
		// Any model name is served with this model's timing, as requests
		// are; say so.
		m2 := *m
		m2.Name = id
		m = &m2
	}
	var v any
	if api == apiMessages {
		entry := map[string]any{"type": "model", "id": m.Name, "display_name": m.Name + " (agentperf sim)", "created_at": "2025-01-01T00:00:00Z"}
		if id != "" {
			v = entry
		} else {
			v = map[string]any{"data": []any{entry}, "has_more": false, "first_id": m.Name, "last_id": m.Name}
		}
	} else {
		entry := map[string]any{"id": m.Name, "object": "model", "created": 0, "owned_by": "agentperf-sim",
			"max_model_len": s.plan.ContextTokens}
		if id != "" {
			v = entry
		} else {
			v = map[string]any{"object": "list", "data": []any{entry}}
		}
	}
	writeJSON(w, http.StatusOK, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// writeError writes e in the API's own error shape.
func writeError(w http.ResponseWriter, api apiKind, e *apiError) {
	if api == apiMessages {
		typ := e.typ
		switch e.status {
		case http.StatusNotFound:
			typ = "not_found_error"
		case http.StatusRequestEntityTooLarge:
			typ = "request_too_large"
		case http.StatusServiceUnavailable, 529:
			typ = "overloaded_error"
		case http.StatusInternalServerError:
			typ = "api_error"
		default:
			if typ == "" || typ == "not_found_error" {
				typ = "invalid_request_error"
			}
		}
		writeJSON(w, e.status, map[string]any{"type": "error", "error": map[string]string{"type": typ, "message": e.message}})
		return
	}
	typ := e.typ
	if typ == "not_found_error" {
		typ = "invalid_request_error"
	}
	var param, code any
	if e.param != "" {
		param = e.param
	}
	if e.code != "" {
		code = e.code
	}
	writeJSON(w, e.status, map[string]any{"error": map[string]any{"message": e.message, "type": typ, "param": param, "code": code}})
}

// readBody reads at most limit bytes of the request body.
func readBody(r *http.Request, limit int64) ([]byte, *apiError) {
	if r.ContentLength > limit {
		return nil, &apiError{status: http.StatusRequestEntityTooLarge, typ: "invalid_request_error",
			message: fmt.Sprintf("request body of %d bytes exceeds the %d-byte limit", r.ContentLength, limit)}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, badRequest("", "reading the request body: %v", err)
	}
	if int64(len(body)) > limit {
		return nil, &apiError{status: http.StatusRequestEntityTooLarge, typ: "invalid_request_error",
			message: fmt.Sprintf("request body exceeds the %d-byte limit", limit)}
	}
	return body, nil
}

func contextError(api apiKind, prompt, limit int) *apiError {
	e := &apiError{status: http.StatusBadRequest, typ: "invalid_request_error", code: "context_length_exceeded"}
	switch api {
	case apiMessages:
		e.message = fmt.Sprintf("prompt is too long: %d tokens > %d maximum", prompt, limit-1)
	case apiCompletions:
		e.param = "prompt"
		e.message = fmt.Sprintf("This model's maximum context length is %d tokens. However, your prompt resulted in %d tokens. Please reduce the length of the prompt.", limit, prompt)
	case apiResponses:
		e.param = "input"
		e.message = fmt.Sprintf("Your input exceeds the context window of this model: its maximum context length is %d tokens, and your input resulted in %d tokens.", limit, prompt)
	default:
		e.param = "messages"
		e.message = fmt.Sprintf("This model's maximum context length is %d tokens. However, your messages resulted in %d tokens. Please reduce the length of the messages.", limit, prompt)
	}
	return e
}

func splitmix(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
	x = (x ^ (x >> 27)) * 0x94D049BB133111EB
	return x ^ (x >> 31)
}

func unit(x uint64) float64 { return float64(x>>11) / (1 << 53) }

// decision is the output a request will get.
type decision struct {
	tokens    int
	truncated bool
	tool      bool
}

// decide picks the output length and kind of g (prompt of p tokens),
// deterministic in the seed and the prompt: pinned by ignore_eos or
// min_tokens, else lognormal; capped by max tokens and the context.
func decide(plan *Plan, g *genRequest, p int) decision {
	cfg := plan.cfg
	limit := plan.ContextTokens - p
	if g.maxTokens > 0 {
		limit = min(limit, g.maxTokens)
	}
	x := splitmix(uint64(cfg.Seed) ^ g.prompt.hash)
	u1, u2 := unit(x), unit(splitmix(x))
	z := math.Sqrt(-2*math.Log(max(u1, 1e-300))) * math.Cos(2*math.Pi*u2)
	want := int(math.Round(float64(cfg.OutputMedianTokens) * math.Exp(cfg.OutputSigma*z)))
	want = max(want, 1)
	if g.minTokens > 0 {
		want = max(want, g.minTokens)
	}
	if g.ignoreEOS {
		want = limit
	}
	d := decision{tokens: want}
	if want >= limit {
		d.tokens, d.truncated = limit, true
	}
	if g.tools > 0 && g.toolMode != toolsNone {
		d.tool = g.toolMode == toolsForced || unit(splitmix(x^0x5bd1e995)) < cfg.ToolCallRate
	}
	return d
}

var parsers = [...]func(body []byte, cc *countCache, keep bool) (*genRequest, *apiError){
	apiChat: parseChat, apiResponses: parseResponses, apiMessages: parseMessages, apiCompletions: parseCompletions,
}

// admission is a request body parsed, counted and decided: what the engine
// needs to serve it. The HTTP handlers and Virtual share it, so both count
// the same prompt tokens, hash the same prefix blocks and pick the same
// output length for the same body.
type admission struct {
	g      *genRequest
	prompt int     // prompt tokens, chat template included
	blocks []int64 // chained 512-token block hashes of the prompt
	d      decision
}

// admit parses body as api, applies its cache salt, and refuses a prompt
// that does not fit the plan's context. keep keeps the prompt's parsed
// segments (prompt.parsed).
func admit(plan *Plan, counts *countCache, api apiKind, body []byte, keep bool) (admission, *apiError) {
	g, aerr := parsers[api](body, counts, keep)
	if aerr != nil {
		return admission{}, aerr
	}
	return settle(plan, api, g)
}

// settle is admit's part after the parse: it applies g's cache salt,
// hashes the prompt's blocks, refuses a prompt that does not fit the
// plan's context and decides the output.
func settle(plan *Plan, api apiKind, g *genRequest) (admission, *apiError) {
	g.prompt.salt(g.cacheSalt)
	blocks := g.prompt.finish()
	p := g.prompt.tokens
	if p >= plan.ContextTokens {
		return admission{}, contextError(api, p, plan.ContextTokens)
	}
	return admission{g: g, prompt: p, blocks: blocks, d: decide(plan, g, p)}, nil
}

// encoder returns the encoder of a's response in api, with response id
// id, creation time created (Unix s) and the generated text's words. The
// HTTP handlers and Virtual share it, so both render the same events.
func (a admission) encoder(api apiKind, id string, created int64, words *wordTable) encoder {
	g, d := a.g, a.d
	o := &genOutput{
		id: id, created: created, model: g.model, n: d.tokens, tool: d.tool,
		toolName: g.toolName, words: words, base: splitmix(g.prompt.hash ^ 0xa5a5), prompt: a.prompt,
	}
	if o.tool && o.toolName == "" {
		o.toolName = "tool"
	}
	switch api {
	case apiChat:
		o.callID = "call_" + id
		return newChatEncoder(o, g.includeUsage)
	case apiResponses:
		o.callID = "call_" + id
		return newResponsesEncoder(o)
	case apiCompletions:
		return newCompletionsEncoder(o, g.includeUsage)
	default:
		o.callID = "toolu_" + id
		return newMessagesEncoder(o)
	}
}

// fill sets the engine fields of r from a.
func (a admission) fill(r *Request, plan *Plan) {
	r.PromptTokens, r.Blocks, r.OutputTokens = a.prompt, a.blocks, a.d.tokens
	r.Seed = splitmix(uint64(plan.cfg.Seed) ^ a.g.prompt.hash ^ 0x1234)
}

func (s *Server) handleGen(api apiKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.setCommonHeaders(w)
		status := s.serveGen(w, r, api)
		s.metrics.request(api, status)
	}
}

func (s *Server) serveGen(w http.ResponseWriter, r *http.Request, api apiKind) int {
	// The simulated arrival is now, before the wall time spent reading,
	// parsing and counting the body.
	arrival := s.simNow()
	fail := func(e *apiError) int {
		writeError(w, api, e)
		return e.status
	}
	if r.Method != http.MethodPost {
		if api == apiResponses && r.Method == http.MethodGet && strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			// Codex tries a WebSocket first; 426 makes it fall back to SSE.
			return fail(&apiError{status: http.StatusUpgradeRequired, typ: "invalid_request_error", message: "WebSocket is not supported; use HTTP POST with stream: true"})
		}
		w.Header().Set("Allow", http.MethodPost)
		return fail(&apiError{status: http.StatusMethodNotAllowed, typ: "invalid_request_error", message: fmt.Sprintf("method %s not allowed; use POST", r.Method)})
	}
	if s.closed.Load() {
		return fail(&apiError{status: http.StatusServiceUnavailable, typ: "overloaded_error", message: ErrClosed.Error()})
	}
	body, aerr := readBody(r, s.plan.cfg.MaxRequestBytes)
	if aerr != nil {
		return fail(aerr)
	}
	a, aerr := admit(s.plan, s.counts, api, body, false)
	if aerr != nil {
		return fail(aerr)
	}
	g, p, d := a.g, a.prompt, a.d
	n := s.reqSeq.Add(1)
	id := fmt.Sprintf("%08x%08x", uint32(s.start.UnixNano()), n)
	enc := a.encoder(api, id, time.Now().Unix(), s.words)
	st := newStream()
	st.arrival = arrival
	st.clock = r.Header.Get(wire.HeaderSimClock) == "1"
	if st.clock {
		w.Header().Set(wire.HeaderSimClock, "1")
	}
	a.fill(&st.req, s.plan)
	if !s.submit(st) {
		return fail(&apiError{status: http.StatusServiceUnavailable, typ: "overloaded_error", message: ErrClosed.Error()})
	}
	c := completion{prompt: p, output: d.tokens, truncated: d.truncated}
	if g.stream {
		s.stream(w, r, st, enc, c)
		return http.StatusOK
	}
	if err := st.wait(r.Context()); err != nil {
		if r.Context().Err() != nil {
			s.cancel(st)
			return 499
		}
		return fail(&apiError{status: http.StatusServiceUnavailable, typ: "overloaded_error", message: err.Error()})
	}
	c.cached = int(st.cached.Load())
	if st.clock {
		// The loop wrote FirstToken and Finished before it published the
		// done state wait observed.
		h := w.Header()
		h.Set(wire.HeaderSimFirstToken, itoa(simNS(st.req.FirstToken-arrival)))
		h.Set(wire.HeaderSimEnd, itoa(simNS(st.req.Finished-arrival)))
	}
	writeJSON(w, http.StatusOK, enc.body(c))
	return http.StatusOK
}

// simNS converts a simulated duration in seconds to whole ns.
func simNS(d float64) int64 { return int64(math.Round(d * 1e9)) }

// appendSimTime appends the SSE comment line giving the simulated time of
// the events after it: ": t=<ns since arrival>\n".
func appendSimTime(b []byte, d float64) []byte { return wire.AppendSimTime(b, simNS(d)) }

// stream writes the SSE response of st: the start events with the first
// token, one event per token (or one per delivery when coalescing), one
// write and one flush per handler wake-up. With st.clock each delivery's
// events are preceded by the comment line of its simulated time, and the
// stream interval is applied per delivery in simulated time.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, st *stream, enc encoder, c completion) {
	h := w.Header()
	h.Set("Content-Type", enc.contentType())
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	coalesce := s.plan.cfg.CoalesceTokens
	interval := max(s.plan.cfg.StreamInterval, 1)
	ctx := r.Context()
	buf := make([]byte, 0, 2048)
	var marks []mark
	sent, started := 0, false
	for {
		select {
		case <-st.notify:
		case <-ctx.Done():
			s.cancel(st)
			return
		}
		state := st.state.Load()
		buf = buf[:0]
		if state == 2 {
			msg := "simulator error"
			if st.err != nil {
				msg = st.err.Error()
			}
			if st.clock {
				buf = appendSimTime(buf, s.simNow()-st.arrival)
			}
			buf = enc.fail(buf, msg)
			w.Write(buf)
			if flusher != nil {
				flusher.Flush()
			}
			return
		}
		if st.clock {
			// Every delivery since the last wake-up, at its own simulated
			// time; the state was read first, so a done state's last
			// delivery is among them.
			marks = st.takeMarks(marks[:0])
			for _, m := range marks {
				if m.n <= sent || started && m.n-sent < interval && m.n < c.output {
					continue // wait for more tokens (StreamInterval)
				}
				buf = appendSimTime(buf, m.at-st.arrival)
				buf = renderTokens(buf, enc, st, coalesce, started, sent, m.n)
				sent, started = m.n, true
			}
		} else {
			n := int(st.tokens.Load())
			if state == 0 && started && n-sent < interval {
				continue // wait for more tokens (StreamInterval)
			}
			if n > sent {
				buf = renderTokens(buf, enc, st, coalesce, started, sent, n)
				sent, started = n, true
			}
		}
		done := state == 1 && sent >= c.output
		if done {
			c.cached = int(st.cached.Load())
			buf = enc.end(buf, c)
		}
		if len(buf) > 0 {
			if _, err := w.Write(buf); err != nil {
				s.cancel(st)
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		if done {
			return
		}
	}
}

// renderTokens appends the events of tokens from..to, after the start
// events when the stream has not started.
func renderTokens(buf []byte, enc encoder, st *stream, coalesce, started bool, from, to int) []byte {
	if !started {
		buf = enc.start(buf, int(st.cached.Load()))
	}
	if coalesce {
		return enc.tokens(buf, from, to)
	}
	for i := from; i < to; i++ {
		buf = enc.token(buf, i)
	}
	return buf
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func appendJSON(b []byte, v any) []byte {
	j, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return append(b, j...)
}
