package translate

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/agentperf/agentperf/schemas"
)

// Translation between the three APIs goes through a neutral conversation:
// system text, tools, tool choice, and messages of role user, assistant
// (reasoning, content, tool calls) and tool (one tool result). Content is
// text and images (Anthropic image blocks, Chat image_url parts, Responses
// input_image parts; base64 data travels as a data: URL). Reasoning goes
// to the target API's reasoning input: Anthropic thinking and
// redacted_thinking blocks, Responses reasoning items (summary, content
// and encrypted_content); Chat has none, so reasoning is dropped there,
// and so is what the target's reasoning input cannot hold (an encrypted
// Responses item sent to Anthropic, a redacted Anthropic block sent to
// Responses); Stats counts what was dropped. Also dropped: server-side
// tools and provider-specific fields. Sampling fields carried over: max
// output tokens, temperature, top_p, stop sequences.

type conversation struct {
	Model       json.RawMessage
	System      []string
	Messages    []message
	Tools       []tool
	Choice      *toolChoice
	MaxTokens   json.RawMessage
	Temperature json.RawMessage
	TopP        json.RawMessage
	Stop        []string
	stats       Stats
}

type message struct {
	Role      string // "user", "assistant" or "tool"
	Parts     []part
	Reasoning []reasoning // assistant only, before its content
	Calls     []toolCall  // assistant only
	CallID    string      // tool only
	IsError   bool        // tool only
}

// part is a piece of content: text, or an image when Image is set.
type part struct {
	Text  string
	Image string // URL; base64 data as a data: URL
}

// reasoning is one thinking block or reasoning item.
type reasoning struct {
	Text      []string // thinking text, reasoning_text or summary texts
	Summary   bool     // Text came from a Responses summary
	Signature string   // Anthropic thinking signature
	Redacted  string   // Anthropic redacted_thinking data
	Encrypted string   // Responses encrypted_content
	ID        string   // Responses item id
}

// toolChoice is a request's tool choice: Mode auto, none, required (any
// tool) or tool (the one named Name).
type toolChoice struct {
	Mode, Name string
	// NoParallel is set when the request disables parallel tool calls.
	NoParallel bool
}

// Stats counts what a translation dropped.
type Stats struct {
	// DroppedReasoning counts thinking blocks and reasoning items the
	// target API has no input for.
	DroppedReasoning int
	// DroppedImages counts images replaced by the text "[image]" (in tool
	// results, where the target API takes text only).
	DroppedImages int
}

type toolCall struct{ ID, Name, Args string }

type tool struct {
	Name, Description string
	Schema            json.RawMessage
}

// Translate rewrites a request body of API from as a body of API to. It
// returns body unchanged when from == to.
func Translate(body []byte, from, to string) ([]byte, error) {
	out, _, err := TranslateStats(body, from, to)
	return out, err
}

// TranslateStats is Translate that also counts what was dropped.
func TranslateStats(body []byte, from, to string) ([]byte, Stats, error) {
	if from == to {
		return body, Stats{}, nil
	}
	var c *conversation
	var err error
	switch from {
	case schemas.APIAnthropic:
		c, err = parseAnthropic(body)
	case schemas.APIOpenAIChat:
		c, err = parseChat(body)
	case schemas.APIOpenAIResponses:
		c, err = parseResponses(body)
	default:
		return nil, Stats{}, fmt.Errorf("cannot translate a %q request (only anthropic, openai-chat and openai-responses)", from)
	}
	if err != nil {
		return nil, Stats{}, fmt.Errorf("reading %s request: %w", from, err)
	}
	var m map[string]any
	switch to {
	case schemas.APIAnthropic:
		m = c.anthropic()
	case schemas.APIOpenAIChat:
		m = c.chat()
	case schemas.APIOpenAIResponses:
		m = c.responses()
	default:
		return nil, Stats{}, fmt.Errorf("cannot translate to %q", to)
	}
	out, err := json.Marshal(m)
	return out, c.stats, err
}

// contentBlock is the union of the content block shapes the three APIs
// use.
type contentBlock struct {
	Type     string          `json:"type"`
	Text     string          `json:"text"`
	ImageURL json.RawMessage `json:"image_url"` // Chat {"url"}; Responses a string
	Source   *struct {
		Type      string `json:"type"`
		MediaType string `json:"media_type"`
		Data      string `json:"data"`
		URL       string `json:"url"`
	} `json:"source"` // Anthropic image
}

