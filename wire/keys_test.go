package wire

import (
	"strings"
	"testing"

	"github.com/agentperf/agentperf/schemas"
)

// TestScannerKeys reads each engine's way of reporting through the keys
// it is given: what counts as output and reasoning, and where usage is.
func TestScannerKeys(t *testing.T) {
	chat := SpecKeys(schemas.APIOpenAIChat)
	sglang := chat.clone()
	sglang.Usage.Reasoning = []string{"usage.reasoning_tokens"}
	sglang.Deltas.Reasoning = []string{"choices.delta.reasoning_content"}
	vllm := chat.clone()
	vllm.Deltas.Reasoning = []string{"choices.delta.reasoning"}
	llama := chat.clone()
	llama.Usage.Cached = []string{"timings.cache_n"}
	llama.Usage.Output = []string{"timings.predicted_n"}
	tests := []struct {
		name      string
		api       string
		keys      Keys
		events    [][2]string
		want      Usage
		deltas    int
		reasoning int
	}{
		{"sglang: null reasoning_content, top-level reasoning_tokens", schemas.APIOpenAIChat, sglang, [][2]string{
			{"", `{"choices":[{"delta":{"reasoning_content":"r"},"finish_reason":null}]}`},
			{"", `{"choices":[{"delta":{"content":"a","reasoning_content":null}}]}`},
			{"", `{"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"prompt_tokens_details":null,"reasoning_tokens":1}}`},
			{"", "[DONE]"}}, Usage{9, -1, 2, 1}, 2, 1},
		{"vllm: reasoning key, not reasoning_content", schemas.APIOpenAIChat, vllm, [][2]string{
			{"", `{"choices":[{"delta":{"reasoning":"r"}}]}`},
			{"", `{"choices":[{"delta":{"reasoning_content":"ignored"}}]}`},
			{"", `{"choices":[{"delta":{"role":"assistant","content":""}}]}`},
			{"", `{"choices":[{"delta":{"tool_calls":[{"index":0}]}}]}`},
			{"", `{"choices":[{"delta":{"tool_calls":[]}}]}`},
			{"", `{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3,"prompt_tokens_details":{"cached_tokens":4}}}`}},
			Usage{5, 4, 3, -1}, 2, 1},
		{"llama.cpp: timings", schemas.APIOpenAIChat, llama, [][2]string{
			{"", `{"choices":[{"delta":{"content":"x"}}]}`},
			{"", `{"choices":[{"delta":{},"finish_reason":"length"}],"usage":{"prompt_tokens":30},"timings":{"cache_n":20,"prompt_n":10,"predicted_n":1}}`}},
			Usage{30, 20, 1, -1}, 1, 0},
		{"anthropic: empty partial_json is no output", schemas.APIAnthropic, SpecKeys(schemas.APIAnthropic), [][2]string{
			{"message_start", `{"type":"message_start","message":{"usage":{"input_tokens":3,"output_tokens":1}}}`},
			{"content_block_delta", `{"type":"content_block_delta","delta":{"type":"input_json_delta","partial_json":""}}`},
			{"content_block_delta", `{"type":"content_block_delta","delta":{"type":"input_json_delta","partial_json":"{\"a\""}}`},
			{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":4}}`},
			{"message_stop", `{"type":"message_stop"}`}}, Usage{3, 0, 4, -1}, 1, 0},
		{"responses: reasoning events", schemas.APIOpenAIResponses, SpecKeys(schemas.APIOpenAIResponses), [][2]string{
			{"response.reasoning_text.delta", `{"delta":"r"}`},
			{"response.output_text.delta", `{"delta":"a"}`},
			{"response.completed", `{"response":{"usage":{"input_tokens":7,"output_tokens":2}}}`}}, Usage{7, -1, 2, -1}, 2, 1},
	}
	for _, tt := range tests {
		sc, err := NewScanner(tt.api, tt.keys)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		s := sc.Stream()
		for _, e := range tt.events {
			s.Event([]byte(e[0]), []byte(e[1]))
		}
		if s.Usage() != tt.want || s.Deltas != tt.deltas || s.ReasoningDeltas != tt.reasoning || s.Err != "" {
			t.Errorf("%s: usage %+v deltas %d reasoning %d err %q; want %+v %d %d", tt.name, s.Usage(), s.Deltas, s.ReasoningDeltas, s.Err, tt.want, tt.deltas, tt.reasoning)
		}
	}
}

func TestNewScannerErrors(t *testing.T) {
	for _, k := range []Keys{
		{Usage: UsageKeys{Input: []string{""}}},
		{Usage: UsageKeys{Output: []string{"usage..x"}}},
		{Deltas: DeltaKeys{Content: []string{"choices."}}},
		{Usage: UsageKeys{Input: strings.Split("a.x b.x c.x d.x e.x f.x g.x h.x i.x", " ")}},
	} {
		if _, err := NewScanner(schemas.APIOpenAIChat, k); err == nil {
			t.Errorf("NewScanner(%+v): no error", k)
		}
	}
	if sc := DefaultScanner("grpc"); sc.API() != schemas.APIOpenAIChat {
		t.Errorf("DefaultScanner(grpc) reads %s", sc.API())
	}
}

// FuzzScanKeys compiles arbitrary key paths and reads arbitrary events
// with them: no panic, counts never below -1.
func FuzzScanKeys(f *testing.F) {
	f.Add("usage.prompt_tokens", "choices.delta.content", []byte(`{"choices":[{"delta":{"content":"x"}}],"usage":{"prompt_tokens":3}}`), uint8(0))
	f.Add("message.usage.input_tokens", "delta.text", []byte(`{"type":"message_start","message":{"usage":{"input_tokens":3}}}`), uint8(1))
	f.Fuzz(func(t *testing.T, usagePath, deltaPath string, data []byte, api uint8) {
		a := []string{schemas.APIOpenAIChat, schemas.APIAnthropic, schemas.APIOpenAIResponses}[api%3]
		sc, err := NewScanner(a, Keys{
			Usage:  UsageKeys{Input: []string{usagePath}, Output: []string{usagePath}, InputExcludesCache: api&4 != 0},
			Deltas: DeltaKeys{Content: []string{deltaPath}, ContentEvents: []string{deltaPath}},
		})
		if err != nil {
			return
		}
		s := sc.Stream()
		s.Event(nil, data)
		s.Event([]byte(deltaPath), data)
		s.Whole(data)
		if u := s.Usage(); min(u.Input, u.Cached, u.Output, u.Reasoning) < -1 || s.Deltas < s.ReasoningDeltas {
			t.Fatalf("usage %+v deltas %d/%d", u, s.Deltas, s.ReasoningDeltas)
		}
	})
}
