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

func chatJSON(body []byte) Result {
	var c struct {
		ID      string `json:"id"`
		Model   string `json:"model"`
		Choices []struct {
			Message json.RawMessage `json:"message"`
		} `json:"choices"`
		Usage json.RawMessage `json:"usage"`
		Error *apiErr         `json:"error"`
	}
	if err := json.Unmarshal(body, &c); err != nil {
		return rawResult(body, "openai-chat: response is not a JSON completion: "+err.Error())
	}
	if c.Error != nil {
		return Result{FirstContent: -1, End: -1, Error: c.Error.String()}
	}
	if len(c.Choices) == 0 || len(c.Choices[0].Message) == 0 {
		return rawResult(body, "openai-chat: response has no choices[0].message")
	}
	res := Result{FirstContent: -1, End: -1, ResponseID: c.ID, Model: c.Model}
	res.Response = [][]byte{c.Choices[0].Message}
	if len(c.Choices) > 1 {
		res.Note = "openai-chat: only choices[0] kept"
	}
	setUsage(&res, wholeUsage(schemas.APIOpenAIChat, c.Usage))
	return res
}

type chatToolCall struct {
	id, typ, name string
	args          strings.Builder
	extra         map[string]any
}

type chatChunk struct {
	ID      string `json:"id"`
	Model   string `json:"model"`
	Choices []struct {
		Index int `json:"index"`
		Delta struct {
			Role             string  `json:"role"`
			Content          *string `json:"content"`
			Refusal          *string `json:"refusal"`
			Reasoning        *string `json:"reasoning"`
			ReasoningContent *string `json:"reasoning_content"`
			ToolCalls        []struct {
				Index    int    `json:"index"`
				ID       string `json:"id"`
				Type     string `json:"type"`
				Function struct {
					Name      string `json:"name"`
					Arguments string `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	// Usage is non-nil for a chunk with a usage object (wire reads its
	// numbers).
	Usage *struct{} `json:"usage"`
	Error *apiErr   `json:"error"`
}

func chatStream(body []byte, fast bool) Result {
	res := Result{FirstContent: -1, End: -1}
	var content, refusal, reasoning strings.Builder
	reasoningKey := ""
	hasContent, hasRefusal := false, false
	calls := map[int]*chatToolCall{}
	var notes []string
	done, finished, anyChunk := false, false, false
	var ch chatChunk
	st := scan(schemas.APIOpenAIChat, body, &notes, func(e *wire.Event) {
		data := bytes.TrimSpace(e.Data)
		if string(data) == "[DONE]" {
			done = true
			res.Complete, res.End = true, e.End
			return
		}
		if fast && res.ResponseID != "" && res.Model != "" && reasoningKey == "" && len(calls) == 0 {
			if s, ok := chatFastContent(data); ok {
				anyChunk = true
				content.WriteString(s)
				hasContent = true
				if s != "" && res.FirstContent < 0 {
					res.FirstContent = e.End
				}
				return
			}
		}
		ch = chatChunk{}
		if err := json.Unmarshal(data, &ch); err != nil {
			notes = append(notes, "unreadable chunk")
			return
		}
		anyChunk = true
		if ch.Error != nil {
			res.Error = ch.Error.String()
			res.Complete, res.End = true, e.End
			return
		}
		if res.ResponseID == "" {
			res.ResponseID = ch.ID
		}
		if res.Model == "" {
			res.Model = ch.Model
		}
		if ch.Usage != nil && len(ch.Choices) == 0 { // the final usage chunk
			res.Complete, res.End = true, e.End
		}
		got := false
		for i := range ch.Choices {
			c := &ch.Choices[i]
			if c.Index != 0 {
				notes = append(notes, "only choices[0] kept")
				continue
			}
			d := &c.Delta
			if d.Content != nil {
				content.WriteString(*d.Content)
				hasContent = true
				got = got || *d.Content != ""
			}
			if d.Refusal != nil {
				refusal.WriteString(*d.Refusal)
				hasRefusal = true
				got = got || *d.Refusal != ""
			}
			for _, r := range []struct {
				key string
				v   *string
			}{{"reasoning", d.Reasoning}, {"reasoning_content", d.ReasoningContent}} {
				if r.v != nil {
					if reasoningKey == "" {
						reasoningKey = r.key
					}
					if reasoningKey == r.key {
						reasoning.WriteString(*r.v)
						got = got || *r.v != ""
					}
				}
			}
			for _, tc := range d.ToolCalls {
				t := calls[tc.Index]
				if t == nil {
					t = &chatToolCall{typ: "function"}
					calls[tc.Index] = t
				}
				if tc.ID != "" {
					t.id = tc.ID
				}
				if tc.Type != "" {
					t.typ = tc.Type
				}
				t.name += tc.Function.Name
				t.args.WriteString(tc.Function.Arguments)
				got = true
			}
			if c.FinishReason != nil {
				finished = true
				if !res.Complete {
					res.Complete, res.End = true, e.End
				}
			}
		}
		if got && res.FirstContent < 0 {
			res.FirstContent = e.End
		}
	})
	if !anyChunk && res.Error == "" {
		r := rawResult(body, "openai-chat: stream has no readable chunk")
		r.Error = "truncated: no chunk"
		return r
	}
	msg := map[string]any{"role": "assistant"}
	if hasContent {
		msg["content"] = content.String()
	} else {
		msg["content"] = nil
	}
	if hasRefusal {
		msg["refusal"] = refusal.String()
	}
	if reasoningKey != "" {
		msg[reasoningKey] = reasoning.String()
	}
	if len(calls) > 0 {
		idx := slices.Sorted(maps.Keys(calls))
		tcs := make([]any, 0, len(idx))
		for _, i := range idx {
			t := calls[i]
			tcs = append(tcs, map[string]any{"id": t.id, "type": t.typ,
				"function": map[string]any{"name": t.name, "arguments": t.args.String()}})
		}
		msg["tool_calls"] = tcs
	}
	res.Response = [][]byte{marshal(msg)}
	setUsage(&res, st)
	if res.Error == "" && !done && !finished {
		res.Error = "truncated: stream ended before finish_reason and [DONE]"
	}
	res.Note = joinNotes("openai-chat", notes)
	return res
}

// chatFastContent reads a chunk that carries only text for choice 0 —
// "choices":[{"index":0,"delta":{"content":"…"},"logprobs":null,
// "finish_reason":null}] (logprobs optional) with no usage object and no
// error — without reflection. Anything else returns ok = false and takes
// the general path.
func chatFastContent(d []byte) (string, bool) {
	const mid = `"choices":[{"index":0,"delta":{"content":`
	i := bytes.Index(d, []byte(mid))
	if i < 0 || d[0] != '{' || d[len(d)-1] != '}' {
		return "", false
	}
	head, rest := d[:i], d[i+len(mid):]
	s, n, ok := jsonString(rest)
	if !ok {
		return "", false
	}
	rest = rest[n:]
	matched := false
	for _, tail := range []string{`},"logprobs":null,"finish_reason":null}]`, `},"finish_reason":null,"logprobs":null}]`, `},"finish_reason":null}]`} {
		if bytes.HasPrefix(rest, []byte(tail)) {
			rest = rest[len(tail):]
			matched = true
			break
		}
	}
	if !matched {
		return "", false
	}
	for _, part := range [][]byte{head, rest} {
		if bytes.Contains(part, []byte(`"usage":{`)) || bytes.Contains(part, []byte(`"error"`)) ||
			bytes.Contains(part, []byte(`"choices"`)) {
			return "", false
		}
	}
	if !json.Valid(d) {
		return "", false
	}
	return s, true
}