// image returns the URL of an image block, "" when it is not one.
func (b contentBlock) image() string {
	switch b.Type {
	case "image":
		if b.Source == nil {
			return ""
		}
		if b.Source.Type == "url" {
			return b.Source.URL
		}
		if b.Source.Data != "" {
			return "data:" + b.Source.MediaType + ";base64," + b.Source.Data
		}
	case "image_url", "input_image":
		var u string
		if json.Unmarshal(b.ImageURL, &u) == nil {
			return u
		}
		var o struct {
			URL string `json:"url"`
		}
		if json.Unmarshal(b.ImageURL, &o) == nil {
			return o.URL
		}
	}
	return ""
}

// partsOf returns the content of a message: a string, or a list of blocks
// with text or images. Other blocks are skipped.
func partsOf(raw json.RawMessage) []part {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []part{{Text: s}}
	}
	var blocks []contentBlock
	if json.Unmarshal(raw, &blocks) != nil {
		return []part{{Text: string(raw)}}
	}
	var out []part
	for _, b := range blocks {
		if u := b.image(); u != "" {
			out = append(out, part{Image: u})
		} else if b.Text != "" {
			out = append(out, part{Text: b.Text})
		}
	}
	return out
}

// textOf returns the texts of a content value, images as "[image]"
// (counted in st): for system prompts and tool results, which every
// target takes as text.
func textOf(raw json.RawMessage, st *Stats) []string {
	var out []string
	for _, p := range partsOf(raw) {
		if p.Image != "" {
			st.DroppedImages++
			out = append(out, "[image]")
			continue
		}
		out = append(out, p.Text)
	}
	return out
}

// texts returns the message's texts, or nil when it has images.
func (m message) texts() ([]string, bool) {
	var t []string
	for _, p := range m.Parts {
		if p.Image != "" {
			return nil, false
		}
		t = append(t, p.Text)
	}
	return t, true
}

func textParts(t []string) []part {
	out := make([]part, len(t))
	for i, s := range t {
		out[i] = part{Text: s}
	}
	return out
}

func joinText(t []string) string { return strings.Join(t, "\n") }

func stopList(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}
	}
	var l []string
	_ = json.Unmarshal(raw, &l)
	return l
}

