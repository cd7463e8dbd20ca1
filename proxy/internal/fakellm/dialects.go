package fakellm

import (
	"fmt"
	"io"
	"net/http"

	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/wire"
)

// Recorded is one response as a server other than the fake sends it, with
// the usage it reports.
type Recorded struct {
	Name, API, ContentType string
	Body                   []byte
	// Usage holds the counts the body reports (-1: not reported).
	Usage wire.Usage
}

// sse renders events (name, data; an empty name writes no event: line).
func sse(events ...[2]string) []byte {
	var b []byte
	for _, e := range events {
		if e[0] != "" {
			b = fmt.Appendf(b, "event: %s\n", e[0])
		}
		b = fmt.Appendf(b, "data: %s\n\n", e[1])
	}
	return b
}

const eventStream = "text/event-stream"

// Dialects returns responses that report usage the way other servers do:
// DeepSeek's prompt_cache_hit_tokens (streamed, with reasoning, and not),
// usage on every chunk (vLLM's continuous_usage_stats), Anthropic's
// cumulative message_delta usage, and Responses events without event:
// lines. Each API's first entry is a streamed one.
func Dialects() []Recorded {
	return []Recorded{
		{"deepseek reasoner", schemas.APIOpenAIChat, eventStream, sse(
			[2]string{"", `{"id":"d1","model":"deepseek-reasoner","choices":[{"index":0,"delta":{"role":"assistant","content":null,"reasoning_content":""},"logprobs":null,"finish_reason":null}]}`},
			[2]string{"", `{"id":"d1","model":"deepseek-reasoner","choices":[{"index":0,"delta":{"content":null,"reasoning_content":"Let me think"},"logprobs":null,"finish_reason":null}]}`},
			[2]string{"", `{"id":"d1","model":"deepseek-reasoner","choices":[{"index":0,"delta":{"content":"Done."},"logprobs":null,"finish_reason":null}]}`},
			[2]string{"", `{"id":"d1","model":"deepseek-reasoner","choices":[{"index":0,"delta":{"content":""},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":900,"completion_tokens":40,"total_tokens":940,"prompt_cache_hit_tokens":768,"prompt_cache_miss_tokens":132,"completion_tokens_details":{"reasoning_tokens":31}}}`},
			[2]string{"", `[DONE]`}),
			wire.Usage{Input: 900, Cached: 768, Output: 40, Reasoning: 31}},
		{"deepseek unstreamed", schemas.APIOpenAIChat, "application/json",
			[]byte(`{"id":"d2","model":"deepseek-chat","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":500,"completion_tokens":2,"total_tokens":502,"prompt_cache_hit_tokens":448,"prompt_cache_miss_tokens":52}}`),
			wire.Usage{Input: 500, Cached: 448, Output: 2, Reasoning: -1}},
		{"usage on every chunk (vLLM continuous_usage_stats)", schemas.APIOpenAIChat, eventStream, sse(
			[2]string{"", `{"id":"v1","model":"m","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}],"usage":{"prompt_tokens":70,"completion_tokens":1,"total_tokens":71}}`},
			[2]string{"", `{"id":"v1","model":"m","choices":[{"index":0,"delta":{"content":"b"},"finish_reason":"length"}],"usage":{"prompt_tokens":70,"completion_tokens":2,"total_tokens":72,"prompt_tokens_details":{"cached_tokens":64}}}`},
			[2]string{"", `[DONE]`}),
			wire.Usage{Input: 70, Cached: 64, Output: 2, Reasoning: -1}},
		{"anthropic cumulative message_delta", schemas.APIAnthropic, eventStream, sse(
			[2]string{"message_start", `{"type":"message_start","message":{"id":"msg_1","model":"claude-x","content":[],"usage":{"input_tokens":12,"cache_creation_input_tokens":100,"cache_read_input_tokens":2000,"output_tokens":1}}}`},
			[2]string{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`},
			[2]string{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}`},
			[2]string{"content_block_stop", `{"type":"content_block_stop","index":0}`},
			[2]string{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"input_tokens":12,"cache_creation_input_tokens":100,"cache_read_input_tokens":2000,"output_tokens":7}}`},
			[2]string{"message_stop", `{"type":"message_stop"}`}),
			wire.Usage{Input: 2112, Cached: 2000, Output: 7, Reasoning: -1}},
		{"responses without event lines", schemas.APIOpenAIResponses, eventStream, sse(
			[2]string{"", `{"type":"response.created","response":{"id":"resp_1","model":"m","status":"in_progress","output":[],"usage":null}}`},
			[2]string{"", `{"type":"response.output_text.delta","item_id":"x","output_index":0,"content_index":0,"delta":"hi"}`},
			[2]string{"", `{"type":"response.completed","response":{"id":"resp_1","model":"m","status":"completed","output":[{"type":"message","role":"assistant","content":[{"type":"output_text","text":"hi"}]}],"usage":{"input_tokens":300,"input_tokens_details":{"cached_tokens":256},"output_tokens":9,"output_tokens_details":{"reasoning_tokens":4},"total_tokens":309}}}`}),
			wire.Usage{Input: 300, Cached: 256, Output: 9, Reasoning: 4}},
	}
}

// Replayer is an http.Handler that answers every call of an API
// (wire.APIOf) with the first of its responses of that API, whatever the
// request asked, and anything else with 404.
type Replayer []Recorded

// ServeHTTP implements http.Handler.
func (rs Replayer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	api := wire.APIOf(r.Method, r.URL.Path)
	for _, rec := range rs {
		if rec.API == api {
			w.Header().Set("Content-Type", rec.ContentType)
			w.Write(rec.Body)
			return
		}
	}
	http.NotFound(w, r)
}
