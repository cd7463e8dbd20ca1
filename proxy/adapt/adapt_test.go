package adapt

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/proxy/internal/fakellm"
	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/wire"
)

// call runs body against the fake and returns status, content type, body.
func call(t testing.TB, path, body string) (int, string, []byte) {
	return callTokens(t, path, body, 5)
}

func callTokens(t testing.TB, path, body string, tokens int) (int, string, []byte) {
	t.Helper()
	srv := &fakellm.Server{Tokens: tokens}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)))
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, rec.Header().Get("Content-Type"), b
}

const (
	anthUser = `{"model":"claude-x","max_tokens":100,"stream":%s,"thinking":{"type":"enabled","budget_tokens":1024},"messages":[{"role":"user","content":"list files"}]}`
	anthTool = `{"model":"claude-x","max_tokens":100,"stream":%s,"messages":[{"role":"user","content":"list files"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"bash","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"a b c"}]}]}`
	chatUser = `{"model":"gpt-x","stream":%s,"stream_options":{"include_usage":true},"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"list files"}]}`
	chatTool = `{"model":"gpt-x","stream":%s,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"list files"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"bash","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"a b c"}]}`
	respUser = `{"model":"gpt-x","stream":%s,"input":[{"role":"user","content":"list files"}]}`
	respTool = `{"model":"gpt-x","stream":%s,"input":[{"role":"user","content":"list files"},{"type":"function_call","call_id":"c1","name":"bash","arguments":"{}"},{"type":"function_call_output","call_id":"c1","output":"a b c"}]}`
)

func sprintf(f, s string) string { return strings.Replace(f, "%s", s, 1) }

func TestAdapters(t *testing.T) {
	tests := []struct {
		name, api, path, body string
		nMsgs, out            int
		want                  []string // substrings of the joined response items
		cacheWrite, reasoning bool
	}{
		{"anthropic tool call", schemas.APIAnthropic, "/v1/messages", anthUser, 1, fakellm.ToolOutputTokens,
			[]string{`"type":"tool_use"`, `"name":"bash"`, `"input":{"command":"ls -la /tmp"}`, `"thinking":"Let me look."`, `"signature":"sig_`}, true, false},
		{"anthropic text", schemas.APIAnthropic, "/v1/messages", anthTool, 3, 5,
			[]string{`"role":"assistant"`, `"text":" The file list shows three"`}, true, false},
		{"chat tool call", schemas.APIOpenAIChat, "/v1/chat/completions", chatUser, 2, fakellm.ToolOutputTokens,
			[]string{`"tool_calls":[{`, `"arguments":"{\"command\":\"ls -la /tmp\"}"`, `"name":"bash"`}, false, true},
		{"chat text", schemas.APIOpenAIChat, "/v1/chat/completions", chatTool, 3, 5,
			[]string{`"content":" The file list shows three"`}, false, true},
		{"responses tool call", schemas.APIOpenAIResponses, "/v1/responses", respUser, 1, fakellm.ToolOutputTokens,
			[]string{`"type":"reasoning"`, `"type":"function_call"`, `"call_id":"call_`}, false, true},
		{"responses text", schemas.APIOpenAIResponses, "/v1/responses", respTool, 3, 5,
			[]string{`"type":"output_text"`, `"text":" The file list shows three"`}, false, true},
	}
	for _, tt := range tests {
		for _, stream := range []bool{true, false} {
			name := tt.name
			if stream {
				name += " streamed"
			}
			status, ct, body := call(t, tt.path, sprintf(tt.body, map[bool]string{true: "true", false: "false"}[stream]))
			r := Parse(tt.api, status, ct, body)
			if slow := parse(tt.api, status, ct, body, false); !reflect.DeepEqual(r, slow) {
				t.Errorf("%s: fast path differs:\nfast %+v\nslow %+v", name, r, slow)
			}
			if r.Error != "" || r.Note != "" {
				t.Errorf("%s: error %q note %q", name, r.Error, r.Note)
			}
			joined := string(bytes.Join(r.Response, []byte("\n")))
			for _, w := range tt.want {
				if !strings.Contains(joined, w) {
					t.Errorf("%s: response lacks %s:\n%s", name, w, joined)
				}
			}
			for _, item := range r.Response {
				if !json.Valid(item) {
					t.Errorf("%s: response item is not JSON: %s", name, item)
				}
			}
			u := fakellm.UsageFor(tt.nMsgs, tt.out)
			check := func(field string, got *int64, want int64, present bool) {
				if !present {
					if got != nil {
						t.Errorf("%s: usage %s = %d, want absent", name, field, *got)
					}
					return
				}
				if got == nil || *got != want {
					t.Errorf("%s: usage %s = %v, want %d", name, field, ptr(got), want)
				}
			}
			check("input", r.Usage.Input, u.Input, true)
			check("cached", r.Usage.Cached, u.Cached, true)
			check("output", r.Usage.Output, u.Output, true)
			check("cache write", r.Usage.CacheWrite, u.CacheWrite, tt.cacheWrite)
			check("reasoning", r.Usage.Reasoning, u.Reasoning, tt.reasoning)
			if stream && (r.FirstContent <= 0 || r.FirstContent > len(body)) {
				t.Errorf("%s: first content offset %d not within body of %d bytes", name, r.FirstContent, len(body))
			}
			if !stream && r.FirstContent != -1 {
				t.Errorf("%s: first content %d for an unstreamed body", name, r.FirstContent)
			}
			if r.ResponseID == "" || r.Model == "" {
				t.Errorf("%s: response id %q model %q", name, r.ResponseID, r.Model)
			}
		}
	}
}

