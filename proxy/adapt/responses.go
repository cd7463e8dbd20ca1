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

// respObject is the part of a Responses "response" object the adapter reads.
type respObject struct {
	ID     string            `json:"id"`
	Model  string            `json:"model"`
	Status string            `json:"status"`
	Output []json.RawMessage `json:"output"`
	// Usage is read by wire (WholeUsage) where its stream scanner does
	// not: unstreamed bodies and the WebSocket's response.done.
	Usage  json.RawMessage `json:"usage"`
	Error  *apiErr         `json:"error"`
	Incomp *struct {
		Reason string `json:"reason"`
	} `json:"incomplete_details"`
}

func (o *respObject) apply(res *Result) {
	if o.ID != "" {
		res.ResponseID = o.ID
	}
	if o.Model != "" {
		res.Model = o.Model
	}
	switch {
	case o.Error != nil && (o.Error.Message != "" || o.Error.Type != ""):
		res.Error = "failed: " + o.Error.String()
		if o.Error.Type == "" && o.Error.Code != nil {
			if c, ok := o.Error.Code.(string); ok {
				res.Error = "failed: " + c + ": " + o.Error.Message
			}
		}
	case o.Status == "failed":
		res.Error = "failed"
	case o.Status == "incomplete":
		res.Error = "incomplete"
		if o.Incomp != nil && o.Incomp.Reason != "" {
			res.Error += ": " + o.Incomp.Reason
		}
	}
}

func responsesJSON(body []byte) Result {
	var o respObject
	if err := json.Unmarshal(body, &o); err != nil {
		return rawResult(body, "openai-responses: response is not a JSON object: "+err.Error())
	}
	if o.Output == nil && o.Error == nil {
		return rawResult(body, "openai-responses: response has no output")
	}
	res := Result{FirstContent: -1, End: -1}
	o.apply(&res)
	setUsage(&res, wholeUsage(schemas.APIOpenAIResponses, o.Usage))
	for _, it := range o.Output {
		res.Response = append(res.Response, it)
	}
	return res
}

type respEvent struct {
	Type        string          `json:"type"`
	OutputIndex *int            `json:"output_index"`
	Item        json.RawMessage `json:"item"`
	Response    json.RawMessage `json:"response"`
	Delta       json.RawMessage `json:"delta"`
	Message     string          `json:"message"`
	Code        any             `json:"code"`
	// Error is the error of an "error" event that nests it (the
	// WebSocket transport's shape).
	Error *apiErr `json:"error"`
}

func responsesStream(body []byte, fast bool) Result {
	res := Result{FirstContent: -1, End: -1}
	items := map[int]json.RawMessage{}
	var final *respObject
	var notes []string
	terminal, anyEvent := false, false
	var doneUsage json.RawMessage // a response.done's usage
	var ev respEvent
	st := scan(schemas.APIOpenAIResponses, body, &notes, func(e *wire.Event) {
		if fast && bytes.HasSuffix(e.Name, []byte(".delta")) {
			// Deltas only matter for the first-token time: find the
			// "delta" value without decoding the event.
			if d := e.Data; typePrefixed(d, e.Name) && d[len(d)-1] == '}' && json.Valid(d) {
				anyEvent = true
				if k := bytes.Index(d, []byte(`"delta":`)); k >= 0 && res.FirstContent < 0 {
					v := bytes.TrimLeft(d[k+len(`"delta":`):], " ")
					if !bytes.HasPrefix(v, []byte(`""`)) {
						res.FirstContent = e.End
					}
				}
				return
			}
		}
		ev = respEvent{}
		if err := json.Unmarshal(e.Data, &ev); err != nil {
			if string(e.Data) != "[DONE]" {
				notes = append(notes, "unreadable event "+string(e.Name))
			}
			return
		}
		anyEvent = true
		if ev.Type == "" {
			ev.Type = string(e.Name)
		}
		switch {
		case strings.HasSuffix(ev.Type, ".delta"):
			if res.FirstContent < 0 && len(ev.Delta) > 0 && string(ev.Delta) != `""` {
				res.FirstContent = e.End
			}
		case ev.Type == "response.output_item.done":
			idx := len(items)
			if ev.OutputIndex != nil {
				idx = *ev.OutputIndex
			}
			if len(ev.Item) > 0 {
				items[idx] = ev.Item
			}
		case ev.Type == "response.created" || ev.Type == "response.in_progress" ||
			ev.Type == "response.completed" || ev.Type == "response.failed" ||
			ev.Type == "response.incomplete" || ev.Type == "response.done":
			var o respObject
			if json.Unmarshal(ev.Response, &o) == nil {
				o.apply(&res)
				if ev.Type == "response.done" {
					doneUsage = o.Usage
				}
				if ev.Type != "response.created" && ev.Type != "response.in_progress" {
					final = &o
					terminal = true
					res.Complete, res.End = true, e.End
				}
			} else {
				notes = append(notes, "unreadable "+ev.Type)
			}
		case ev.Type == "error":
			res.Error = "error event"
			switch {
			case ev.Message != "":
				res.Error = ev.Message
			case ev.Error != nil && (ev.Error.Message != "" || ev.Error.Type != ""):
				res.Error = ev.Error.String()
			}
			res.Complete, res.End = true, e.End
		}
	})
	if !anyEvent && res.Error == "" {
		r := rawResult(body, "openai-responses: stream has no readable event")
		r.Error = "truncated: no event"
		return r
	}
	if final != nil && len(final.Output) > 0 {
		res.Response = res.Response[:0]
		for _, it := range final.Output {
			res.Response = append(res.Response, it)
		}
	} else {
		idx := slices.Sorted(maps.Keys(items))
		for _, i := range idx {
			res.Response = append(res.Response, items[i])
		}
	}
	if !st.Done {
		// The WebSocket transport's response.done is not an SSE terminal
		// event: read its usage as a whole response's.
		st.WholeUsage(doneUsage)
	}
	setUsage(&res, st)
	if !terminal && res.Error == "" {
		res.Error = "truncated: stream ended before response.completed"
	}
	res.Note = joinNotes("openai-responses", notes)
	return res
}

// typePrefixed reports whether event data d starts {"type":"<name>",.
func typePrefixed(d, name []byte) bool {
	const head = `{"type":"`
	return len(d) > len(head)+len(name)+2 && string(d[:len(head)]) == head &&
		bytes.Equal(d[len(head):len(head)+len(name)], name) && string(d[len(head)+len(name):len(head)+len(name)+2]) == `",`
}
