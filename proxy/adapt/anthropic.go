package adapt

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/wire"
)

func anthropicJSON(body []byte) Result {
	var m struct {
		ID      string          `json:"id"`
		Type    string          `json:"type"`
		Model   string          `json:"model"`
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
		Usage   json.RawMessage `json:"usage"`
		Error   *apiErr         `json:"error"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return rawResult(body, "anthropic: response is not a JSON message: "+err.Error())
	}
	if m.Type == "error" && m.Error != nil {
		r := Result{FirstContent: -1, End: -1, Error: m.Error.String()}
		return r
	}
	if m.Content == nil {
		return rawResult(body, "anthropic: response has no content")
	}
	role := m.Role
	if role == "" {
		role = "assistant"
	}
	res := Result{FirstContent: -1, End: -1, ResponseID: m.ID, Model: m.Model}
	res.Response = [][]byte{marshal(map[string]any{"role": role, "content": m.Content})}
	setUsage(&res, wholeUsage(schemas.APIAnthropic, m.Usage))
	return res
}

type apiErr struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	Code    any    `json:"code"`
}

func (e *apiErr) String() string {
	if e.Type == "" {
		return e.Message
	}
	return e.Type + ": " + e.Message
}

// anthBlock is one content block being assembled from a stream.
type anthBlock struct {
	block   map[string]any
	text    strings.Builder // text_delta
	think   strings.Builder // thinking_delta
	sig     strings.Builder // signature_delta
	json    strings.Builder // input_json_delta
	hasJSON bool
	cites   []any
}

type anthEvent struct {
	Type         string          `json:"type"`
	Index        int             `json:"index"`
	Message      json.RawMessage `json:"message"`
	ContentBlock json.RawMessage `json:"content_block"`
	Delta        struct {
		Type        string          `json:"type"`
		Text        string          `json:"text"`
		PartialJSON string          `json:"partial_json"`
		Thinking    string          `json:"thinking"`
		Signature   string          `json:"signature"`
		Citation    json.RawMessage `json:"citation"`
		StopReason  string          `json:"stop_reason"`
	} `json:"delta"`
	Error *apiErr `json:"error"`
}

func anthropicStream(body []byte, fast bool) Result {
	res := Result{FirstContent: -1, End: -1}
	blocks := map[int]*anthBlock{}
	var notes []string
	stopped, started := false, false
	var ev anthEvent
	st := scan(schemas.APIAnthropic, body, &notes, func(e *wire.Event) {
		if fast && (len(e.Name) == 0 || string(e.Name) == "content_block_delta") {
			if idx, kind, s, ok := anthFastDelta(e.Data); ok {
				if b := blocks[idx]; b != nil {
					switch kind {
					case 't':
						b.text.WriteString(s)
					case 'k':
						b.think.WriteString(s)
					case 'j':
						b.json.WriteString(s)
						b.hasJSON = true
					}
					if s != "" && res.FirstContent < 0 {
						res.FirstContent = e.End
					}
					return
				}
			}
		}
		ev = anthEvent{}
		if err := json.Unmarshal(e.Data, &ev); err != nil {
			notes = append(notes, "unreadable event "+string(e.Name))
			return
		}
		if ev.Type == "" {
			ev.Type = string(e.Name)
		}
		switch ev.Type {
		case "message_start":
			started = true
			var msg struct {
				ID    string `json:"id"`
				Model string `json:"model"`
			}
			if json.Unmarshal(ev.Message, &msg) == nil {
				res.ResponseID, res.Model = msg.ID, msg.Model
			}
		case "content_block_start":
			b := &anthBlock{}
			if m, err := decodeObject(ev.ContentBlock); err == nil {
				b.block = m
			} else {
				b.block = map[string]any{"type": "unknown"}
				notes = append(notes, "unreadable content_block_start")
			}
			blocks[ev.Index] = b
		case "content_block_delta":
			b := blocks[ev.Index]
			if b == nil {
				b = &anthBlock{block: map[string]any{"type": "text"}}
				blocks[ev.Index] = b
				notes = append(notes, "delta for a block never started")
			}
			content := false
			switch ev.Delta.Type {
			case "text_delta":
				b.text.WriteString(ev.Delta.Text)
				content = ev.Delta.Text != ""
			case "input_json_delta":
				b.json.WriteString(ev.Delta.PartialJSON)
				b.hasJSON = true
				content = ev.Delta.PartialJSON != ""
			case "thinking_delta":
				b.think.WriteString(ev.Delta.Thinking)
				content = ev.Delta.Thinking != ""
			case "signature_delta":
				b.sig.WriteString(ev.Delta.Signature)
			case "citations_delta":
				var c any
				if json.Unmarshal(ev.Delta.Citation, &c) == nil {
					b.cites = append(b.cites, c)
				}
			default:
				notes = append(notes, "unknown delta "+ev.Delta.Type)
			}
			if content && res.FirstContent < 0 {
				res.FirstContent = e.End
			}
		case "message_stop":
			stopped = true
			res.Complete, res.End = true, e.End
		case "error":
			if ev.Error != nil {
				res.Error = ev.Error.String()
			} else {
				res.Error = "error event"
			}
			res.Complete, res.End = true, e.End
		case "ping", "content_block_stop", "message_delta": // wire reads message_delta's usage
		default:
			notes = append(notes, "unknown event "+ev.Type)
		}
	})
	if !started && len(blocks) == 0 && res.Error == "" {
		r := rawResult(body, "anthropic: stream has no message_start")
		r.Error = "truncated: no message_start"
		return r
	}
	idx := slices.Sorted(maps.Keys(blocks))
	content := make([]any, 0, len(idx))
	for _, i := range idx {
		b := blocks[i]
		m := b.block
		if b.text.Len() > 0 {
			m["text"] = str(m["text"]) + b.text.String()
		}
		if b.think.Len() > 0 {
			m["thinking"] = str(m["thinking"]) + b.think.String()
		}
		if b.sig.Len() > 0 {
			m["signature"] = str(m["signature"]) + b.sig.String()
		}
		if b.hasJSON {
			js := b.json.String()
			if strings.TrimSpace(js) == "" {
				m["input"] = map[string]any{}
			} else if in, err := decodeObject([]byte(js)); err == nil {
				m["input"] = in
			} else {
				m["input"] = js
				notes = append(notes, "tool input is not a JSON object")
			}
		}
		if len(b.cites) > 0 {
			prev, _ := m["citations"].([]any)
			m["citations"] = append(prev, b.cites...)
		}
		content = append(content, m)
	}
	res.Response = [][]byte{marshal(map[string]any{"role": "assistant", "content": content})}
	setUsage(&res, st)
	if !stopped && res.Error == "" {
		res.Error = "truncated: stream ended before message_stop"
	}
	res.Note = joinNotes("anthropic", notes)
	return res
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func joinNotes(api string, notes []string) string {
	if len(notes) == 0 {
		return ""
	}
	seen := map[string]bool{}
	out := notes[:0]
	for _, n := range notes {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return api + ": " + strings.Join(out, "; ")
}

// anthFastDelta reads a content_block_delta event in the exact form the
// Anthropic API sends, {"type":"content_block_delta","index":N,"delta":
// {"type":"text_delta","text":"…"}} (or thinking_delta/thinking,
// input_json_delta/partial_json), without reflection. kind is 't', 'k' or
// 'j'. Anything else returns ok = false and takes the general path.
func anthFastDelta(d []byte) (index int, kind byte, s string, ok bool) {
	const head = `{"type":"content_block_delta","index":`
	if !bytes.HasPrefix(d, []byte(head)) {
		return 0, 0, "", false
	}
	d = d[len(head):]
	n := 0
	for n < len(d) && d[n] >= '0' && d[n] <= '9' && n < 9 {
		index = index*10 + int(d[n]-'0')
		n++
	}
	if n == 0 || (n > 1 && d[0] == '0') { // JSON numbers have no leading zeros
		return 0, 0, "", false
	}
	d = d[n:]
	for _, f := range []struct {
		k      byte
		prefix string
	}{{'t', `,"delta":{"type":"text_delta","text":`}, {'k', `,"delta":{"type":"thinking_delta","thinking":`}, {'j', `,"delta":{"type":"input_json_delta","partial_json":`}} {
		if bytes.HasPrefix(d, []byte(f.prefix)) {
			str, used, ok := jsonString(d[len(f.prefix):])
			if !ok || string(d[len(f.prefix)+used:]) != "}}" {
				return 0, 0, "", false
			}
			return index, f.k, str, true
		}
	}
	return 0, 0, "", false
}
