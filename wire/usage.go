package wire

import (
	"bytes"
)

// Usage is the token usage a response reported; -1 for a count it did
// not report. Input is the whole prompt, cached tokens included.
type Usage struct {
	Input, Cached, Output, Reasoning int64
}

// Stream follows one streamed response of an API by looking only at the
// bytes it needs: event names, whether an event carries output (a content,
// reasoning or tool-call delta, where its Scanner's keys say), the usage
// numbers and the end-of-stream marker. It never unmarshals a chunk and
// does not allocate (but for the message of an error event). Make one
// with NewStream (every key a known server uses) or Scanner.Stream (one
// dialect's keys).
type Stream struct {
	sc *Scanner
	// Done is set by the API's end-of-stream event.
	Done bool
	// Err describes an error event, a failed or incomplete response.
	Err string
	// Deltas counts the events that carried output; ReasoningDeltas those
	// that carried reasoning (they count toward Deltas too).
	Deltas, ReasoningDeltas int
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
// constant; any other is read as OpenAI Chat) before its first event, read
// with AnyKeys.
func NewStream(api string) Stream { return DefaultScanner(api).Stream() }

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
	i := indexKey(b, []byte(key))
	if i < 0 {
		return -1
	}
	return intAt(b[i:])
}

// indexKey returns the index just after `"key":` in b, or -1.
func indexKey(b []byte, key []byte) int {
	for from := 0; ; {
		i := bytes.Index(b[from:], key)
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
	if s.sc.evented {
		return s.evented(name, data)
	}
	return s.chat(data)
}

// output counts a delta of kind k and reports whether it was one.
func (s *Stream) output(k int) bool {
	if k == deltaNone {
		return false
	}
	s.Deltas++
	if k == deltaReasoning {
		s.ReasoningDeltas++
	}
	return true
}

func (s *Stream) chat(data []byte) bool {
	if len(data) == 0 {
		return false
	}
	if data[0] == '[' && bytes.Equal(data, []byte("[DONE]")) {
		s.Done = true
		return false
	}
	s.usage(data)
	if k := s.sc.delta(data); k != deltaNone {
		return s.output(k)
	}
	if bytes.HasPrefix(data, []byte(`{"error"`)) || (indexKey(data, keyError) >= 0 && indexKey(data, keyChoices) < 0) {
		s.Err = "error event: " + Snippet(data)
	}
	return false
}

var (
	keyError   = []byte("error")
	keyChoices = []byte("choices")
)

// evented reads an event of an API whose events are named (Responses,
// Anthropic; the data's "type" when there is no event: line).
func (s *Stream) evented(name, data []byte) bool {
	if len(name) == 0 {
		name = typeOf(data)
	}
	if k := s.sc.eventKind(name); k != deltaNone {
		return s.output(k)
	}
	switch string(name) {
	case "message_stop":
		s.Done = true
		return false
	case "error":
		s.Err = "error event: " + Snippet(data)
		return false
	case "response.completed", "response.incomplete", "response.failed":
		s.Done = true
		s.usage(data)
		switch string(name) {
		case "response.failed":
			s.Err = "response.failed: " + Snippet(data)
		case "response.incomplete":
			// Hitting max_output_tokens is what a pinned length asks for.
			if !bytes.Contains(data, []byte(`"max_output_tokens"`)) {
				s.Err = "response.incomplete: " + Snippet(data)
			}
		}
		return false
	}
	if s.output(s.sc.delta(data)) {
		return true
	}
	s.usage(data)
	return false
}

// usage reads the counts the scanner's usage paths find in data; a count
// not found keeps its value.
func (s *Stream) usage(data []byte) {
	sc := s.sc
	var at [maxRoots]int
	found := false
	for i, r := range sc.roots {
		at[i] = indexKey(data, r)
		found = found || at[i] >= 0
	}
	if !found {
		return
	}
	dst := [nCounts]*int64{&s.in, &s.out, &s.cached, &s.reasoning, &s.cacheWrite}
	if sc.inExcl {
		dst[cIn], dst[cCached] = &s.inExcl, &s.cacheRead
	}
	for c := range sc.counts {
		for _, p := range sc.counts[c] {
			if at[p.root] < 0 {
				continue
			}
			if i := findPath(data, p.rest, at[p.root]); i >= 0 {
				if v := intAt(data[i:]); v >= 0 {
					*dst[c] = v
					break
				}
			}
		}
	}
	if sc.inExcl && s.inExcl >= 0 {
		// The prompt is the uncached input plus cache reads and writes.
		s.in = s.inExcl + max(s.cacheRead, 0) + max(s.cacheWrite, 0)
		s.cached = max(s.cacheRead, 0)
	}
}

// Whole reads the usage of a non-streamed JSON response body and marks the
// response done.
func (s *Stream) Whole(body []byte) {
	s.usage(body)
	s.Done = true
}
