package wire

import (
	"bytes"

	"github.com/agentperf/agentperf/schemas"
)

// Usage is the token usage a response reported; -1 for a count it did
// not report. Input is the whole prompt, cached tokens included.
type Usage struct {
	Input, Cached, Output, Reasoning int64
}

// Stream follows one streamed response of an API by looking only at the
// bytes it needs: event names, whether an event carries output (a content,
// reasoning or tool-argument delta), the usage numbers and the
// end-of-stream marker. It never unmarshals a chunk and does not allocate
// (but for the message of an error event). Make one with NewStream.
type Stream struct {
	api string
	// Done is set by the API's end-of-stream event.
	Done bool
	// Err describes an error event, a failed or incomplete response.
	Err string
	// Usage reported by the target; -1 when not reported.
	in, cached, out, reasoning int64
	// cacheRead and cacheWrite hold Anthropic's separate input counts.
	cacheRead, cacheWrite, inExcl int64
}

// Usage returns the usage the stream reported so far.
func (s *Stream) Usage() Usage {
	return Usage{Input: s.in, Cached: s.cached, Output: s.out, Reasoning: s.reasoning}
}

// NewStream returns the state of a response of api (a schemas.API*
// constant; any other is read as OpenAI Chat) before its first event.
func NewStream(api string) Stream {
	return Stream{api: api, in: -1, cached: -1, out: -1, reasoning: -1, cacheRead: -1, cacheWrite: -1, inExcl: -1}
}

// typeOf returns the value of the first "type" key in data, for servers
// that send OpenAI Responses or Anthropic events without an event: line.
func typeOf(data []byte) []byte {
	i := bytes.Index(data, []byte(`"type":`))
	if i < 0 {
		return nil
	}
	v := skipSpace(data[i+7:])
	if len(v) == 0 || v[0] != '"' {
		return nil
	}
	v = v[1:]
	if j := bytes.IndexByte(v, '"'); j >= 0 {
		return v[:j]
	}
	return nil
}

func skipSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	return b
}

// intField returns the integer value of "key": in b, or -1.
func intField(b []byte, key string) int64 {
	i := indexKey(b, key)
	if i < 0 {
		return -1
	}
	v := skipSpace(b[i:])
	var n int64
	digits := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int64(c-'0')
		digits++
	}
	if digits == 0 {
		return -1
	}
	return n
}

// indexKey returns the index just after `"key":` in b, or -1.
func indexKey(b []byte, key string) int {
	for from := 0; ; {
		i := bytes.Index(b[from:], []byte(key))
		if i < 0 {
			return -1
		}
		i += from
		end := i + len(key)
		if i > 0 && b[i-1] == '"' && end+1 < len(b) && b[end] == '"' {
			rest := skipSpace(b[end+1:])
			if len(rest) > 0 && rest[0] == ':' {
				return len(b) - len(rest) + 1
			}
		}
		from = end
	}
}

// nonEmptyString reports whether "key": is followed by a non-empty string.
func nonEmptyString(b []byte, key string) bool {
	i := indexKey(b, key)
	if i < 0 {
		return false
	}
	v := skipSpace(b[i:])
	return len(v) > 1 && v[0] == '"' && v[1] != '"'
}

// usage returns the part of data from its "usage" object on, or nil.
func usage(data []byte) []byte {
	i := indexKey(data, "usage")
	if i < 0 {
		return nil
	}
	v := skipSpace(data[i:])
	if len(v) == 0 || v[0] != '{' {
		return nil
	}
	return v
}

// Snippet returns b for an error message: its first 300 bytes, "…" when
// cut.
func Snippet(b []byte) string {
	const max = 300
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}

// Event consumes one event (its name, "" when it had no event: line, and
// its data) and reports whether it carried output.
func (s *Stream) Event(name, data []byte) bool {
	switch s.api {
	case schemas.APIAnthropic:
		return s.anthropic(name, data)
	case schemas.APIOpenAIResponses:
		return s.responses(name, data)
	default:
		return s.chat(data)
	}
}

