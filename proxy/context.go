package proxy

import (
	"bytes"
	"encoding/json"

	"github.com/agentperf/agentperf/schemas"
)

// Materializing previous_response_id.
//
// A Responses call may name an earlier response with previous_response_id
// and send only the new input items: the server prepends the earlier
// call's whole input and that response's output items. The trace must hold
// what the model saw, so a stateless target can be sent it again: capture
// keeps, per response id, that context, and rewrites a call that refers to
// one into the full input (the context's items, then the items sent),
// without previous_response_id. Request.ContextItems says how many leading
// items capture filled in; Request.Extras keeps the id.

// Bounds on the contexts kept. Items are counted at their size even when
// contexts share them, so the byte bound is conservative.
const (
	maxContexts     = 1024
	maxContextBytes = 256 << 20
)

// responseContexts holds the context each kept response id stands for:
// its call's full input items followed by its output items (canonical
// JSON). It is used by the capture goroutine only.
type responseContexts struct {
	byID  map[string][][]byte
	fifo  []string
	bytes int64
}

func newResponseContexts() *responseContexts {
	return &responseContexts{byID: map[string][][]byte{}}
}

// keep records the context of response id. The item slices are kept, not
// copied: callers must not modify them.
func (c *responseContexts) keep(id string, items [][]byte) {
	if id == "" {
		return
	}
	if _, ok := c.byID[id]; ok {
		return
	}
	c.byID[id] = items
	c.fifo = append(c.fifo, id)
	c.bytes += itemsSize(items)
	for len(c.fifo) > 0 && (len(c.fifo) > maxContexts || c.bytes > maxContextBytes) {
		old := c.fifo[0]
		c.fifo = c.fifo[1:]
		c.bytes -= itemsSize(c.byID[old])
		delete(c.byID, old)
	}
}

func itemsSize(items [][]byte) int64 {
	n := int64(0)
	for _, it := range items {
		n += int64(len(it)) + 24
	}
	return n
}

// responsesCall is what materializing reads from a Responses call's params.
type responsesCall struct {
	PreviousResponseID string `json:"previous_response_id"`
	Store              *bool  `json:"store"`
}

func readResponsesCall(params []byte) responsesCall {
	var p responsesCall
	if bytes.Contains(params, []byte(`"previous_response_id"`)) || bytes.Contains(params, []byte(`"store"`)) {
		_ = json.Unmarshal(params, &p)
	}
	return p
}

// materialize rewrites a Responses call that names a kept response with
// previous_response_id into the full input: it returns the new params
// (without previous_response_id), parts (single fields, then the context's
// items as message parts, then the items sent), and the number of items
// filled in. ok is false, and nothing changes, when the call names no
// response or one not kept.
func (c *responseContexts) materialize(params []byte, parts []schemas.Part, prev string) (newParams []byte, newParts []schemas.Part, n int, ok bool) {
	items, found := c.byID[prev]
	if prev == "" || !found {
		return params, parts, 0, false
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(params, &obj) != nil {
		return params, parts, 0, false
	}
	delete(obj, "previous_response_id")
	p, err := schemas.Canonical(mustMarshal(obj))
	if err != nil {
		return params, parts, 0, false
	}
	for _, part := range parts {
		if part.Kind != schemas.KindMessage && part.Kind != schemas.KindInput {
			newParts = append(newParts, part)
		}
	}
	for _, it := range items {
		newParts = append(newParts, schemas.Part{Kind: schemas.KindMessage, Body: it, Tokens: -1})
	}
	for _, part := range parts {
		switch part.Kind {
		case schemas.KindMessage:
			newParts = append(newParts, part)
		case schemas.KindInput:
			// A string input is one user message.
			var s string
			if json.Unmarshal(part.Body, &s) == nil {
				b, _ := schemas.Canonical(mustMarshal(map[string]string{"role": "user", "content": s}))
				newParts = append(newParts, schemas.Part{Kind: schemas.KindMessage, Body: b, Tokens: -1})
			}
		}
	}
	return p, newParts, len(items), true
}

// contextOf returns the context a response of a call with these prompt
// parts stands for: the call's input items, then the response's output
// items canonicalized.
func contextOf(parts []schemas.Part, response [][]byte) [][]byte {
	var items [][]byte
	for _, p := range parts {
		switch p.Kind {
		case schemas.KindMessage:
			items = append(items, p.Body)
		case schemas.KindInput:
			var s string
			if json.Unmarshal(p.Body, &s) == nil {
				b, _ := schemas.Canonical(mustMarshal(map[string]string{"role": "user", "content": s}))
				items = append(items, b)
			}
		}
	}
	for _, r := range response {
		if c, err := schemas.Canonical(r); err == nil {
			items = append(items, c)
		}
	}
	return items
}

// mustMarshal encodes v without HTML escaping; v never fails to encode.
func mustMarshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return bytes.TrimRight(buf.Bytes(), "\n")
}
