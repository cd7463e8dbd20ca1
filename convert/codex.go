package convert

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/agentperf/agentperf/schemas"
)

// codexLine is one line of a Codex rollout: {timestamp, type, payload}.
type codexLine struct {
	Timestamp string          `json:"timestamp"`
	Type      string          `json:"type"`
	Payload   json.RawMessage `json:"payload"`
}

// codexEntry is a parsed rollout line.
type codexEntry struct {
	kind string // the line type
	ts   int64
	// session_meta
	id, parent, instructions string
	// turn_context
	model, effort, summary string
	// response_item: the canonical item, and whether the model produced it
	item   []byte
	output bool
	// event_msg
	event string
	usage *schemas.Usage
	// compacted
	history [][]byte
}

// codexUsage is Codex's TokenUsage.
type codexUsage struct {
	InputTokens           *int64 `json:"input_tokens"`
	CachedInputTokens     *int64 `json:"cached_input_tokens"`
	OutputTokens          *int64 `json:"output_tokens"`
	ReasoningOutputTokens *int64 `json:"reasoning_output_tokens"`
}

func (u *codexUsage) usage() *schemas.Usage {
	if u == nil || (u.InputTokens == nil && u.OutputTokens == nil) {
		return nil
	}
	return &schemas.Usage{Input: u.InputTokens, Cached: u.CachedInputTokens, Output: u.OutputTokens, Reasoning: u.ReasoningOutputTokens}
}

// codexOutputItems are the Responses item types the model produces.
var codexOutputItems = map[string]bool{
	"reasoning": true, "function_call": true, "custom_tool_call": true, "local_shell_call": true,
	"web_search_call": true, "image_generation_call": true, "tool_search_call": true,
}

// parseCodexLine decodes one rollout line and the parts of its payload the
// import uses. Unknown line and event types parse to entries the import
// ignores.
func parseCodexLine(line []byte) (*codexEntry, error) {
	var l codexLine
	if err := decodeJSON(line, &l); err != nil {
		return nil, err
	}
	if l.Type == "" || isNull(l.Payload) {
		return nil, errors.New("not a Codex rollout line: want {timestamp, type, payload}")
	}
	if l.Payload[0] != '{' {
		return nil, fmt.Errorf("%s payload is not a JSON object", l.Type)
	}
	e := &codexEntry{kind: l.Type, ts: parseTime(l.Timestamp)}
	switch l.Type {
	case "session_meta":
		var p struct {
			ID               string  `json:"id"`
			Instructions     *string `json:"instructions"`
			BaseInstructions *struct {
				Text string `json:"text"`
			} `json:"base_instructions"`
			Source json.RawMessage `json:"source"`
		}
		if err := decodeJSON(l.Payload, &p); err != nil {
			return nil, fmt.Errorf("session_meta: %v", err)
		}
		e.id = p.ID
		switch {
		case p.BaseInstructions != nil:
			e.instructions = p.BaseInstructions.Text
		case p.Instructions != nil:
			e.instructions = *p.Instructions
		}
		e.parent = parentThread(p.Source)
	case "turn_context":
		var p struct {
			Model   string `json:"model"`
			Effort  string `json:"effort"`
			Summary string `json:"summary"`
		}
		if err := decodeJSON(l.Payload, &p); err != nil {
			return nil, fmt.Errorf("turn_context: %v", err)
		}
		e.model, e.effort, e.summary = p.Model, p.Effort, p.Summary
	case "response_item":
		var p struct {
			Type string `json:"type"`
			Role string `json:"role"`
		}
		if err := decodeJSON(l.Payload, &p); err != nil {
			return nil, fmt.Errorf("response_item: %v", err)
		}
		if p.Type == "" && p.Role == "" {
			return nil, errors.New("response_item without a type")
		}
		c, err := canonical(l.Payload, "response_item")
		if err != nil {
			return nil, err
		}
		e.item = c
		e.output = codexOutputItems[p.Type] || (p.Role == "assistant" && (p.Type == "message" || p.Type == ""))
	case "event_msg":
		var p struct {
			Type string `json:"type"`
			Info *struct {
				Last  *codexUsage `json:"last_token_usage"`
				Total *codexUsage `json:"total_token_usage"`
			} `json:"info"`
			codexUsage
		}
		if err := decodeJSON(l.Payload, &p); err != nil {
			return nil, fmt.Errorf("event_msg: %v", err)
		}
		e.event = p.Type
		if p.Type == "token_count" {
			switch {
			case p.Info != nil && p.Info.Last != nil:
				e.usage = p.Info.Last.usage()
			case p.Info == nil:
				e.usage = p.codexUsage.usage() // older rollouts: flat counts
			}
		}
	case "compacted":
		var p struct {
			Message            string            `json:"message"`
			ReplacementHistory []json.RawMessage `json:"replacement_history"`
		}
		if err := decodeJSON(l.Payload, &p); err != nil {
			return nil, fmt.Errorf("compacted: %v", err)
		}
		if p.ReplacementHistory != nil {
			for i, it := range p.ReplacementHistory {
				c, err := canonical(it, fmt.Sprintf("compacted.replacement_history[%d]", i))
				if err != nil {
					return nil, err
				}
				e.history = append(e.history, c)
			}
		} else {
			e.history = [][]byte{canon(map[string]any{"type": "message", "role": "user",
				"content": []any{map[string]any{"type": "input_text", "text": p.Message}}})}
		}
	}
	return e, nil
}

// parentThread finds a sub-agent's parent thread id in session_meta's
// source ({"subagent":{"thread_spawn":{"parent_thread_id":…}}}).
func parentThread(source json.RawMessage) string {
	var v any
	if isNull(source) || json.Unmarshal(source, &v) != nil {
		return ""
	}
	var find func(any) string
	find = func(v any) string {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		if s, ok := m["parent_thread_id"].(string); ok {
			return s
		}
		for _, c := range m {
			if s := find(c); s != "" {
				return s
			}
		}
		return ""
	}
	return find(v)
}

