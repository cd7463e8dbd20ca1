package replay

import (
	"bytes"

	"github.com/agentperf/agentperf/schemas"
)

// streamState follows one streamed response by looking only at the bytes it
// needs: event names, whether an event carries output (a content, reasoning
// or tool-argument delta), the usage numbers and the end-of-stream marker.
// It never unmarshals a chunk.
type streamState struct {
	api string
	// done is set by the API's end-of-stream event.
	done bool
	// err describes an error event, a failed or incomplete response.
	err string
	// Usage reported by the target; -1 when not reported.
	in, cached, out, reasoning int64
	// cacheRead and cacheWrite hold Anthropic's separate input counts.
	cacheRead, cacheWrite, inExcl int64
}

// usage returns the usage the stream reported.
func (s *streamState) usage() Usage {
	return Usage{Input: s.in, Cached: s.cached, Output: s.out, Reasoning: s.reasoning}
}

func newStreamState(api string) streamState {
	return streamState{api: api, in: -1, cached: -1, out: -1, reasoning: -1, cacheRead: -1, cacheWrite: -1, inExcl: -1}
}

// nextEvent returns the length of the first complete event in b (through
// its blank line) and the length of the event text without the
// terminator; n is 0 when b holds no complete event.
func nextEvent(b []byte) (n, textLen int) {
	from := 0
	for {
		i := bytes.IndexByte(b[from:], '\n')
		if i < 0 {
			return 0, 0
		}
		i += from
		// i is a line end; the event ends if the next line is empty.
		j := i + 1
		if j < len(b) && b[j] == '\n' {
			return j + 1, trimCR(b[:i])
		}
		if j+1 < len(b) && b[j] == '\r' && b[j+1] == '\n' {
			return j + 2, trimCR(b[:i])
		}
		if j >= len(b) || (b[j] == '\r' && j+1 >= len(b)) {
			return 0, 0
		}
		from = j
	}
}

func trimCR(b []byte) int {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		return len(b) - 1
	}
	return len(b)
}

var (
	prefEvent   = []byte("event:")
	prefData    = []byte("data:")
	prefSimTime = []byte(": t=")
)

// splitEvent returns an event's name and data, and the simulated time of a
// sim-clock comment line ": t=<ns>" in it (docs/sim.md), or -1. Multi-line
// data is joined with newlines into scratch (the only case that copies).
func splitEvent(ev []byte, scratch []byte) (name, data, scratchOut []byte, simNS int64) {
	simNS = -1
	lines := 0
	for len(ev) > 0 {
		var line []byte
		if i := bytes.IndexByte(ev, '\n'); i >= 0 {
			line, ev = ev[:i], ev[i+1:]
		} else {
			line, ev = ev, nil
		}
		line = line[:trimCR(line)]
		switch {
		case bytes.HasPrefix(line, prefData):
			v := line[len(prefData):]
			if len(v) > 0 && v[0] == ' ' {
				v = v[1:]
			}
			lines++
			switch lines {
			case 1:
				data = v
			case 2:
				scratch = append(append(append(scratch[:0], data...), '\n'), v...)
				data = scratch
			default:
				scratch = append(append(scratch, '\n'), v...)
				data = scratch
			}
		case bytes.HasPrefix(line, prefEvent):
			name = bytes.TrimSpace(line[len(prefEvent):])
		case bytes.HasPrefix(line, prefSimTime):
			simNS = parseNS(line[len(prefSimTime):])
		}
	}
	return name, data, scratch, simNS
}

// parseNS parses a non-negative decimal integer that fits int64 with nothing
// after it; -1 otherwise.
func parseNS(b []byte) int64 {
	if len(b) == 0 || len(b) > 18 {
		return -1
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int64(c-'0')
	}
	return n
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

func snippet(b []byte) string {
	const max = 300
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}

// event consumes one event and reports whether it carried output.
func (s *streamState) event(name, data []byte) bool {
	switch s.api {
	case schemas.APIAnthropic:
		return s.anthropic(name, data)
	case schemas.APIOpenAIResponses:
		return s.responses(name, data)
	default:
		return s.chat(data)
	}
}

func (s *streamState) chat(data []byte) bool {
	if len(data) == 0 {
		return false
	}
	if data[0] == '[' && bytes.Equal(data, []byte("[DONE]")) {
		s.done = true
		return false
	}
	if u := usage(data); u != nil {
		s.in = intField(u, "prompt_tokens")
		s.out = intField(u, "completion_tokens")
		s.cached = intField(u, "cached_tokens")
		s.reasoning = intField(u, "reasoning_tokens")
	}
	if bytes.HasPrefix(data, []byte(`{"error"`)) || (indexKey(data, "error") >= 0 && indexKey(data, "choices") < 0) {
		s.err = "error event: " + snippet(data)
		return false
	}
	if indexKey(data, "delta") < 0 {
		return false
	}
	return nonEmptyString(data, "content") || nonEmptyString(data, "reasoning_content") ||
		nonEmptyString(data, "reasoning") || indexKey(data, "tool_calls") >= 0
}

func (s *streamState) anthropic(name, data []byte) bool {
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
		s.done = true
	case "error":
		s.err = "error event: " + snippet(data)
	}
	return false
}

func (s *streamState) responses(name, data []byte) bool {
	if len(name) == 0 {
		name = typeOf(data)
	}
	switch string(name) {
	case "response.output_text.delta", "response.function_call_arguments.delta",
		"response.custom_tool_call_input.delta", "response.reasoning_text.delta",
		"response.reasoning_summary_text.delta", "response.refusal.delta":
		return true
	case "response.completed", "response.incomplete", "response.failed":
		s.done = true
		if u := usage(data); u != nil {
			s.in = intField(u, "input_tokens")
			s.cached = intField(u, "cached_tokens")
			s.out = intField(u, "output_tokens")
			s.reasoning = intField(u, "reasoning_tokens")
		}
		switch string(name) {
		case "response.failed":
			s.err = "response.failed: " + snippet(data)
		case "response.incomplete":
			// Hitting max_output_tokens is what a pinned length asks for.
			if !bytes.Contains(data, []byte(`"max_output_tokens"`)) {
				s.err = "response.incomplete: " + snippet(data)
			}
		}
	case "error":
		s.err = "error event: " + snippet(data)
	}
	return false
}

// whole reads the usage of a non-streamed JSON response body.
func (s *streamState) whole(body []byte) {
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
		s.in = intField(u, "prompt_tokens")
		s.out = intField(u, "completion_tokens")
		s.cached = intField(u, "cached_tokens")
		s.reasoning = intField(u, "reasoning_tokens")
	}
	s.done = true
}
