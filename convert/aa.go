package convert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/agentperf/agentperf/schemas"
)

// AAVersion is the AA replay JSONL format version this package reads and
// writes.
const AAVersion = 1

// aaLine is one line of AA replay JSONL (aa-agentperf-local's TraceRow).
type aaLine struct {
	Version                   *int              `json:"version"`
	TurnID                    string            `json:"turn_id"`
	TaskID                    string            `json:"task_id"`
	ConversationID            *string           `json:"conversation_id"`
	ConversationIdx           *int64            `json:"conversation_idx"`
	Messages                  []json.RawMessage `json:"messages"`
	Tools                     []json.RawMessage `json:"tools"`
	SimulatedToolDelayMSAfter *float64          `json:"simulated_tool_delay_ms_after"`
	TargetOutputTokens        *int64            `json:"target_output_tokens"`
	MaxOutputTokens           *int64            `json:"max_output_tokens"`
	RecordedPromptTokens      *int64            `json:"recorded_prompt_tokens"`
	RecordedCompletionTokens  *int64            `json:"recorded_completion_tokens"`
	RecordedModelDurationMS   *float64          `json:"recorded_model_duration_ms"`
}

// aaTurn is a validated AA line, cut into trace-set parts.
type aaTurn struct {
	conv string
	idx  int64
	// line orders pending turns at the end of input.
	line int
	// msgs are the canonical messages; parts the prompt (tools first);
	// raw and rawTools the messages and tools as read, toolsPart the index
	// of the tools part (-1 for none).
	msgs      [][]byte
	raw       [][]byte
	rawTools  []byte
	toolsPart int
	parts     []schemas.Part
	params    []byte
	delayNS   int64
	// thinkNS is the think time before this turn (the previous line's
	// delay).
	thinkNS int64
	out     int
	usage   schemas.Usage
	// extras keeps the line's other fields (Request.Extras).
	extras []byte
}

// parseAALine decodes and validates one AA replay line. prev, when not
// nil, returns the held line of a conversation: messages (and tools)
// byte-identical to that line's are not canonicalized again, which makes
// reading the ever-repeated history of AA lines cheap.
func parseAALine(line []byte, prev func(conv string) *aaTurn) (*aaTurn, error) {
	var l aaLine
	if err := decodeJSON(line, &l); err != nil {
		return nil, err
	}
	var missing []string
	if l.ConversationID == nil || *l.ConversationID == "" {
		missing = append(missing, "conversation_id")
	}
	if l.ConversationIdx == nil {
		missing = append(missing, "conversation_idx")
	}
	if len(l.Messages) == 0 {
		missing = append(missing, "messages")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("not an AA replay line: missing %s", strings.Join(missing, ", "))
	}
	if l.Version != nil && *l.Version != AAVersion {
		return nil, fmt.Errorf("AA replay format version %d is not supported (this agentperf reads version %d)", *l.Version, AAVersion)
	}
	if *l.ConversationIdx < 0 {
		return nil, fmt.Errorf("conversation_idx %d is negative", *l.ConversationIdx)
	}
	t := &aaTurn{conv: *l.ConversationID, idx: *l.ConversationIdx, toolsPart: -1}
	for name, p := range map[string]*int64{"target_output_tokens": l.TargetOutputTokens, "max_output_tokens": l.MaxOutputTokens,
		"recorded_prompt_tokens": l.RecordedPromptTokens, "recorded_completion_tokens": l.RecordedCompletionTokens} {
		if p != nil && (*p < 0 || *p > math.MaxInt32) {
			return nil, fmt.Errorf("%s %d out of range", name, *p)
		}
	}
	if d := l.SimulatedToolDelayMSAfter; d != nil {
		if math.IsNaN(*d) || *d < 0 || *d > 1e12 {
			return nil, fmt.Errorf("simulated_tool_delay_ms_after %v out of range", *d)
		}
		t.delayNS = int64(math.Round(*d * 1e6))
	}
	var p *aaTurn
	if prev != nil {
		p = prev(t.conv)
	}
	if len(l.Tools) > 0 {
		raw := mustMarshal(l.Tools)
		t.rawTools = raw
		var tools []byte
		if p != nil && p.toolsPart >= 0 && bytes.Equal(p.rawTools, raw) {
			tools = p.parts[p.toolsPart].Body
		} else {
			var err error
			if tools, err = canonical(raw, "tools"); err != nil {
				return nil, err
			}
		}
		t.toolsPart = len(t.parts)
		t.parts = append(t.parts, schemas.Part{Kind: schemas.KindTools, Body: tools, Tokens: -1})
	}
	for i, m := range l.Messages {
		var c []byte
		if p != nil && i < len(p.raw) && bytes.Equal(p.raw[i], m) {
			c = p.msgs[i]
		} else {
			var err error
			if c, err = canonical(m, "messages["+strconv.Itoa(i)+"]"); err != nil {
				return nil, err
			}
			if len(c) == 0 || c[0] != '{' || chatMessageRole(c) == "" {
				return nil, fmt.Errorf("messages[%d]: not a chat message object with a role", i)
			}
		}
		t.raw = append(t.raw, m)
		t.msgs = append(t.msgs, c)
		t.parts = append(t.parts, schemas.Part{Kind: schemas.KindMessage, Body: c, Tokens: -1})
	}
	var params objectBuilder
	if l.MaxOutputTokens != nil && *l.MaxOutputTokens > 0 {
		params.value("max_tokens", *l.MaxOutputTokens)
	}
	params.raw("stream", []byte("true"))
	t.params = params.bytes()
	switch {
	case l.TargetOutputTokens != nil:
		t.out = int(*l.TargetOutputTokens)
	case l.RecordedCompletionTokens != nil:
		t.out = int(*l.RecordedCompletionTokens)
	}
	t.usage.Input = l.RecordedPromptTokens
	t.usage.Output = l.RecordedCompletionTokens
	t.extras = aaExtras(line, t.toolsPart >= 0)
	return t, nil
}