// parseChoice reads a tool_choice of any API's shape: a string (auto,
// none, required, Anthropic's any) or an object ({"type":"tool","name"},
// {"type":"function","name"}, {"type":"function","function":{"name"}},
// {"type":"auto"|"any"|"none"}).
func parseChoice(raw json.RawMessage) *toolChoice {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return modeChoice(s, "")
	}
	var o struct {
		Type     string `json:"type"`
		Name     string `json:"name"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
		DisableParallel bool `json:"disable_parallel_tool_use"`
	}
	if json.Unmarshal(raw, &o) != nil {
		return nil
	}
	name := o.Name
	if name == "" {
		name = o.Function.Name
	}
	c := modeChoice(o.Type, name)
	if c != nil {
		c.NoParallel = o.DisableParallel
	}
	return c
}

func modeChoice(mode, name string) *toolChoice {
	switch mode {
	case "auto", "none":
		return &toolChoice{Mode: mode}
	case "required", "any":
		return &toolChoice{Mode: "required"}
	case "tool", "function":
		if name != "" {
			return &toolChoice{Mode: "tool", Name: name}
		}
	}
	return nil
}

// setParallel records parallel_tool_calls: false on the choice.
func (c *conversation) setParallel(raw json.RawMessage) {
	if string(raw) != "false" {
		return
	}
	if c.Choice == nil {
		c.Choice = &toolChoice{Mode: "auto"}
	}
	c.Choice.NoParallel = true
}

func parseAnthropic(body []byte) (*conversation, error) {
	var b struct {
		Model         json.RawMessage `json:"model"`
		System        json.RawMessage `json:"system"`
		MaxTokens     json.RawMessage `json:"max_tokens"`
		Temperature   json.RawMessage `json:"temperature"`
		TopP          json.RawMessage `json:"top_p"`
		StopSequences []string        `json:"stop_sequences"`
		ToolChoice    json.RawMessage `json:"tool_choice"`
		Tools         []struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			InputSchema json.RawMessage `json:"input_schema"`
		} `json:"tools"`
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, err
	}
	c := &conversation{Model: b.Model, MaxTokens: b.MaxTokens,
		Temperature: b.Temperature, TopP: b.TopP, Stop: b.StopSequences, Choice: parseChoice(b.ToolChoice)}
	c.System = textOf(b.System, &c.stats)
	for _, t := range b.Tools {
		if len(t.InputSchema) == 0 {
			continue // a server tool (web search, …)
		}
		c.Tools = append(c.Tools, tool{t.Name, t.Description, t.InputSchema})
	}
	for _, m := range b.Messages {
		var s string
		if json.Unmarshal(m.Content, &s) == nil {
			c.Messages = append(c.Messages, message{Role: m.Role, Parts: []part{{Text: s}}})
			continue
		}
		var blocks []struct {
			contentBlock
			ID        string          `json:"id"`
			Name      string          `json:"name"`
			Input     json.RawMessage `json:"input"`
			ToolUseID string          `json:"tool_use_id"`
			Content   json.RawMessage `json:"content"`
			IsError   bool            `json:"is_error"`
			Thinking  string          `json:"thinking"`
			Signature string          `json:"signature"`
			Data      string          `json:"data"`
		}
		if err := json.Unmarshal(m.Content, &blocks); err != nil {
			return nil, fmt.Errorf("message content: %v", err)
		}
		cur := message{Role: m.Role}
		flush := func() {
			if len(cur.Parts) > 0 || len(cur.Calls) > 0 || len(cur.Reasoning) > 0 {
				c.Messages = append(c.Messages, cur)
			}
			cur = message{Role: m.Role}
		}
		for _, bl := range blocks {
			switch bl.Type {
			case "text":
				cur.Parts = append(cur.Parts, part{Text: bl.Text})
			case "image":
				if u := bl.image(); u != "" {
					cur.Parts = append(cur.Parts, part{Image: u})
				}
			case "document":
				cur.Parts = append(cur.Parts, part{Text: "[document]"})
			case "thinking":
				cur.Reasoning = append(cur.Reasoning, reasoning{Text: []string{bl.Thinking}, Signature: bl.Signature})
			case "redacted_thinking":
				cur.Reasoning = append(cur.Reasoning, reasoning{Redacted: bl.Data})
			case "tool_use", "server_tool_use":
				args := string(bl.Input)
				if args == "" {
					args = "{}"
				}
				cur.Calls = append(cur.Calls, toolCall{bl.ID, bl.Name, args})
			case "tool_result":
				flush()
				c.Messages = append(c.Messages, message{Role: "tool", CallID: bl.ToolUseID,
					Parts: textParts(textOf(bl.Content, &c.stats)), IsError: bl.IsError})
			}
		}
		flush()
	}
	return c, nil
}

func parseChat(body []byte) (*conversation, error) {
	var b struct {
		Model               json.RawMessage `json:"model"`
		MaxTokens           json.RawMessage `json:"max_tokens"`
		MaxCompletionTokens json.RawMessage `json:"max_completion_tokens"`
		Temperature         json.RawMessage `json:"temperature"`
		TopP                json.RawMessage `json:"top_p"`
		Stop                json.RawMessage `json:"stop"`
		ToolChoice          json.RawMessage `json:"tool_choice"`
		ParallelToolCalls   json.RawMessage `json:"parallel_tool_calls"`
		Tools               []struct {
			Function struct {
				Name        string          `json:"name"`
				Description string          `json:"description"`
				Parameters  json.RawMessage `json:"parameters"`
			} `json:"function"`
		} `json:"tools"`
		Messages []struct {
			Role             string          `json:"role"`
			Content          json.RawMessage `json:"content"`
			ReasoningContent string          `json:"reasoning_content"`
			Reasoning        string          `json:"reasoning"`
			ToolCallID       string          `json:"tool_call_id"`
			ToolCalls        []struct {
				ID       string `json:"id"`
				Function struct {
					Name      string `json:"name"`
					Arguments string `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, err
	}
	c := &conversation{Model: b.Model, MaxTokens: b.MaxTokens, Temperature: b.Temperature, TopP: b.TopP,
		Stop: stopList(b.Stop), Choice: parseChoice(b.ToolChoice)}
	c.setParallel(b.ParallelToolCalls)
	if len(c.MaxTokens) == 0 {
		c.MaxTokens = b.MaxCompletionTokens
	}
	for _, t := range b.Tools {
		if t.Function.Name == "" {
			continue
		}
		c.Tools = append(c.Tools, tool{t.Function.Name, t.Function.Description, t.Function.Parameters})
	}
	for _, m := range b.Messages {
		switch m.Role {
		case "system", "developer":
			c.System = append(c.System, textOf(m.Content, &c.stats)...)
		case "tool":
			c.Messages = append(c.Messages, message{Role: "tool", CallID: m.ToolCallID, Parts: textParts(textOf(m.Content, &c.stats))})
		default:
			msg := message{Role: m.Role, Parts: partsOf(m.Content)}
			// vLLM, SGLang and DeepSeek carry an assistant turn's
			// reasoning beside its content.
			if r := m.ReasoningContent + m.Reasoning; r != "" && m.Role == "assistant" {
				msg.Reasoning = []reasoning{{Text: []string{r}}}
			}
			for _, tc := range m.ToolCalls {
				msg.Calls = append(msg.Calls, toolCall{tc.ID, tc.Function.Name, tc.Function.Arguments})
			}
			c.Messages = append(c.Messages, msg)
		}
	}
	return c, nil
}