func ptr(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestTruncatedAndErrors(t *testing.T) {
	for _, tt := range []struct{ api, path, body string }{
		{schemas.APIAnthropic, "/v1/messages", anthTool},
		{schemas.APIOpenAIChat, "/v1/chat/completions", chatTool},
		{schemas.APIOpenAIResponses, "/v1/responses", respTool},
	} {
		status, ct, body := call(t, tt.path, sprintf(tt.body, "true"))
		// The whole stream is complete, its terminal event ending it.
		if r := Parse(tt.api, status, ct, body); !r.Complete || r.End != len(body) || r.Error != "" {
			t.Errorf("%s whole stream: complete %v end %d (body %d) error %q", tt.api, r.Complete, r.End, len(body), r.Error)
		}
		// Cut the stream in the middle: the turn is kept, marked truncated.
		r := Parse(tt.api, status, ct, body[:len(body)*2/3])
		if !strings.HasPrefix(r.Error, "truncated") || r.Complete || r.End != -1 {
			t.Errorf("%s cut stream: error %q complete %v end %d, want truncated, incomplete, -1", tt.api, r.Error, r.Complete, r.End)
		}
		// Unstreamed: complete when the body is whole JSON.
		status, ct, body = call(t, tt.path, sprintf(tt.body, "false"))
		if r := Parse(tt.api, status, ct, body); !r.Complete || r.End != -1 {
			t.Errorf("%s whole JSON: complete %v end %d", tt.api, r.Complete, r.End)
		}
		if r := Parse(tt.api, status, ct, body[:len(body)-3]); r.Complete {
			t.Errorf("%s cut JSON: complete", tt.api)
		}
		if len(r.Response) == 0 {
			t.Errorf("%s cut stream: no response items kept", tt.api)
		}
		// Garbage keeps the body raw with a note.
		r = Parse(tt.api, 200, "application/json", []byte("<html>oops</html>"))
		if r.Note == "" || len(r.Response) != 1 || string(r.Response[0]) != `"<html>oops</html>"` {
			t.Errorf("%s garbage: note %q response %q", tt.api, r.Note, r.Response)
		}
		// An HTTP error carries the provider's message.
		r = Parse(tt.api, 529, "application/json", []byte(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`))
		if r.Error != "HTTP 529: overloaded_error: Overloaded" {
			t.Errorf("%s 529: error %q", tt.api, r.Error)
		}
	}
	// A mid-stream error event ends the stream.
	r := Parse(schemas.APIAnthropic, 200, "text/event-stream", []byte("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":5}}}\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"))
	if r.Error != "overloaded_error: Overloaded" || r.Usage.Input == nil || *r.Usage.Input != 5 || !r.Complete {
		t.Errorf("mid-stream error: %q usage %v", r.Error, ptr(r.Usage.Input))
	}
	// A Responses error event, flat (SSE) or nested (WebSocket), ends the
	// stream with its message.
	for body, want := range map[string]string{
		"data: {\"type\":\"error\",\"code\":\"server_error\",\"message\":\"boom\"}\n\n":                                          "boom",
		"data: {\"type\":\"error\",\"status\":400,\"error\":{\"type\":\"invalid_request_error\",\"message\":\"bad input\"}}\n\n": "invalid_request_error: bad input",
	} {
		if r := Parse(schemas.APIOpenAIResponses, 200, "text/event-stream", []byte(body)); r.Error != want || !r.Complete {
			t.Errorf("responses error event %q: error %q complete %v, want %q", body, r.Error, r.Complete, want)
		}
	}
	// Unknown API: raw.
	r = Parse(schemas.APIRaw, 200, "application/json", []byte(`{"x":1}`))
	if r.Note == "" || len(r.Response) != 1 {
		t.Errorf("raw: %+v", r)
	}
}

func fuzzAdapter(f *testing.F, api, path string, bodies ...string) {
	for _, b := range bodies {
		for _, s := range []string{"true", "false"} {
			status, ct, body := call(f, path, sprintf(b, s))
			f.Add(status, ct, body)
			f.Add(status, ct, body[:len(body)/2])
		}
	}
	f.Add(200, "text/event-stream", []byte("data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":-1}]}}]}\n\n"))
	f.Add(200, "text/event-stream", []byte("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\nevent: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"a\\\"b\\u00e9\\n\"}}\n\n"))
	f.Add(200, "text/event-stream", []byte("data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\ndata: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"q\\\"\\t\"},\"finish_reason\":null}],\"usage\":null}\n\n"))
	f.Add(200, "text/event-stream", []byte("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":9,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"[1\"}}\n\n"))
	f.Fuzz(func(t *testing.T, status int, ct string, body []byte) {
		orig := bytes.Clone(body)
		r := Parse(api, status, ct, body)
		if slow := parse(api, status, ct, body, false); !reflect.DeepEqual(r, slow) {
			t.Fatalf("fast path differs from the general one:\nfast %+v\nslow %+v", r, slow)
		}
		if !bytes.Equal(body, orig) {
			t.Fatal("Parse modified the body")
		}
		if r.FirstContent > len(body) || r.End > len(body) || (r.Complete && r.End < 0 && !json.Valid(body)) {
			t.Fatalf("first content %d / end %d past the body (%d), complete %v", r.FirstContent, r.End, len(body), r.Complete)
		}
		for _, it := range r.Response {
			if !json.Valid(it) {
				t.Fatalf("response item is not JSON: %q", it)
			}
		}
		// A stream read without error reports the usage replay reads.
		if status == 200 && wire.IsEventStream(ct) && r.Error == "" && !bytes.HasPrefix(body, []byte("\xEF\xBB\xBF")) {
			if got, want := captured(r), replayUsage(api, ct, body, 64); got != want {
				t.Fatalf("capture reads usage %+v, replay %+v", got, want)
			}
		}
	})
}

func FuzzAnthropic(f *testing.F) {
	fuzzAdapter(f, schemas.APIAnthropic, "/v1/messages", anthUser, anthTool)
}

func FuzzOpenAIChat(f *testing.F) {
	fuzzAdapter(f, schemas.APIOpenAIChat, "/v1/chat/completions", chatUser, chatTool)
}

func FuzzOpenAIResponses(f *testing.F) {
	fuzzAdapter(f, schemas.APIOpenAIResponses, "/v1/responses", respUser, respTool)
}
