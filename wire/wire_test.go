package wire

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/schemas"
)

func TestIntField(t *testing.T) {
	tests := []struct {
		in, key string
		want    int64
	}{
		{`{"a":1,"prompt_tokens":42}`, "prompt_tokens", 42},
		{`{"a":1,"prompt_tokens" : 7,"x":2}`, "prompt_tokens", 7},
		{`{"xprompt_tokens":5}`, "prompt_tokens", -1},
		{`{"prompt_tokens":null}`, "prompt_tokens", -1},
		{`{"s":"prompt_tokens","prompt_tokens":3}`, "prompt_tokens", 3},
	}
	for _, tt := range tests {
		if got := intField([]byte(tt.in), tt.key); got != tt.want {
			t.Errorf("intField(%s, %s) = %d, want %d", tt.in, tt.key, got, tt.want)
		}
	}
}

func TestNextEvent(t *testing.T) {
	for _, tt := range []struct {
		in         string
		n, textLen int
	}{
		{"data: a\n\nrest", 9, 7},
		{"data: a\r\n\r\n", 11, 7},
		{"event: x\ndata: a\n\n", 18, 16},
		{"data: a\n", 0, 0},
		{"data: a\r\n\r", 0, 0},
		{"", 0, 0},
	} {
		n, tl := NextEvent([]byte(tt.in))
		if n != tt.n || tl != tt.textLen {
			t.Errorf("NextEvent(%q) = %d, %d; want %d, %d", tt.in, n, tl, tt.n, tt.textLen)
		}
	}
}

func TestSplitEvent(t *testing.T) {
	for _, tt := range []struct {
		in, name, data string
		sim            int64
	}{
		{"event: message_start\ndata: {\"a\":1}", "message_start", `{"a":1}`, -1},
		{": t=12345\ndata:x", "", "x", 12345},
		{"data: a\ndata: b\r\ndata:c", "", "a\nb\nc", -1},
		{": t=12x\ndata: y", "", "y", -1},
		{": keep-alive", "", "", -1},
	} {
		name, data, _, sim := SplitEvent([]byte(tt.in), nil)
		if string(name) != tt.name || string(data) != tt.data || sim != tt.sim {
			t.Errorf("SplitEvent(%q) = %q, %q, %d; want %q, %q, %d", tt.in, name, data, sim, tt.name, tt.data, tt.sim)
		}
	}
	if got := string(AppendSimTime([]byte("x"), 42)); got != "x: t=42\n" {
		t.Errorf("AppendSimTime = %q", got)
	}
}

// TestStreamUsage reads the usage of each API's final events, DeepSeek's
// cache hits included (its API reports them as prompt_cache_hit_tokens).
func TestStreamUsage(t *testing.T) {
	for _, tt := range []struct {
		name, api string
		events    [][2]string // name, data
		want      Usage
		done      bool
		outputs   int
	}{
		{"openai chat", schemas.APIOpenAIChat, [][2]string{
			{"", `{"choices":[{"delta":{"content":"hi"}}]}`},
			{"", `{"choices":[],"usage":{"prompt_tokens":100,"completion_tokens":5,"prompt_tokens_details":{"cached_tokens":64},"completion_tokens_details":{"reasoning_tokens":2}}}`},
			{"", "[DONE]"}}, Usage{100, 64, 5, 2}, true, 1},
		{"deepseek chat", schemas.APIOpenAIChat, [][2]string{
			{"", `{"choices":[{"delta":{"reasoning_content":"hm"}}]}`},
			{"", `{"choices":[],"usage":{"prompt_tokens":900,"completion_tokens":7,"prompt_cache_hit_tokens":768,"prompt_cache_miss_tokens":132}}`},
			{"", "[DONE]"}}, Usage{900, 768, 7, -1}, true, 1},
		{"anthropic", schemas.APIAnthropic, [][2]string{
			{"message_start", `{"type":"message_start","message":{"usage":{"input_tokens":10,"cache_read_input_tokens":80,"cache_creation_input_tokens":5,"output_tokens":1}}}`},
			{"content_block_delta", `{"type":"content_block_delta","delta":{"type":"text_delta","text":"x"}}`},
			{"message_delta", `{"type":"message_delta","usage":{"output_tokens":9}}`},
			{"message_stop", `{"type":"message_stop"}`}}, Usage{95, 80, 9, -1}, true, 1},
		{"responses", schemas.APIOpenAIResponses, [][2]string{
			{"response.output_text.delta", `{"delta":"x"}`},
			{"", `{"type":"response.completed","response":{"usage":{"input_tokens":50,"input_tokens_details":{"cached_tokens":32},"output_tokens":4,"output_tokens_details":{"reasoning_tokens":1}}}}`}},
			Usage{50, 32, 4, 1}, true, 1},
	} {
		s := NewStream(tt.api)
		outputs := 0
		for _, e := range tt.events {
			if s.Event([]byte(e[0]), []byte(e[1])) {
				outputs++
			}
		}
		if s.Usage() != tt.want || s.Done != tt.done || outputs != tt.outputs || s.Err != "" {
			t.Errorf("%s: usage %+v done %v outputs %d err %q; want %+v %v %d", tt.name, s.Usage(), s.Done, outputs, s.Err, tt.want, tt.done, tt.outputs)
		}
	}
	s := NewStream(schemas.APIOpenAIChat)
	s.Whole([]byte(`{"choices":[{"message":{"content":"x"}}],"usage":{"prompt_tokens":3,"completion_tokens":1,"prompt_cache_hit_tokens":2}}`))
	if s.Usage() != (Usage{3, 2, 1, -1}) || !s.Done {
		t.Errorf("whole body: %+v", s.Usage())
	}
}

