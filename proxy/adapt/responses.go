package adapt

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"

	"github.com/agentperf/agentperf/proxy/sse"
)

type respUsage struct {
	Input        *int64 `json:"input_tokens"`
	Output       *int64 `json:"output_tokens"`
	InputDetails *struct {
		Cached *int64 `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	OutputDetails *struct {
		Reasoning *int64 `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
}

// set fills res.Usage. input_tokens already includes cached tokens.
func (u *respUsage) set(res *Result) {
	if u == nil {
		return
	}
	res.Usage.Input = usageInt(u.Input)
	res.Usage.Output = usageInt(u.Output)
	if u.InputDetails != nil {
		res.Usage.Cached = usageInt(u.InputDetails.Cached)
	}
	if u.OutputDetails != nil {
		res.Usage.Reasoning = usageInt(u.OutputDetails.Reasoning)
	}
}

// respObject is the part of a Responses "response" object the adapter reads.
type respObject struct {
	ID     string            `json:"id"`
	Model  string            `json:"model"`
	Status string            `json:"status"`
	Output []json.RawMessage `json:"output"`
	Usage  *respUsage        `json:"usage"`
	Error  *apiErr           `json:"error"`
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
	if o.Usage != nil {
		o.Usage.set(res)
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
	var ev respEvent
	sse.Parse(body, func(e *sse.Event) {
		if e.Partial {
			notes = append(notes, "stream cut off mid-event")
			return
		}
		if fast && strings.HasSuffix(e.Name, ".delta") {
			// Deltas only matter for the first-token time: find the
			// "delta" value without decoding the event.
			d := e.Data
			if bytes.HasPrefix(d, []byte(`{"type":"`+e.Name+`",`)) && d[len(d)-1] == '}' && json.Valid(d) {
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
				notes = append(notes, "unreadable event "+e.Name)
			}
			return
		}
		anyEvent = true
		if ev.Type == "" {
			ev.Type = e.Name
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
		idx := make([]int, 0, len(items))
		for i := range items {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		for _, i := range idx {
			res.Response = append(res.Response, items[i])
		}
	}
	if !terminal && res.Error == "" {
		res.Error = "truncated: stream ended before response.completed"
	}
	res.Note = joinNotes("openai-responses", notes)
	return res
}