// aaExtras returns the Request.Extras that keep what a trace set has no
// column for, so export writes the line back field by field:
// {"aa":{"keys":[every top-level key, in order],"fields":{key: value as
// read}}} with every field but messages (the prompt blobs) and tools when
// a tools blob holds them.
func aaExtras(line []byte, toolsStored bool) []byte {
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	var keys []string
	var fields bytes.Buffer
	for d.More() {
		kt, err := d.Token()
		if err != nil {
			return nil
		}
		key, _ := kt.(string)
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			return nil
		}
		keys = append(keys, key)
		if key == "messages" || (key == "tools" && toolsStored) {
			continue
		}
		if fields.Len() > 0 {
			fields.WriteByte(',')
		}
		fields.Write(mustMarshal(key))
		fields.WriteByte(':')
		if err := json.Compact(&fields, v); err != nil {
			return nil
		}
	}
	var b bytes.Buffer
	b.WriteString(`{"` + schemas.ExtrasAA + `":{"keys":`)
	b.Write(mustMarshal(keys))
	b.WriteString(`,"fields":{`)
	b.Write(fields.Bytes())
	b.WriteString(`}}}`)
	return b.Bytes()
}

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte("null")
	}
	return b
}

// aaResponse returns the assistant message that next adds after cur's
// messages: the recorded response to cur, when next's history starts with
// cur's and the first new message is the assistant's.
func aaResponse(cur, next *aaTurn) []byte {
	if len(next.msgs) <= len(cur.msgs) {
		return nil
	}
	for i, m := range cur.msgs {
		if !bytes.Equal(m, next.msgs[i]) {
			return nil
		}
	}
	r := next.msgs[len(cur.msgs)]
	if chatMessageRole(r) != "assistant" {
		return nil
	}
	return r
}

// importAA reads AA replay JSONL. A conversation's lines must come in
// increasing conversation_idx order; conversations may interleave. Each
// line is held until the conversation's next line arrives, which carries
// its response and gets the held line's simulated_tool_delay_ms_after as
// its think time. Memory holds one line per open conversation.
func (im *importer) importAA(files []string) error {
	pending := map[string]*aaTurn{}
	write := func(t, next *aaTurn) error {
		turn := schemas.Turn{SessionID: t.conv, API: schemas.APIOpenAIChat, Params: t.params, Parts: t.parts,
			ThinkNS: t.thinkNS, OutputTokens: t.out, Usage: t.usage, Extras: t.extras}
		if next != nil {
			if r := aaResponse(t, next); r != nil {
				turn.Response = [][]byte{r}
			}
		}
		im.session(schemas.Session{ID: t.conv, Agent: AgentAA})
		return im.write(&turn)
	}
	for _, file := range files {
		err := im.eachLine(file, func(lr *lineReader, line []byte) error {
			t, err := parseAALine(line, func(conv string) *aaTurn { return pending[conv] })
			if err != nil {
				return im.bad(im.lineErr(lr, err))
			}
			t.line = im.stats.Lines
			if p, ok := pending[t.conv]; ok {
				if t.idx <= p.idx {
					return im.bad(im.lineErr(lr, fmt.Errorf("conversation %q: conversation_idx %d comes after %d (a conversation's lines must be in increasing conversation_idx order)", t.conv, t.idx, p.idx)))
				}
				t.thinkNS = p.delayNS
				if err := write(p, t); err != nil {
					return err
				}
			}
			pending[t.conv] = t
			return nil
		})
		if err != nil {
			return err
		}
	}
	rest := make([]*aaTurn, 0, len(pending))
	for _, t := range pending {
		rest = append(rest, t)
	}
	slices.SortFunc(rest, func(a, b *aaTurn) int { return a.line - b.line })
	for _, t := range rest {
		if err := write(t, nil); err != nil {
			return err
		}
	}
	return nil
}
