// Package fakellm is a deterministic stand-in for the Anthropic and OpenAI
// APIs, for tests and benchmarks of the capture proxy. It speaks the real
// wire formats — Anthropic Messages, OpenAI Chat Completions and OpenAI
// Responses, streamed as SSE or not — and plays a tool-using agent: a user
// message is answered with a tool call, a tool result with text. Responses
// depend only on the request, so a direct and a proxied call receive the
// same bytes.
package fakellm

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Server is an http.Handler that answers like an LLM API.
type Server struct {
	// Tokens is the number of text tokens in a text answer; 0 means 12.
	Tokens int
	// Delay is the pause before each streamed token; 0 means none.
	Delay time.Duration
	// Requests counts the requests served.
	Requests atomic.Int64
	// LastBody holds the body of the latest request, as received.
	LastBody atomic.Value
}

// Usage is what the fake reports for a prompt of n messages (items).
type Usage struct {
	Input, Cached, CacheWrite, Output, Reasoning int64
}

// UsageFor returns the usage the fake reports for a request with n
// messages whose answer has out output tokens. Input is the whole prompt,
// cached and cache-written tokens included.
func UsageFor(n, out int) Usage {
	u := Usage{Input: 1000 + 37*int64(n), Output: int64(out), CacheWrite: 37}
	if n > 1 {
		u.Cached = 1000 + 37*int64(n-1) - 37
	}
	u.Reasoning = 3
	return u
}

// ToolOutputTokens is the output token count the fake reports for a tool
// call answer.
const ToolOutputTokens = 9