func (s *Stream) chat(data []byte) bool {
	if len(data) == 0 {
		return false
	}
	if data[0] == '[' && bytes.Equal(data, []byte("[DONE]")) {
		s.Done = true
		return false
	}
	if u := usage(data); u != nil {
		s.chatUsage(u)
	}
	if bytes.HasPrefix(data, []byte(`{"error"`)) || (indexKey(data, "error") >= 0 && indexKey(data, "choices") < 0) {
		s.Err = "error event: " + Snippet(data)
		return false
	}
	if indexKey(data, "delta") < 0 {
		return false
	}
	return nonEmptyString(data, "content") || nonEmptyString(data, "reasoning_content") ||
		nonEmptyString(data, "reasoning") || indexKey(data, "tool_calls") >= 0
}

func (s *Stream) anthropic(name, data []byte) bool {
	if len(name) == 0 {
		name = typeOf(data)
	}
	switch string(name) {
	case "content_block_delta":
		return !bytes.Contains(data, []byte(`"signature_delta"`))
	case "message_start", "message_delta":
		if u := usage(data); u != nil {
			if v := intField(u, "input_tokens"); v >= 0 {
				s.inExcl = v
			}
			if v := intField(u, "cache_read_input_tokens"); v >= 0 {
				s.cacheRead = v
			}
			if v := intField(u, "cache_creation_input_tokens"); v >= 0 {
				s.cacheWrite = v
			}
			if v := intField(u, "output_tokens"); v >= 0 {
				s.out = v
			}
			if s.inExcl >= 0 {
				// Anthropic's input_tokens excludes cache reads and writes.
				s.in = s.inExcl + max(s.cacheRead, 0) + max(s.cacheWrite, 0)
				s.cached = max(s.cacheRead, 0)
			}
		}
	case "message_stop":
		s.Done = true
	case "error":
		s.Err = "error event: " + Snippet(data)
	}
	return false
}

func (s *Stream) responses(name, data []byte) bool {
	if len(name) == 0 {
		name = typeOf(data)
	}
	switch string(name) {
	case "response.output_text.delta", "response.function_call_arguments.delta",
		"response.custom_tool_call_input.delta", "response.reasoning_text.delta",
		"response.reasoning_summary_text.delta", "response.refusal.delta":
		return true
	case "response.completed", "response.incomplete", "response.failed":
		s.Done = true
		if u := usage(data); u != nil {
			s.in = intField(u, "input_tokens")
			s.cached = intField(u, "cached_tokens")
			s.out = intField(u, "output_tokens")
			s.reasoning = intField(u, "reasoning_tokens")
		}
		switch string(name) {
		case "response.failed":
			s.Err = "response.failed: " + Snippet(data)
		case "response.incomplete":
			// Hitting max_output_tokens is what a pinned length asks for.
			if !bytes.Contains(data, []byte(`"max_output_tokens"`)) {
				s.Err = "response.incomplete: " + Snippet(data)
			}
		}
	case "error":
		s.Err = "error event: " + Snippet(data)
	}
	return false
}

// Whole reads the usage of a non-streamed JSON response body and marks the
// response done.
func (s *Stream) Whole(body []byte) {
	u := usage(body)
	if u == nil {
		return
	}
	switch s.api {
	case schemas.APIAnthropic:
		s.anthropic([]byte("message_start"), body)
	case schemas.APIOpenAIResponses:
		s.in = intField(u, "input_tokens")
		s.cached = intField(u, "cached_tokens")
		s.out = intField(u, "output_tokens")
		s.reasoning = intField(u, "reasoning_tokens")
	default:
		s.chatUsage(u)
	}
	s.Done = true
}

// chatUsage reads an OpenAI Chat usage object. Cached tokens are
// prompt_tokens_details.cached_tokens, or DeepSeek's prompt_cache_hit_tokens
// (its API reports hits there, beside prompt_cache_miss_tokens).
func (s *Stream) chatUsage(u []byte) {
	s.in = intField(u, "prompt_tokens")
	s.out = intField(u, "completion_tokens")
	s.cached = intField(u, "cached_tokens")
	if s.cached < 0 {
		s.cached = intField(u, "prompt_cache_hit_tokens")
	}
	s.reasoning = intField(u, "reasoning_tokens")
}