func TestEndpoints(t *testing.T) {
	for _, api := range APIs {
		p, ok := Path(api)
		if !ok || APIOf("POST", p) != api || APIOf("POST", "/openai"+p+"/") != api || APIOf("GET", p) != "" {
			t.Errorf("%s: path %q, back %q", api, p, APIOf("POST", p))
		}
	}
	for _, tt := range []struct{ base, api, want string }{
		{"http://h:8000/v1", schemas.APIOpenAIChat, "http://h:8000/v1/chat/completions"},
		{"http://h:8000/", schemas.APIAnthropic, "http://h:8000/v1/messages"},
		{"https://x/api", schemas.APIOpenAIResponses, "https://x/api/v1/responses"},
	} {
		if got, err := EndpointURL(tt.base, tt.api); err != nil || got != tt.want {
			t.Errorf("EndpointURL(%q, %s) = %q, %v; want %q", tt.base, tt.api, got, err, tt.want)
		}
	}
	if _, err := EndpointURL("http://h", "grpc"); err == nil || strings.Contains(err.Error(), "--") {
		t.Errorf("unknown API: %v", err)
	}
	if APIOf("POST", "/backend-api/codex/responses") != schemas.APIOpenAIResponses || APIOf("POST", "/health") != "" {
		t.Error("gateway paths")
	}
}

// FuzzScan frames arbitrary bytes into events and feeds them to a Stream
// of each API: no panic, no event longer than its input, usage never
// below -1.
func FuzzScan(f *testing.F) {
	f.Add([]byte("data: {\"usage\":{\"prompt_tokens\":1}}\n\n: t=5\ndata: [DONE]\n\n"), uint8(0))
	f.Add([]byte("event: message_start\ndata: {\"usage\":{\"input_tokens\":3}}\r\n\r\n"), uint8(1))
	f.Fuzz(func(t *testing.T, b []byte, api uint8) {
		s := NewStream([]string{schemas.APIOpenAIChat, schemas.APIAnthropic, schemas.APIOpenAIResponses}[api%3])
		var scratch []byte
		for len(b) > 0 {
			n, tl := NextEvent(b)
			if n == 0 {
				break
			}
			if tl > n || n > len(b) {
				t.Fatalf("NextEvent: %d, %d of %d bytes", n, tl, len(b))
			}
			var name, data []byte
			name, data, scratch, _ = SplitEvent(b[:tl], scratch)
			s.Event(name, data)
			b = b[n:]
		}
		u := s.Usage()
		if slices.Min([]int64{u.Input, u.Cached, u.Output, u.Reasoning}) < -1 {
			t.Fatalf("usage %+v", u)
		}
		_ = fmt.Sprint(u)
	})
}