func parseResponses(body []byte) (*conversation, error) {
	var b struct {
		Model             json.RawMessage `json:"model"`
		Instructions      json.RawMessage `json:"instructions"`
		MaxOutputTokens   json.RawMessage `json:"max_output_tokens"`
		Temperature       json.RawMessage `json:"temperature"`
		TopP              json.RawMessage `json:"top_p"`
		Input             json.RawMessage `json:"input"`
		ToolChoice        json.RawMessage `json:"tool_choice"`
		ParallelToolCalls json.RawMessage `json:"parallel_tool_calls"`
		Tools             []struct {
			Type        string          `json:"type"`
			Name        string          `json:"name"`
			Description string          `json:"description"`
			Parameters  json.RawMessage `json:"parameters"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, err
	}
	c := &conversation{Model: b.Model, MaxTokens: b.MaxOutputTokens, Temperature: b.Temperature,
		TopP: b.TopP, Choice: parseChoice(b.ToolChoice)}
	c.System = textOf(b.Instructions, &c.stats)
	c.setParallel(b.ParallelToolCalls)
	for _, t := range b.Tools {
		switch {
		case t.Type == "function":
			c.Tools = append(c.Tools, tool{t.Name, t.Description, t.Parameters})
		case t.Type == "custom" && t.Name != "":
			// A freeform tool: offer it as a function taking one string.
			c.Tools = append(c.Tools, tool{t.Name, t.Description, json.RawMessage(`{"type":"object","properties":{"input":{"type":"string"}},"required":["input"]}`)})
		}
	}
	var s string
	if json.Unmarshal(b.Input, &s) == nil {
		c.Messages = append(c.Messages, message{Role: "user", Parts: []part{{Text: s}}})
		return c, nil
	}
	var items []struct {
		Type      string          `json:"type"`
		ID        string          `json:"id"`
		Role      string          `json:"role"`
		Content   json.RawMessage `json:"content"`
		CallID    string          `json:"call_id"`
		Name      string          `json:"name"`
		Arguments string          `json:"arguments"`
		Input     string          `json:"input"`
		Output    json.RawMessage `json:"output"`
		Action    json.RawMessage `json:"action"`
		Summary   []struct {
			Text string `json:"text"`
		} `json:"summary"`
		EncryptedContent string `json:"encrypted_content"`
	}
	if len(b.Input) > 0 {
		if err := json.Unmarshal(b.Input, &items); err != nil {
			return nil, fmt.Errorf("input: %v", err)
		}
	}
	// pending holds reasoning items until the assistant output they
	// precede.
	var pending []reasoning
	assistant := func() *message {
		if n := len(c.Messages); n > 0 && c.Messages[n-1].Role == "assistant" && len(pending) == 0 {
			return &c.Messages[n-1]
		}
		c.Messages = append(c.Messages, message{Role: "assistant", Reasoning: pending})
		pending = nil
		return &c.Messages[len(c.Messages)-1]
	}
	for _, it := range items {
		switch it.Type {
		case "message", "":
			switch it.Role {
			case "system", "developer":
				c.System = append(c.System, textOf(it.Content, &c.stats)...)
			case "assistant":
				m := assistant()
				if len(m.Parts) > 0 || len(m.Calls) > 0 {
					c.Messages = append(c.Messages, message{Role: "assistant"})
					m = &c.Messages[len(c.Messages)-1]
				}
				m.Parts = partsOf(it.Content)
			default:
				c.Messages = append(c.Messages, message{Role: "user", Parts: partsOf(it.Content)})
			}
		case "reasoning":
			r := reasoning{ID: it.ID, Encrypted: it.EncryptedContent}
			for _, sm := range it.Summary {
				r.Text, r.Summary = append(r.Text, sm.Text), true
			}
			if len(r.Text) == 0 {
				var content []struct {
					Text string `json:"text"`
				}
				if json.Unmarshal(it.Content, &content) == nil {
					for _, ct := range content {
						r.Text = append(r.Text, ct.Text)
					}
				}
			}
			pending = append(pending, r)
		case "function_call", "custom_tool_call", "local_shell_call":
			args := it.Arguments
			switch it.Type {
			case "custom_tool_call":
				a, _ := json.Marshal(map[string]string{"input": it.Input})
				args = string(a)
			case "local_shell_call":
				// Codex's built-in shell: a call of "local_shell" whose
				// arguments are the action.
				it.Name, args = "local_shell", string(it.Action)
			}
			m := assistant()
			m.Calls = append(m.Calls, toolCall{it.CallID, it.Name, args})
		case "function_call_output", "custom_tool_call_output", "local_shell_call_output":
			c.Messages = append(c.Messages, message{Role: "tool", CallID: it.CallID, Parts: textParts(textOf(it.Output, &c.stats))})
		}
		// other item types are dropped.
	}
	if len(pending) > 0 {
		c.stats.DroppedReasoning += len(pending) // reasoning with no output after it
	}
	return c, nil
}

func setRaw(m map[string]any, key string, v json.RawMessage) {
	if len(v) > 0 && string(v) != "null" {
		m[key] = v
	}
}

// anthropicID keeps a tool-call id within Anthropic's [A-Za-z0-9_-] alphabet.
func anthropicID(id string) string {
	if id == "" {
		return "toolu_0"
	}
	return strings.Map(func(r rune) rune {
		if r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, id)
}

func argsObject(args string) json.RawMessage {
	var obj map[string]json.RawMessage
	if json.Unmarshal([]byte(args), &obj) == nil && obj != nil {
		return json.RawMessage(args)
	}
	b, _ := json.Marshal(map[string]string{"input": args})
	return b
}

// anthropicImage returns an Anthropic image block for a URL: a base64
// source for a data: URL, a url source otherwise.
func anthropicImage(u string) map[string]any {
	if rest, ok := strings.CutPrefix(u, "data:"); ok {
		if meta, data, ok := strings.Cut(rest, ","); ok && strings.HasSuffix(meta, ";base64") {
			return map[string]any{"type": "image", "source": map[string]any{"type": "base64",
				"media_type": strings.TrimSuffix(meta, ";base64"), "data": data}}
		}
	}
	return map[string]any{"type": "image", "source": map[string]any{"type": "url", "url": u}}
}

func (c *conversation) anthropic() map[string]any {
	m := map[string]any{}
	setRaw(m, "model", c.Model)
	if len(c.System) > 0 {
		m["system"] = strings.Join(c.System, "\n\n")
	}
	if len(c.MaxTokens) > 0 && string(c.MaxTokens) != "null" {
		m["max_tokens"] = c.MaxTokens
	} else {
		m["max_tokens"] = 4096 // required by the Messages API
	}
	setRaw(m, "temperature", c.Temperature)
	setRaw(m, "top_p", c.TopP)
	if len(c.Stop) > 0 {
		m["stop_sequences"] = c.Stop
	}
	if len(c.Tools) > 0 {
		tools := make([]map[string]any, 0, len(c.Tools))
		for _, t := range c.Tools {
			e := map[string]any{"name": t.Name, "input_schema": schemaOrEmpty(t.Schema)}
			if t.Description != "" {
				e["description"] = t.Description
			}
			tools = append(tools, e)
		}
		m["tools"] = tools
	}
	if ch := c.Choice; ch != nil {
		tc := map[string]any{"type": map[string]string{"required": "any"}[ch.Mode]}
		if tc["type"] == "" {
			tc["type"] = ch.Mode
		}
		if ch.Mode == "tool" {
			tc["name"] = ch.Name
		}
		if ch.NoParallel && ch.Mode != "none" {
			tc["disable_parallel_tool_use"] = true
		}
		m["tool_choice"] = tc
	}
	var msgs []map[string]any
	var blocks []map[string]any
	role := ""
	flush := func() {
		if len(blocks) > 0 {
			msgs = append(msgs, map[string]any{"role": role, "content": blocks})
		}
		blocks = nil
	}
	for _, msg := range c.Messages {
		r := msg.Role
		if r == "tool" {
			r = "user"
		}
		if r != role {
			flush()
			role = r
		}
		switch msg.Role {
		case "tool":
			t, _ := msg.texts()
			b := map[string]any{"type": "tool_result", "tool_use_id": anthropicID(msg.CallID), "content": joinText(t)}
			if msg.IsError {
				b["is_error"] = true
			}
			blocks = append(blocks, b)
		default:
			for _, rs := range msg.Reasoning {
				switch {
				case rs.Redacted != "":
					blocks = append(blocks, map[string]any{"type": "redacted_thinking", "data": rs.Redacted})
				case len(rs.Text) > 0 && joinText(rs.Text) != "":
					b := map[string]any{"type": "thinking", "thinking": joinText(rs.Text)}
					if rs.Signature != "" {
						b["signature"] = rs.Signature
					}
					blocks = append(blocks, b)
				default:
					c.stats.DroppedReasoning++ // encrypted Responses reasoning
				}
			}
			for _, p := range msg.Parts {
				switch {
				case p.Image != "":
					blocks = append(blocks, anthropicImage(p.Image))
				case p.Text != "":
					blocks = append(blocks, map[string]any{"type": "text", "text": p.Text})
				}
			}
			for _, call := range msg.Calls {
				blocks = append(blocks, map[string]any{"type": "tool_use", "id": anthropicID(call.ID), "name": call.Name, "input": argsObject(call.Args)})
			}
		}
	}
	flush()
	if msgs == nil {
		msgs = []map[string]any{}
	}
	m["messages"] = msgs
	return m
}

func schemaOrEmpty(s json.RawMessage) json.RawMessage {
	if len(s) == 0 || string(s) == "null" {
		return json.RawMessage(`{"type":"object","properties":{}}`)
	}
	return s
}

// chatContent returns a message's Chat content: a string when it is all
// text, else a list of text and image_url parts.
func chatContent(msg message) any {
	if t, ok := msg.texts(); ok {
		return joinText(t)
	}
	parts := make([]map[string]any, 0, len(msg.Parts))
	for _, p := range msg.Parts {
		if p.Image != "" {
			parts = append(parts, map[string]any{"type": "image_url", "image_url": map[string]any{"url": p.Image}})
		} else {
			parts = append(parts, map[string]any{"type": "text", "text": p.Text})
		}
	}
	return parts
}

// openAIChoice returns the tool_choice of the Chat (nested) or Responses
// (flat) API.
func (c *conversation) openAIChoice(m map[string]any, nested bool) {
	ch := c.Choice
	if ch == nil {
		return
	}
	switch {
	case ch.Mode == "tool" && nested:
		m["tool_choice"] = map[string]any{"type": "function", "function": map[string]any{"name": ch.Name}}
	case ch.Mode == "tool":
		m["tool_choice"] = map[string]any{"type": "function", "name": ch.Name}
	default:
		m["tool_choice"] = ch.Mode
	}
	if ch.NoParallel && ch.Mode != "none" {
		m["parallel_tool_calls"] = false
	}
}

func (c *conversation) chat() map[string]any {
	m := map[string]any{}
	setRaw(m, "model", c.Model)
	setRaw(m, "max_tokens", c.MaxTokens)
	setRaw(m, "temperature", c.Temperature)
	setRaw(m, "top_p", c.TopP)
	if len(c.Stop) > 0 {
		m["stop"] = c.Stop
	}
	if len(c.Tools) > 0 {
		tools := make([]map[string]any, 0, len(c.Tools))
		for _, t := range c.Tools {
			f := map[string]any{"name": t.Name, "parameters": schemaOrEmpty(t.Schema)}
			if t.Description != "" {
				f["description"] = t.Description
			}
			tools = append(tools, map[string]any{"type": "function", "function": f})
		}
		m["tools"] = tools
	}
	c.openAIChoice(m, true)
	msgs := []map[string]any{}
	if len(c.System) > 0 {
		msgs = append(msgs, map[string]any{"role": "system", "content": strings.Join(c.System, "\n\n")})
	}
	for _, msg := range c.Messages {
		switch msg.Role {
		case "tool":
			t, _ := msg.texts()
			msgs = append(msgs, map[string]any{"role": "tool", "tool_call_id": msg.CallID, "content": joinText(t)})
		case "assistant":
			// The Chat API has no reasoning input.
			c.stats.DroppedReasoning += len(msg.Reasoning)
			e := map[string]any{"role": "assistant", "content": nil}
			if len(msg.Parts) > 0 {
				e["content"] = chatContent(msg)
			}
			if len(msg.Calls) > 0 {
				calls := make([]map[string]any, 0, len(msg.Calls))
				for _, call := range msg.Calls {
					calls = append(calls, map[string]any{"id": call.ID, "type": "function",
						"function": map[string]any{"name": call.Name, "arguments": call.Args}})
				}
				e["tool_calls"] = calls
			}
			msgs = append(msgs, e)
		default:
			msgs = append(msgs, map[string]any{"role": msg.Role, "content": chatContent(msg)})
		}
	}
	m["messages"] = msgs
	return m
}

// responsesContent returns a message's Responses content parts.
func responsesContent(msg message, textType string) []map[string]any {
	if t, ok := msg.texts(); ok {
		return []map[string]any{{"type": textType, "text": joinText(t)}}
	}
	parts := make([]map[string]any, 0, len(msg.Parts))
	for _, p := range msg.Parts {
		if p.Image != "" {
			parts = append(parts, map[string]any{"type": "input_image", "image_url": p.Image, "detail": "auto"})
		} else {
			parts = append(parts, map[string]any{"type": textType, "text": p.Text})
		}
	}
	return parts
}

func (c *conversation) responses() map[string]any {
	m := map[string]any{}
	setRaw(m, "model", c.Model)
	setRaw(m, "max_output_tokens", c.MaxTokens)
	setRaw(m, "temperature", c.Temperature)
	setRaw(m, "top_p", c.TopP)
	if len(c.System) > 0 {
		m["instructions"] = strings.Join(c.System, "\n\n")
	}
	if len(c.Tools) > 0 {
		tools := make([]map[string]any, 0, len(c.Tools))
		for _, t := range c.Tools {
			e := map[string]any{"type": "function", "name": t.Name, "parameters": schemaOrEmpty(t.Schema)}
			if t.Description != "" {
				e["description"] = t.Description
			}
			tools = append(tools, e)
		}
		m["tools"] = tools
	}
	c.openAIChoice(m, false)
	items := []map[string]any{}
	for _, msg := range c.Messages {
		switch msg.Role {
		case "tool":
			t, _ := msg.texts()
			items = append(items, map[string]any{"type": "function_call_output", "call_id": msg.CallID, "output": joinText(t)})
		case "assistant":
			for _, rs := range msg.Reasoning {
				if rs.Redacted != "" || len(rs.Text) == 0 && rs.Encrypted == "" {
					c.stats.DroppedReasoning++ // Anthropic's redacted thinking
					continue
				}
				it := map[string]any{"type": "reasoning", "summary": []map[string]any{}}
				if rs.ID != "" {
					it["id"] = rs.ID
				}
				if rs.Encrypted != "" {
					it["encrypted_content"] = rs.Encrypted
				}
				if len(rs.Text) > 0 {
					texts := make([]map[string]any, 0, len(rs.Text))
					for _, t := range rs.Text {
						texts = append(texts, map[string]any{"type": "summary_text", "text": t})
					}
					if rs.Summary {
						it["summary"] = texts
					} else {
						for _, t := range texts {
							t["type"] = "reasoning_text"
						}
						it["content"] = texts
					}
				}
				items = append(items, it)
			}
			if len(msg.Parts) > 0 {
				items = append(items, map[string]any{"type": "message", "role": "assistant",
					"content": responsesContent(msg, "output_text")})
			}
			for _, call := range msg.Calls {
				items = append(items, map[string]any{"type": "function_call", "call_id": call.ID, "name": call.Name, "arguments": call.Args})
			}
		default:
			items = append(items, map[string]any{"type": "message", "role": "user",
				"content": responsesContent(msg, "input_text")})
		}
	}
	m["input"] = items
	return m
}