func (s *Server) tokens() int {
	if s.Tokens <= 0 {
		return 12
	}
	return s.Tokens
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.Requests.Add(1)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.LastBody.Store(body)
	var req map[string]any
	if r.Method != http.MethodPost || json.Unmarshal(body, &req) != nil {
		if r.Method == http.MethodHead || r.Method == http.MethodGet {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"type":"error","error":{"type":"invalid_request_error","message":"body is not JSON"}}`)
		return
	}
	sum := sha256.Sum256(body)
	id := hex.EncodeToString(sum[:8])
	stream, _ := req["stream"].(bool)
	if m, _ := req["model"].(string); m == "fail-overloaded" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(529)
		io.WriteString(w, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)
		return
	}
	path := r.URL.Path
	switch {
	case strings.HasSuffix(path, "/messages"):
		s.anthropic(w, req, id, stream)
	case strings.HasSuffix(path, "/chat/completions"):
		s.chat(w, req, id, stream)
	case strings.HasSuffix(path, "/responses"):
		s.responses(w, req, id, stream)
	default:
		http.NotFound(w, r)
	}
}

// plan decides the answer to a conversation: a tool call when the last
// message is a user message, text otherwise.
type plan struct {
	tool      bool
	n         int // prompt messages
	text      []string
	toolName  string
	toolArgs  string
	toolID    string
	usage     Usage
	model     string
	reasoning bool
}

func (s *Server) makePlan(req map[string]any, list string, id string, lastIsUser bool) plan {
	msgs, _ := req[list].([]any)
	p := plan{n: len(msgs), model: fmt.Sprint(req["model"])}
	if _, ok := req["input"].(string); ok && list == "input" {
		p.n = 1
	}
	p.tool = lastIsUser
	if p.tool {
		p.toolName = "bash"
		p.toolArgs = `{"command":"ls -la /tmp"}`
		p.toolID = "call_" + id
		p.usage = UsageFor(p.n, ToolOutputTokens)
	} else {
		n := s.tokens()
		for i := 0; i < n; i++ {
			p.text = append(p.text, word(i))
		}
		p.usage = UsageFor(p.n, n)
	}
	return p
}

var words = []string{" The", " file", " list", " shows", " three", " entries", " and", " one", " is", " a", " directory", "."}

func word(i int) string { return words[i%len(words)] }

func (s *Server) pause(w http.ResponseWriter, f http.Flusher) {
	if f != nil {
		f.Flush()
	}
	if s.Delay > 0 {
		time.Sleep(s.Delay)
	}
}

func sseHeaders(w http.ResponseWriter) http.Flusher {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	f, _ := w.(http.Flusher)
	return f
}

func jsonStr(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func lastRole(msgs []any) (role string, toolResult bool) {
	if len(msgs) == 0 {
		return "", false
	}
	m, _ := msgs[len(msgs)-1].(map[string]any)
	role, _ = m["role"].(string)
	if c, ok := m["content"].([]any); ok {
		for _, b := range c {
			if bm, ok := b.(map[string]any); ok && bm["type"] == "tool_result" {
				toolResult = true
			}
		}
	}
	if t, _ := m["type"].(string); t == "function_call_output" {
		toolResult = true
	}
	return role, toolResult
}

func (s *Server) anthropic(w http.ResponseWriter, req map[string]any, id string, stream bool) {
	msgs, _ := req["messages"].([]any)
	role, tr := lastRole(msgs)
	p := s.makePlan(req, "messages", id, role == "user" && !tr)
	_, thinking := req["thinking"].(map[string]any)
	u := p.usage
	in := u.Input - u.Cached - u.CacheWrite // Anthropic excludes cache from input_tokens
	if !stream {
		var content []string
		if thinking {
			content = append(content, `{"type":"thinking","thinking":"Let me look.","signature":"sig_`+id+`"}`)
		}
		if p.tool {
			content = append(content, `{"type":"tool_use","id":"toolu_`+id+`","name":"`+p.toolName+`","input":`+p.toolArgs+`}`)
		} else {
			content = append(content, `{"type":"text","text":`+jsonStr(strings.Join(p.text, ""))+`}`)
		}
		stop := "end_turn"
		if p.tool {
			stop = "tool_use"
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"msg_%s","type":"message","role":"assistant","model":%s,"content":[%s],"stop_reason":%q,"stop_sequence":null,"usage":{"input_tokens":%d,"cache_creation_input_tokens":%d,"cache_read_input_tokens":%d,"output_tokens":%d}}`,
			id, jsonStr(p.model), strings.Join(content, ","), stop, in, u.CacheWrite, u.Cached, u.Output)
		return
	}
	f := sseHeaders(w)
	ev := func(name, data string) {
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, data)
	}
	ev("message_start", fmt.Sprintf(`{"type":"message_start","message":{"id":"msg_%s","type":"message","role":"assistant","model":%s,"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":%d,"cache_creation_input_tokens":%d,"cache_read_input_tokens":%d,"output_tokens":1}}}`,
		id, jsonStr(p.model), in, u.CacheWrite, u.Cached))
	idx := 0
	if thinking {
		ev("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}`)
		ev("ping", `{"type": "ping"}`)
		s.pause(w, f)
		ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me"}}`)
		s.pause(w, f)
		ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":" look."}}`)
		ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"sig_`+id+`"}}`)
		ev("content_block_stop", `{"type":"content_block_stop","index":0}`)
		idx = 1
	} else {
		ev("ping", `{"type": "ping"}`)
	}
	if p.tool {
		ev("content_block_start", fmt.Sprintf(`{"type":"content_block_start","index":%d,"content_block":{"type":"tool_use","id":"toolu_%s","name":"%s","input":{}}}`, idx, id, p.toolName))
		half := len(p.toolArgs) / 2
		for _, part := range []string{"", p.toolArgs[:half], p.toolArgs[half:]} {
			s.pause(w, f)
			ev("content_block_delta", fmt.Sprintf(`{"type":"content_block_delta","index":%d,"delta":{"type":"input_json_delta","partial_json":%s}}`, idx, jsonStr(part)))
		}
	} else {
		ev("content_block_start", fmt.Sprintf(`{"type":"content_block_start","index":%d,"content_block":{"type":"text","text":""}}`, idx))
		for _, t := range p.text {
			s.pause(w, f)
			ev("content_block_delta", fmt.Sprintf(`{"type":"content_block_delta","index":%d,"delta":{"type":"text_delta","text":%s}}`, idx, jsonStr(t)))
		}
	}
	ev("content_block_stop", fmt.Sprintf(`{"type":"content_block_stop","index":%d}`, idx))
	stop := "end_turn"
	if p.tool {
		stop = "tool_use"
	}
	ev("message_delta", fmt.Sprintf(`{"type":"message_delta","delta":{"stop_reason":%q,"stop_sequence":null},"usage":{"output_tokens":%d}}`, stop, u.Output))
	ev("message_stop", `{"type":"message_stop"}`)
	if f != nil {
		f.Flush()
	}
}

func (s *Server) chat(w http.ResponseWriter, req map[string]any, id string, stream bool) {
	msgs, _ := req["messages"].([]any)
	role, _ := lastRole(msgs)
	p := s.makePlan(req, "messages", id, role == "user")
	u := p.usage
	usage := fmt.Sprintf(`{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d,"prompt_tokens_details":{"cached_tokens":%d,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":%d,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`,
		u.Input, u.Output, u.Input+u.Output, u.Cached, u.Reasoning)
	const created = 1767225600
	if !stream {
		msg := `{"role":"assistant","content":` + jsonStr(strings.Join(p.text, "")) + `,"refusal":null,"annotations":[]}`
		finish := "stop"
		if p.tool {
			finish = "tool_calls"
			msg = `{"role":"assistant","content":null,"tool_calls":[{"id":"` + p.toolID + `","type":"function","function":{"name":"` + p.toolName + `","arguments":` + jsonStr(p.toolArgs) + `}}],"refusal":null,"annotations":[]}`
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"chatcmpl-%s","object":"chat.completion","created":%d,"model":%s,"choices":[{"index":0,"message":%s,"logprobs":null,"finish_reason":%q}],"usage":%s,"service_tier":"default","system_fingerprint":null}`,
			id, created, jsonStr(p.model), msg, finish, usage)
		return
	}
	includeUsage := false
	if so, ok := req["stream_options"].(map[string]any); ok {
		includeUsage, _ = so["include_usage"].(bool)
	}
	f := sseHeaders(w)
	chunk := func(delta, finish string) {
		fin := "null"
		if finish != "" {
			fin = strconv.Quote(finish)
		}
		u := ""
		if includeUsage {
			u = `,"usage":null`
		}
		fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-%s\",\"object\":\"chat.completion.chunk\",\"created\":%d,\"model\":%s,\"service_tier\":\"default\",\"system_fingerprint\":null,\"choices\":[{\"index\":0,\"delta\":%s,\"logprobs\":null,\"finish_reason\":%s}]%s}\n\n",
			id, created, jsonStr(p.model), delta, fin, u)
	}
	if p.tool {
		chunk(`{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"`+p.toolID+`","type":"function","function":{"name":"`+p.toolName+`","arguments":""}}],"refusal":null}`, "")
		half := len(p.toolArgs) / 2
		for _, part := range []string{p.toolArgs[:half], p.toolArgs[half:]} {
			s.pause(w, f)
			chunk(`{"tool_calls":[{"index":0,"function":{"arguments":`+jsonStr(part)+`}}]}`, "")
		}
		chunk(`{}`, "tool_calls")
	} else {
		chunk(`{"role":"assistant","content":"","refusal":null}`, "")
		for _, t := range p.text {
			s.pause(w, f)
			chunk(`{"content":`+jsonStr(t)+`}`, "")
		}
		chunk(`{}`, "stop")
	}
	if includeUsage {
		fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-%s\",\"object\":\"chat.completion.chunk\",\"created\":%d,\"model\":%s,\"service_tier\":\"default\",\"system_fingerprint\":null,\"choices\":[],\"usage\":%s}\n\n",
			id, created, jsonStr(p.model), usage)
	}
	io.WriteString(w, "data: [DONE]\n\n")
	if f != nil {
		f.Flush()
	}
}

func (s *Server) responses(w http.ResponseWriter, req map[string]any, id string, stream bool) {
	var last string
	items, _ := req["input"].([]any)
	if len(items) > 0 {
		m, _ := items[len(items)-1].(map[string]any)
		last, _ = m["role"].(string)
		if t, _ := m["type"].(string); t == "function_call_output" {
			last = "tool"
		}
	}
	if _, ok := req["input"].(string); ok {
		last = "user"
	}
	p := s.makePlan(req, "input", id, last == "user")
	u := p.usage
	usage := fmt.Sprintf(`{"input_tokens":%d,"input_tokens_details":{"cached_tokens":%d},"output_tokens":%d,"output_tokens_details":{"reasoning_tokens":%d},"total_tokens":%d}`,
		u.Input, u.Cached, u.Output, u.Reasoning, u.Input+u.Output)
	const created = 1767225600
	reasoning := `{"id":"rs_` + id + `","type":"reasoning","summary":[],"encrypted_content":"enc_` + id + `"}`
	var item string
	if p.tool {
		item = `{"id":"fc_` + id + `","type":"function_call","status":"completed","arguments":` + jsonStr(p.toolArgs) + `,"call_id":"` + p.toolID + `","name":"` + p.toolName + `"}`
	} else {
		item = `{"id":"msg_` + id + `","type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"logprobs":[],"text":` + jsonStr(strings.Join(p.text, "")) + `}],"role":"assistant"}`
	}
	resp := func(status, output, usage string) string {
		return fmt.Sprintf(`{"id":"resp_%s","object":"response","created_at":%d,"status":%q,"error":null,"incomplete_details":null,"instructions":null,"model":%s,"output":[%s],"parallel_tool_calls":true,"previous_response_id":null,"store":false,"usage":%s}`,
			id, created, status, jsonStr(p.model), output, usage)
	}
	if !stream {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, resp("completed", reasoning+","+item, usage))
		return
	}
	f := sseHeaders(w)
	seq := 0
	ev := func(typ, rest string) {
		fmt.Fprintf(w, "event: %s\ndata: {\"type\":%q,\"sequence_number\":%d%s}\n\n", typ, typ, seq, rest)
		seq++
	}
	ev("response.created", `,"response":`+resp("in_progress", "", "null"))
	ev("response.in_progress", `,"response":`+resp("in_progress", "", "null"))
	ev("response.output_item.added", `,"output_index":0,"item":{"id":"rs_`+id+`","type":"reasoning","summary":[]}`)
	ev("response.output_item.done", `,"output_index":0,"item":`+reasoning)
	if p.tool {
		ev("response.output_item.added", `,"output_index":1,"item":{"id":"fc_`+id+`","type":"function_call","status":"in_progress","arguments":"","call_id":"`+p.toolID+`","name":"`+p.toolName+`"}`)
		half := len(p.toolArgs) / 2
		for _, part := range []string{p.toolArgs[:half], p.toolArgs[half:]} {
			s.pause(w, f)
			ev("response.function_call_arguments.delta", `,"item_id":"fc_`+id+`","output_index":1,"delta":`+jsonStr(part))
		}
		ev("response.function_call_arguments.done", `,"item_id":"fc_`+id+`","output_index":1,"arguments":`+jsonStr(p.toolArgs))
	} else {
		ev("response.output_item.added", `,"output_index":1,"item":{"id":"msg_`+id+`","type":"message","status":"in_progress","content":[],"role":"assistant"}`)
		ev("response.content_part.added", `,"item_id":"msg_`+id+`","output_index":1,"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":""}`)
		for _, t := range p.text {
			s.pause(w, f)
			ev("response.output_text.delta", `,"item_id":"msg_`+id+`","output_index":1,"content_index":0,"delta":`+jsonStr(t)+`,"logprobs":[]`)
		}
		ev("response.output_text.done", `,"item_id":"msg_`+id+`","output_index":1,"content_index":0,"text":`+jsonStr(strings.Join(p.text, ""))+`,"logprobs":[]`)
		ev("response.content_part.done", `,"item_id":"msg_`+id+`","output_index":1,"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":`+jsonStr(strings.Join(p.text, ""))+`}`)
	}
	ev("response.output_item.done", `,"output_index":1,"item":`+item)
	ev("response.completed", `,"response":`+resp("completed", reasoning+","+item, usage))
	if f != nil {
		f.Flush()
	}
}
