package fakeengine

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/agentperf/agentperf/target"
)

// Options shape a fake engine's answers.
type Options struct {
	// Model is the served model id; "" means "test-model".
	Model string
	// Context is the served context length, tokens; 0 means 65536.
	Context int
	// Natural is how many content tokens the model writes before its
	// end-of-sequence token when nothing pins the length; 0 means 3.
	Natural int
	// Reasoning is how many reasoning tokens precede the answer (on
	// engines that split reasoning out).
	Reasoning int
	// Cached is the cached prompt tokens reported.
	Cached int
	// IgnorePin makes the fake ignore every pin field, as a server (or a
	// proxy in front of one) that drops unknown fields does.
	IgnorePin bool
	// Version is the engine version it reports; "" picks one.
	Version string
}

// Request is one request the fake received.
type Request struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

// Server is a running fake engine.
type Server struct {
	*httptest.Server
	// Engine is the engine it imitates.
	Engine target.Engine
	opt    Options
	spec   spec

	mu   sync.Mutex
	reqs []Request
}

// New starts a fake of engine e; the caller Closes it.
func New(e target.Engine, opt Options) *Server {
	if opt.Model == "" {
		opt.Model = "test-model"
	}
	if opt.Context == 0 {
		opt.Context = 65536
	}
	if opt.Natural == 0 {
		opt.Natural = 3
	}
	sp, ok := specs[e]
	if !ok {
		panic(fmt.Sprintf("fakeengine: no fake of engine %q", e))
	}
	if opt.Version == "" {
		opt.Version = sp.version
	}
	s := &Server{Engine: e, opt: opt, spec: sp}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Engines lists the engines with a fake.
func Engines() []target.Engine {
	return []target.Engine{target.EngineVLLM, target.EngineSGLang, target.EngineTRTLLM,
		target.EngineDynamo, target.EngineLlamaCpp, target.EngineTGI}
}

// Base returns the base URL replay is given (…/v1).
func (s *Server) Base() string { return s.URL + "/v1" }

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// APIs lists the APIs (schemas.API*) the fake serves.
func (s *Server) APIs() []string {
	var out []string
	for _, api := range []string{"openai-chat", "openai-responses", "anthropic"} {
		if s.spec.apis[api] {
			out = append(out, api)
		}
	}
	return out
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.reqs = append(s.reqs, Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
	s.mu.Unlock()
	if s.spec.server != "" {
		w.Header().Set("Server", s.spec.server)
	}
	if r.Method == http.MethodGet {
		if r.URL.Path == "/v1/models" && s.spec.models != nil {
			writeJSON(w, s.spec.models(s.opt))
			return
		}
		if f, ok := s.spec.info[r.URL.Path]; ok {
			writeJSON(w, f(s.opt))
			return
		}
		http.NotFound(w, r)
		return
	}
	api := map[string]string{"/v1/chat/completions": "openai-chat", "/v1/responses": "openai-responses",
		"/v1/messages": "anthropic"}[r.URL.Path]
	if r.Method != http.MethodPost || api == "" || !s.spec.apis[api] {
		http.NotFound(w, r)
		return
	}
	var req map[string]any
	if err := json.Unmarshal(body, &req); err != nil {
		httpError(w, http.StatusBadRequest, "body is not JSON: "+err.Error())
		return
	}
	if s.spec.strict != nil && api == "openai-chat" {
		for k := range req {
			if !s.spec.strict[k] {
				httpError(w, http.StatusBadRequest, fmt.Sprintf("1 validation error: %s: Extra inputs are not permitted", k))
				return
			}
		}
	}
	g := s.plan(api, req, len(body))
	if g.prompt+g.max > s.opt.Context {
		httpError(w, http.StatusBadRequest, fmt.Sprintf("This model's maximum context length is %d tokens. However, you requested %d tokens (%d in the messages, %d in the completion).",
			s.opt.Context, g.prompt+g.max, g.prompt, g.max))
		return
	}
	if stream, _ := req["stream"].(bool); !stream {
		httpError(w, http.StatusBadRequest, "this fake only streams")
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	sw := &sse{w: w, f: w.(http.Flusher)}
	switch api {
	case "openai-chat":
		s.streamChat(sw, req, g)
	case "openai-responses":
		s.streamResponses(sw, g)
	default:
		s.streamMessages(sw, g)
	}
}

// gen is one response's plan: how many tokens of each kind.
type gen struct {
	prompt, max, reasoning, content int
}

func (g gen) out() int { return g.reasoning + g.content }

// plan decides the output length: the natural answer, lengthened to the
// cap when the engine's pin fields say so, never past the cap.
func (s *Server) plan(api string, req map[string]any, bodyLen int) gen {
	// Prompt tokens are estimated from the body size, 4 bytes a token:
	// the fakes need a number, not a tokenizer.
	g := gen{prompt: max(bodyLen/4, 1)}
	maxField := map[string]string{"openai-responses": "max_output_tokens"}[api]
	if maxField == "" {
		maxField = "max_tokens"
		if _, ok := req["max_completion_tokens"]; ok && api == "openai-chat" {
			maxField = "max_completion_tokens"
		}
	}
	g.max = intOf(req[maxField], 4096)
	if s.spec.reasoningKey != "" || api != "openai-chat" {
		g.reasoning = s.opt.Reasoning
	}
	total := g.reasoning + s.opt.Natural
	if !s.opt.IgnorePin && s.spec.pin != nil {
		switch n := s.spec.pin(api, req); {
		case n < 0: // ignore_eos: runs to the cap
			total = g.max
		case n > total:
			total = n
		}
	}
	total = min(total, g.max)
	g.reasoning = min(g.reasoning, total)
	g.content = total - g.reasoning
	return g
}

func intOf(v any, def int) int {
	if f, ok := v.(float64); ok && f >= 0 {
		return int(f)
	}
	return def
}

func truthy(v any) bool { b, _ := v.(bool); return b }

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"object": "error", "message": msg, "type": "BadRequestError", "code": code})
}

