// Package adapt turns one captured API call — the request body and the
// response body as received, streamed or not — into the pieces of a trace
// turn: the response as message-list items of the same API (an Anthropic
// assistant message, an OpenAI chat assistant message, or OpenAI Responses
// output items), provider-reported usage, the offset of the first content
// token in the stream, and errors. It handles Anthropic Messages, OpenAI
// Chat Completions and OpenAI Responses. Anything it cannot read is kept
// raw with a note; adapters never panic on malformed or truncated input.
//
// SSE framing and the usage numbers are read by package wire, as replay
// reads them: Events cuts the events, and every complete event up to the
// end-of-stream one goes through a wire.Stream, so a capture and a replay
// of the same server report the same input, cached, output and reasoning
// counts (DeepSeek's prompt_cache_hit_tokens included).
package adapt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/wire"
)

// Result is what an adapter read from one call.
type Result struct {
	// Response holds the response as message-list items of the call's API,
	// in order; for an unreadable body, the raw body as one JSON string.
	Response [][]byte
	// Usage is the provider-reported token counts, as wire.Stream reads
	// them (nil where it read none); Input is the whole prompt, cached and
	// cache-written tokens included.
	Usage schemas.Usage
	// FirstContent is the offset in the response body just past the event
	// that carried the first content token (text, reasoning or tool-call
	// arguments); -1 when none arrived or the body was not streamed.
	FirstContent int
	// ResponseID is the provider's id of the response ("msg_…",
	// "chatcmpl-…", "resp_…"); empty when absent.
	ResponseID string
	// Model is the model the provider says answered; empty when absent.
	Model string
	// Complete is true when the response ended as the API ends it: its
	// terminal event arrived (Anthropic message_stop or an error event;
	// Responses response.completed, response.incomplete, response.failed
	// or an error event; Chat [DONE], the final usage chunk or a
	// finish_reason), or an unstreamed body is one whole JSON value. A
	// complete call is not cut off, whatever the client did afterwards
	// (Codex closes the connection as soon as it has the terminal event).
	Complete bool
	// End is the offset in the response body just past the terminal
	// event; -1 when none arrived or the body was not streamed.
	End int
	// Error describes an API error, a failed or truncated response; empty
	// on success.
	Error string
	// Note describes what could not be decoded (the body is then kept
	// raw); empty when the response was fully understood.
	Note string
}

// Parse reads the response of one call of the given API (one of the
// schemas.API* constants). status is the HTTP status, contentType the
// response Content-Type and body the whole (decoded) response body.
func Parse(api string, status int, contentType string, body []byte) (res Result) {
	return parse(api, status, contentType, body, true)
}

// parse is Parse with the fast paths for common delta events switchable
// (tests compare both).
func parse(api string, status int, contentType string, body []byte, fast bool) (res Result) {
	res.FirstContent = -1
	stream := wire.IsEventStream(contentType) || looksLikeSSE(body)
	defer func() {
		// Adapters are written not to panic; this keeps a bug in one from
		// ever losing a turn.
		if r := recover(); r != nil {
			res = rawResult(body, fmt.Sprintf("adapter failed: %v", r))
		}
		if !stream {
			res.Complete, res.End = json.Valid(body), -1
		}
	}()
	if status >= 400 || status != 0 && status < 200 {
		res = rawResult(body, "")
		res.Response = nil
		res.Error = apiError(status, body)
		return res
	}
	switch api {
	case schemas.APIAnthropic:
		if stream {
			return anthropicStream(body, fast)
		}
		return anthropicJSON(body)
	case schemas.APIOpenAIChat:
		if stream {
			return chatStream(body, fast)
		}
		return chatJSON(body)
	case schemas.APIOpenAIResponses:
		if stream {
			return responsesStream(body, fast)
		}
		return responsesJSON(body)
	}
	return rawResult(body, "unknown API: response kept raw")
}

// looksLikeSSE reports whether a body without an event-stream content type
// still starts like one.
func looksLikeSSE(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return bytes.HasPrefix(b, []byte("event:")) || bytes.HasPrefix(b, []byte("data:"))
}

// rawResult keeps body whole as one JSON string item.
func rawResult(body []byte, note string) Result {
	return Result{Response: [][]byte{marshal(string(body))}, FirstContent: -1, End: -1, Note: note}
}

// apiError describes an HTTP error response: its status and the provider's
// error message when the body carries one.
func apiError(status int, body []byte) string {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	msg := ""
	if json.Unmarshal(body, &e) == nil && len(e.Error) > 0 {
		var inner struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		}
		if json.Unmarshal(e.Error, &inner) == nil && inner.Message != "" {
			msg = inner.Message
			if inner.Type != "" {
				msg = inner.Type + ": " + msg
			}
		} else {
			var s string
			if json.Unmarshal(e.Error, &s) == nil {
				msg = s
			}
		}
	}
	if msg == "" {
		msg = strings.TrimSpace(string(body))
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
	}
	if msg == "" {
		return fmt.Sprintf("HTTP %d", status)
	}
	return fmt.Sprintf("HTTP %d: %s", status, msg)
}

// scan calls fn for each complete event of a streamed body, after handing
// it to a usage scanner of api as replay's reader does (every event up to
// the end-of-stream one), and returns the scanner. A last event cut off
// before its blank line is noted and not passed.
func scan(api string, body []byte, notes *[]string, fn func(*wire.Event)) *wire.Stream {
	st := wire.NewStream(api)
	wire.Events(body, func(e *wire.Event) {
		if e.Partial {
			*notes = append(*notes, "stream cut off mid-event")
			return
		}
		if !st.Done {
			st.Event(e.Name, e.Data)
		}
		fn(e)
	})
	return &st
}

// wholeUsage returns a scanner of api that has read the usage object u of
// an unstreamed response (raw JSON; empty or null when absent).
func wholeUsage(api string, u []byte) *wire.Stream {
	st := wire.NewStream(api)
	st.WholeUsage(u)
	return &st
}

// setUsage fills res.Usage with what st read.
func setUsage(res *Result, st *wire.Stream) {
	u := st.Usage()
	res.Usage = schemas.Usage{Input: count(u.Input), Cached: count(u.Cached), CacheWrite: count(st.CacheWrite()),
		Output: count(u.Output), Reasoning: count(u.Reasoning)}
}

// count returns a pointer to v, or nil for -1 (not reported).
func count(v int64) *int64 {
	if v < 0 {
		return nil
	}
	return &v
}

// marshal encodes v without HTML escaping.
func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return []byte("null")
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// decodeObject decodes a JSON object keeping numbers as written.
func decodeObject(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("not a JSON object")
	}
	return m, nil
}

// jsonString decodes the JSON string at the start of b and returns it with
// the number of bytes it took. ok is false when b does not start with a
// valid JSON string.
func jsonString(b []byte) (s string, n int, ok bool) {
	if len(b) == 0 || b[0] != '"' {
		return "", 0, false
	}
	esc := false
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '\\':
			esc = true
			i++
		case c == '"':
			if !esc {
				if !utf8.Valid(b[1:i]) {
					return "", 0, false
				}
				return string(b[1:i]), i + 1, true
			}
			if err := json.Unmarshal(b[:i+1], &s); err != nil {
				return "", 0, false
			}
			return s, i + 1, true
		case c < 0x20:
			return "", 0, false
		}
	}
	return "", 0, false
}
