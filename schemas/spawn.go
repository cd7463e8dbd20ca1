package schemas

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Sub-agent links from prompts.
//
// A coding agent starts a sub-agent with a tool call — Claude Code's Task
// (or Agent) tool, opencode's task tool — whose input carries the
// sub-agent's instructions in "prompt"; the sub-agent's first request then
// carries that text as its first user message. The trace writer keeps the
// spawning calls it has seen and, when a session's first request carries
// one of their prompts, links the session to the spawning turn
// (Session.Parent, ParentTurn, ParentOffsetNS). This works without any
// session id sent by the agent, for captures and imports alike.

// maxPendingSpawns bounds the spawning calls kept while waiting for their
// sub-agent; the oldest are forgotten first.
const maxPendingSpawns = 4096

// IsSpawnTool reports whether a tool of this name starts a sub-agent whose
// instructions are the call's "prompt" argument.
func IsSpawnTool(name string) bool {
	switch strings.ToLower(name) {
	case "task", "agent":
		return true
	}
	return false
}

// spawn is one sub-agent tool call waiting for its sub-agent.
type spawn struct {
	session string
	turn    int32
	endNS   int64
	prompt  string
	used    bool
}

// spawnIndex holds pending spawning calls by prompt text.
type spawnIndex struct {
	byPrompt map[string][]*spawn
	fifo     []*spawn
}

func newSpawnIndex() *spawnIndex { return &spawnIndex{byPrompt: map[string][]*spawn{}} }

// add records the sub-agent calls in a turn's response items.
func (x *spawnIndex) add(session string, turn int32, endNS int64, response [][]byte) {
	for _, item := range response {
		for _, p := range SpawnPrompts(item) {
			s := &spawn{session: session, turn: turn, endNS: endNS, prompt: p}
			x.byPrompt[p] = append(x.byPrompt[p], s)
			x.fifo = append(x.fifo, s)
		}
	}
	for len(x.fifo) > maxPendingSpawns {
		old := x.fifo[0]
		x.fifo = x.fifo[1:]
		if !old.used {
			x.remove(old)
		}
	}
}

func (x *spawnIndex) remove(s *spawn) {
	l := x.byPrompt[s.prompt]
	for i, c := range l {
		if c == s {
			l = append(l[:i], l[i+1:]...)
			break
		}
	}
	if len(l) == 0 {
		delete(x.byPrompt, s.prompt)
	} else {
		x.byPrompt[s.prompt] = l
	}
}

// match returns and consumes the oldest pending call of another session
// whose prompt equals one of texts; nil when none does.
func (x *spawnIndex) match(texts []string, self string, ok func(*spawn) bool) *spawn {
	for _, t := range texts {
		for _, s := range x.byPrompt[t] {
			if s.session != self && ok(s) {
				s.used = true
				x.remove(s)
				return s
			}
		}
	}
	return nil
}

// SpawnPrompts returns the prompts of the sub-agent tool calls (IsSpawnTool)
// in one response item of any API: an Anthropic assistant message
// (tool_use blocks), an OpenAI chat assistant message (tool_calls) or an
// OpenAI Responses output item (function_call). Prompts are trimmed;
// empty ones are left out.
func SpawnPrompts(item []byte) []string {
	if !bytes.Contains(item, []byte("prompt")) {
		return nil
	}
	var m struct {
		Type      string          `json:"type"`
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
		Content   json.RawMessage `json:"content"`
		ToolCalls []struct {
			Function struct {
				Name      string          `json:"name"`
				Arguments json.RawMessage `json:"arguments"`
			} `json:"function"`
		} `json:"tool_calls"`
	}
	if json.Unmarshal(item, &m) != nil {
		return nil
	}
	var out []string
	add := func(name string, args json.RawMessage) {
		if !IsSpawnTool(name) {
			return
		}
		if p := promptArg(args); p != "" {
			out = append(out, p)
		}
	}
	if m.Type == "function_call" {
		add(m.Name, m.Arguments)
	}
	for _, tc := range m.ToolCalls {
		add(tc.Function.Name, tc.Function.Arguments)
	}
	if len(m.Content) > 0 && m.Content[0] == '[' {
		var blocks []struct {
			Type  string          `json:"type"`
			Name  string          `json:"name"`
			Input json.RawMessage `json:"input"`
		}
		if json.Unmarshal(m.Content, &blocks) == nil {
			for _, b := range blocks {
				if b.Type == "tool_use" {
					add(b.Name, b.Input)
				}
			}
		}
	}
	return out
}