type sse struct {
	w http.ResponseWriter
	f http.Flusher
}

// data writes one event; name "" writes a data-only event.
func (s *sse) data(name string, v any) {
	var b []byte
	if raw, ok := v.(string); ok {
		b = []byte(raw)
	} else {
		b, _ = json.Marshal(v)
	}
	if name != "" {
		fmt.Fprintf(s.w, "event: %s\n", name)
	}
	fmt.Fprintf(s.w, "data: %s\n\n", b)
	s.f.Flush()
}

// token is the text of the i-th generated token.
func token(i int) string { return fmt.Sprintf("t%d ", i) }

func (s *Server) streamChat(w *sse, req map[string]any, g gen) {
	id := "chatcmpl-fake"
	created := time.Now().Unix()
	chunk := func(delta map[string]any, finish any) map[string]any {
		choice := map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}
		if s.spec.nullReasoning {
			if _, ok := delta["reasoning_content"]; !ok {
				delta["reasoning_content"] = nil
			}
		}
		return map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": s.opt.Model, "choices": []any{choice}}
	}
	w.data("", chunk(map[string]any{"role": "assistant", "content": ""}, nil))
	for i := 0; i < g.reasoning; i++ {
		if s.spec.reasoningKey == "" {
			break
		}
		w.data("", chunk(map[string]any{s.spec.reasoningKey: token(i)}, nil))
	}
	for i := 0; i < g.content; i++ {
		w.data("", chunk(map[string]any{"content": token(i)}, nil))
	}
	finish := "stop"
	if g.out() >= g.max {
		finish = "length"
	}
	last := chunk(map[string]any{}, finish)
	if s.spec.final != nil {
		for k, v := range s.spec.final(s.opt, g) {
			last[k] = v
		}
	}
	w.data("", last)
	so, _ := req["stream_options"].(map[string]any)
	if truthy(so["include_usage"]) || s.spec.usageAlways {
		w.data("", map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": s.opt.Model,
			"choices": []any{}, "usage": s.spec.usage(s.opt, g)})
	}
	w.data("", "[DONE]")
}

func (s *Server) streamResponses(w *sse, g gen) {
	seq := 0
	ev := func(typ string, v map[string]any) {
		v["type"], v["sequence_number"] = typ, seq
		seq++
		w.data(typ, v)
	}
	resp := map[string]any{"id": "resp_fake", "object": "response", "model": s.opt.Model, "status": "in_progress", "output": []any{}}
	ev("response.created", map[string]any{"response": resp})
	for i := 0; i < g.reasoning; i++ {
		ev("response.reasoning_text.delta", map[string]any{"item_id": "rs_1", "output_index": 0, "content_index": 0, "delta": token(i)})
	}
	for i := 0; i < g.content; i++ {
		ev("response.output_text.delta", map[string]any{"item_id": "msg_1", "output_index": 1, "content_index": 0, "delta": token(i)})
	}
	resp["status"] = "completed"
	resp["usage"] = map[string]any{
		"input_tokens": g.prompt, "input_tokens_details": map[string]any{"cached_tokens": s.opt.Cached},
		"output_tokens": g.out(), "output_tokens_details": map[string]any{"reasoning_tokens": g.reasoning},
		"total_tokens": g.prompt + g.out(),
	}
	ev("response.completed", map[string]any{"response": resp})
}

func (s *Server) streamMessages(w *sse, g gen) {
	ev := func(typ string, v map[string]any) {
		v["type"] = typ
		w.data(typ, v)
	}
	usage := map[string]any{"input_tokens": max(g.prompt-s.opt.Cached, 0), "output_tokens": 0}
	if s.opt.Cached > 0 {
		usage["cache_read_input_tokens"] = s.opt.Cached
	}
	ev("message_start", map[string]any{"message": map[string]any{"id": "msg_fake", "type": "message", "role": "assistant",
		"content": []any{}, "model": s.opt.Model, "usage": usage}})
	idx := 0
	if g.reasoning > 0 {
		ev("content_block_start", map[string]any{"index": idx, "content_block": map[string]any{"type": "thinking", "thinking": ""}})
		for i := 0; i < g.reasoning; i++ {
			ev("content_block_delta", map[string]any{"index": idx, "delta": map[string]any{"type": "thinking_delta", "thinking": token(i)}})
		}
		ev("content_block_stop", map[string]any{"index": idx})
		idx++
	}
	ev("content_block_start", map[string]any{"index": idx, "content_block": map[string]any{"type": "text", "text": ""}})
	for i := 0; i < g.content; i++ {
		ev("content_block_delta", map[string]any{"index": idx, "delta": map[string]any{"type": "text_delta", "text": token(i)}})
	}
	ev("content_block_stop", map[string]any{"index": idx})
	stop := "end_turn"
	if g.out() >= g.max {
		stop = "max_tokens"
	}
	ev("message_delta", map[string]any{"delta": map[string]any{"stop_reason": stop}, "usage": map[string]any{"output_tokens": g.out()}})
	ev("message_stop", map[string]any{})
}