// codexState rebuilds the model calls of one rollout file.
type codexState struct {
	id, parent   string
	instructions string
	model        string
	effort       string
	summary      string
	// items is the conversation so far (canonical Responses items).
	items [][]byte
	// outStart is where the current call's output items start in items;
	// -1 when no output is pending.
	outStart int
	// inputTS is the time of the last line before the pending output (the
	// call's send time); outputTS that of the last output item.
	inputTS, outputTS int64
	lastEnd           int64
	calls             []codexCall
}

// codexCall is one rebuilt model call.
type codexCall struct {
	model, effort, summary string
	instructions           string
	input, output          [][]byte
	startNS, endNS         int64
	thinkNS                int64
	usage                  *schemas.Usage
}

func newCodexState() *codexState { return &codexState{outStart: -1} }

// apply feeds one entry. A call ends when a token_count event with usage
// follows the model's output items, or, lacking one, when the next input
// item, turn or compaction arrives.
func (s *codexState) apply(e *codexEntry) {
	switch e.kind {
	case "session_meta":
		if s.id == "" {
			s.id, s.parent, s.instructions = e.id, e.parent, e.instructions
		}
	case "turn_context":
		s.end(nil, s.outputTS)
		s.model, s.effort, s.summary = e.model, e.effort, e.summary
		s.inputTS = e.ts
	case "response_item":
		if e.output {
			if s.outStart < 0 {
				s.outStart = len(s.items)
			}
			s.items = append(s.items, e.item)
			s.outputTS = e.ts
			return
		}
		s.end(nil, s.outputTS)
		s.items = append(s.items, e.item)
		s.inputTS = e.ts
	case "event_msg":
		if e.event == "token_count" && e.usage != nil && s.outStart >= 0 {
			s.end(e.usage, e.ts)
			return
		}
		if s.outStart < 0 && e.ts > 0 {
			s.inputTS = e.ts
		}
	case "compacted":
		s.end(nil, s.outputTS)
		s.items = append([][]byte(nil), e.history...)
		s.inputTS = e.ts
	}
}

// end closes the pending call, if any.
func (s *codexState) end(u *schemas.Usage, endTS int64) {
	if s.outStart < 0 {
		return
	}
	c := codexCall{model: s.model, effort: s.effort, summary: s.summary, instructions: s.instructions,
		input: s.items[:s.outStart:s.outStart], output: s.items[s.outStart:], startNS: s.inputTS, endNS: endTS, usage: u}
	if c.endNS < c.startNS {
		c.endNS = c.startNS
	}
	if s.lastEnd > 0 && c.startNS > s.lastEnd {
		c.thinkNS = c.startNS - s.lastEnd
	}
	s.lastEnd = c.endNS
	s.calls = append(s.calls, c)
	s.outStart = -1
}

// finish closes a call still pending at the end of the file.
func (s *codexState) finish() { s.end(nil, s.outputTS) }

var rolloutUUID = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// codexSessionID is the session_meta id, else the uuid ending the rollout
// file name, else the file name.
func codexSessionID(id, path string) string {
	if id != "" {
		return id
	}
	stem := strings.TrimSuffix(filepath.Base(path), ".jsonl")
	if m := rolloutUUID.FindString(stem); m != "" {
		return m
	}
	return stem
}

// body returns the call's params and prompt parts as an OpenAI Responses
// request: model, instructions, input items, reasoning settings, stream.
// Tool definitions are not in rollouts and are left out.
func (c *codexCall) body() (params []byte, parts []schemas.Part) {
	var p objectBuilder
	if c.model != "" {
		p.value("model", c.model)
	}
	if c.effort != "" || c.summary != "" {
		r := map[string]any{}
		if c.effort != "" {
			r["effort"] = c.effort
		}
		if c.summary != "" && c.summary != "none" {
			r["summary"] = c.summary
		}
		p.value("reasoning", r)
	}
	p.raw("store", []byte("false"))
	p.raw("stream", []byte("true"))
	if c.instructions != "" {
		parts = append(parts, schemas.Part{Kind: schemas.KindInstructions, Body: canon(c.instructions), Tokens: -1})
	}
	for _, it := range c.input {
		parts = append(parts, schemas.Part{Kind: schemas.KindMessage, Body: it, Tokens: -1})
	}
	return p.bytes(), parts
}

// importCodex reads Codex rollout files, one session per file (a resumed
// session appends to its file). The conversation items of the file being
// read are held in memory.
func (im *importer) importCodex(files []string) error {
	for _, file := range files {
		s := newCodexState()
		err := im.eachLine(file, func(lr *lineReader, line []byte) error {
			e, err := parseCodexLine(line)
			if err != nil {
				return im.bad(im.lineErr(lr, err))
			}
			s.apply(e)
			return nil
		})
		if err != nil {
			return err
		}
		s.finish()
		id := codexSessionID(s.id, file)
		for i := range s.calls {
			c := &s.calls[i]
			params, parts := c.body()
			if len(c.input) == 0 {
				continue // output with no input before it: nothing to replay
			}
			im.session(schemas.Session{ID: id, Agent: AgentCodex, Parent: s.parent})
			t := schemas.Turn{SessionID: id, API: schemas.APIOpenAIResponses, Params: params, Parts: parts,
				Response: c.output, StartNS: c.startNS, EndNS: c.endNS, ThinkNS: c.thinkNS, Status: 200}
			if c.usage != nil {
				t.Usage = *c.usage
			}
			if err := im.write(&t); err != nil {
				return err
			}
		}
	}
	return nil
}