// promptArg reads the "prompt" argument of a tool call's arguments: a JSON
// object, or a JSON string holding one (OpenAI).
func promptArg(args json.RawMessage) string {
	args = bytes.TrimSpace(args)
	if len(args) > 0 && args[0] == '"' {
		var s string
		if json.Unmarshal(args, &s) != nil {
			return ""
		}
		args = []byte(s)
	}
	var in struct {
		Prompt string `json:"prompt"`
	}
	if json.Unmarshal(args, &in) != nil {
		return ""
	}
	return strings.TrimSpace(in.Prompt)
}

// firstUserTexts returns the texts a prompt's first user message carries,
// trimmed: each text block, and all of them joined (by "\n" and by "").
func firstUserTexts(parts []Part) []string {
	for _, p := range parts {
		var content json.RawMessage
		switch p.Kind {
		case KindInput: // Responses input given as a string
			content = p.Bytes()
		case KindMessage:
			var m struct {
				Role    string          `json:"role"`
				Content json.RawMessage `json:"content"`
			}
			if json.Unmarshal(p.Bytes(), &m) != nil || m.Role != "user" {
				continue
			}
			content = m.Content
		default:
			continue
		}
		var s string
		if json.Unmarshal(content, &s) == nil {
			return []string{strings.TrimSpace(s)}
		}
		var blocks []struct {
			Text *string `json:"text"`
		}
		if json.Unmarshal(content, &blocks) != nil {
			return nil
		}
		var texts []string
		for _, b := range blocks {
			if b.Text != nil {
				texts = append(texts, *b.Text)
			}
		}
		out := make([]string, 0, len(texts)+2)
		for _, t := range texts {
			out = append(out, strings.TrimSpace(t))
		}
		if len(texts) > 1 {
			out = append(out, strings.TrimSpace(strings.Join(texts, "\n")), strings.TrimSpace(strings.Join(texts, "")))
		}
		return out
	}
	return nil
}

// linkSpawned links session s, at its first request (prompt parts), to the
// turn that spawned it when its first user message carries the prompt of a
// sub-agent call seen earlier. A link given by the caller (a ParentTurn) is
// kept; a Parent given by the caller is kept unless the spawning session
// is in the same tree (the same root session), which refines it (a
// sub-agent spawned by a sub-agent).
func (w *TraceWriter) linkSpawned(s *Session, parts []Part) {
	if w.linked[s.ID] || s.ParentTurn != nil || len(w.spawns.byPrompt) == 0 {
		return
	}
	texts := firstUserTexts(parts)
	if len(texts) == 0 {
		return
	}
	sp := w.spawns.match(texts, s.ID, func(sp *spawn) bool {
		return s.Parent == "" || s.Parent == sp.session || w.root(s.Parent) == w.root(sp.session)
	})
	if sp == nil {
		return
	}
	s.Parent, s.ParentTurn = sp.session, Int32(sp.turn)
	s.ParentOffsetNS = 0
	if s.StartNS > 0 && sp.endNS > 0 && s.StartNS > sp.endNS {
		s.ParentOffsetNS = s.StartNS - sp.endNS
	}
	w.linked[s.ID] = true
}

// root follows parent links from session id to its top-level session.
func (w *TraceWriter) root(id string) string {
	for i := 0; i < 64; i++ {
		s := w.sessions[id]
		if s == nil || s.Parent == "" {
			return id
		}
		id = s.Parent
	}
	return id
}
