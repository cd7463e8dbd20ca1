// Package translate rewrites request bodies between the Anthropic Messages,
// OpenAI Chat Completions and OpenAI Responses APIs.
package translate

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/agentperf/agentperf/schemas"
)

// Translation between the three APIs goes through a neutral conversation:
// system text, tools, and messages of role user, assistant (text and tool
// calls) and tool (one tool result). What has no counterpart is dropped:
// thinking/reasoning items (their signatures are provider-bound), images
// (replaced by the text "[image]"), server-side tools, tool_choice and
// provider-specific fields. Sampling fields carried over: max output
// tokens, temperature, top_p, stop sequences.

type conversation struct {
	Model       json.RawMessage
	System      []string
	Messages    []message
	Tools       []tool
	MaxTokens   json.RawMessage
	Temperature json.RawMessage
	TopP        json.RawMessage
	Stop        []string
}

type message struct {
	Role    string // "user", "assistant" or "tool"
	Text    []string
	Calls   []toolCall // assistant only
	CallID  string     // tool only
	IsError bool       // tool only
}

type toolCall struct{ ID, Name, Args string }

type tool struct {
	Name, Description string
	Schema            json.RawMessage
}

// Translate rewrites a request body of API from as a body of API to. It
// returns body unchanged when from == to.
func Translate(body []byte, from, to string) ([]byte, error) {
	if from == to {
		return body, nil
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
		return nil, fmt.Errorf("cannot translate a %q request (only anthropic, openai-chat and openai-responses)", from)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s request: %w", from, err)
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
		return nil, fmt.Errorf("cannot translate to %q", to)
	}
	return json.Marshal(m)
}

// textOf returns the texts in a content value: a string, or a list of
// blocks with "text" (image blocks become "[image]").
func textOf(raw json.RawMessage) []string {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}
	}
	var blocks []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &blocks) != nil {
		return []string{string(raw)}
	}
	var out []string
	for _, b := range blocks {
		switch {
		case b.Text != "":
			out = append(out, b.Text)
		case strings.Contains(b.Type, "image"):
			out = append(out, "[image]")
		}
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

func parseAnthropic(body []byte) (*conversation, error) {
	var b struct {
		Model         json.RawMessage `json:"model"`
		System        json.RawMessage `json:"system"`
		MaxTokens     json.RawMessage `json:"max_tokens"`
		Temperature   json.RawMessage `json:"temperature"`
		TopP          json.RawMessage `json:"top_p"`
		StopSequences []string        `json:"stop_sequences"`
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
	c := &conversation{Model: b.Model, System: textOf(b.System), MaxTokens: b.MaxTokens,
		Temperature: b.Temperature, TopP: b.TopP, Stop: b.StopSequences}
	for _, t := range b.Tools {
		if len(t.InputSchema) == 0 {
			continue // a server tool (web search, …)
		}
		c.Tools = append(c.Tools, tool{t.Name, t.Description, t.InputSchema})
	}
	for _, m := range b.Messages {
		var s string
		if json.Unmarshal(m.Content, &s) == nil {
			c.Messages = append(c.Messages, message{Role: m.Role, Text: []string{s}})
			continue
		}
		var blocks []struct {
			Type      string          `json:"type"`
			Text      string          `json:"text"`
			ID        string          `json:"id"`
			Name      string          `json:"name"`
			Input     json.RawMessage `json:"input"`
			ToolUseID string          `json:"tool_use_id"`
			Content   json.RawMessage `json:"content"`
			IsError   bool            `json:"is_error"`
		}
		if err := json.Unmarshal(m.Content, &blocks); err != nil {
			return nil, fmt.Errorf("message content: %v", err)
		}
		cur := message{Role: m.Role}
		flush := func() {
			if len(cur.Text) > 0 || len(cur.Calls) > 0 {
				c.Messages = append(c.Messages, cur)
			}
			cur = message{Role: m.Role}
		}
		for _, bl := range blocks {
			switch bl.Type {
			case "text":
				cur.Text = append(cur.Text, bl.Text)
			case "image", "document":
				cur.Text = append(cur.Text, "[image]")
			case "tool_use", "server_tool_use":
				args := string(bl.Input)
				if args == "" {
					args = "{}"
				}
				cur.Calls = append(cur.Calls, toolCall{bl.ID, bl.Name, args})
			case "tool_result":
				flush()
				c.Messages = append(c.Messages, message{Role: "tool", CallID: bl.ToolUseID, Text: textOf(bl.Content), IsError: bl.IsError})
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
		Tools               []struct {
			Function struct {
				Name        string          `json:"name"`
				Description string          `json:"description"`
				Parameters  json.RawMessage `json:"parameters"`
			} `json:"function"`
		} `json:"tools"`
		Messages []struct {
			Role       string          `json:"role"`
			Content    json.RawMessage `json:"content"`
			ToolCallID string          `json:"tool_call_id"`
			ToolCalls  []struct {
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
	c := &conversation{Model: b.Model, MaxTokens: b.MaxTokens, Temperature: b.Temperature, TopP: b.TopP, Stop: stopList(b.Stop)}
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
			c.System = append(c.System, textOf(m.Content)...)
		case "tool":
			c.Messages = append(c.Messages, message{Role: "tool", CallID: m.ToolCallID, Text: textOf(m.Content)})
		default:
			msg := message{Role: m.Role, Text: textOf(m.Content)}
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
		Model           json.RawMessage `json:"model"`
		Instructions    json.RawMessage `json:"instructions"`
		MaxOutputTokens json.RawMessage `json:"max_output_tokens"`
		Temperature     json.RawMessage `json:"temperature"`
		TopP            json.RawMessage `json:"top_p"`
		Input           json.RawMessage `json:"input"`
		Tools           []struct {
			Type        string          `json:"type"`
			Name        string          `json:"name"`
			Description string          `json:"description"`
			Parameters  json.RawMessage `json:"parameters"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, err
	}
	c := &conversation{Model: b.Model, System: textOf(b.Instructions), MaxTokens: b.MaxOutputTokens, Temperature: b.Temperature, TopP: b.TopP}
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
		c.Messages = append(c.Messages, message{Role: "user", Text: []string{s}})
		return c, nil
	}
	var items []struct {
		Type      string          `json:"type"`
		Role      string          `json:"role"`
		Content   json.RawMessage `json:"content"`
		CallID    string          `json:"call_id"`
		Name      string          `json:"name"`
		Arguments string          `json:"arguments"`
		Input     string          `json:"input"`
		Output    json.RawMessage `json:"output"`
		Action    json.RawMessage `json:"action"`
	}
	if len(b.Input) > 0 {
		if err := json.Unmarshal(b.Input, &items); err != nil {
			return nil, fmt.Errorf("input: %v", err)
		}
	}
	for _, it := range items {
		switch it.Type {
		case "message", "":
			switch it.Role {
			case "system", "developer":
				c.System = append(c.System, textOf(it.Content)...)
			case "assistant":
				// Merge into a preceding assistant message with calls is
				// not needed: calls follow text in Responses order.
				c.Messages = append(c.Messages, message{Role: "assistant", Text: textOf(it.Content)})
			default:
				c.Messages = append(c.Messages, message{Role: "user", Text: textOf(it.Content)})
			}
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
			call := toolCall{it.CallID, it.Name, args}
			if n := len(c.Messages); n > 0 && c.Messages[n-1].Role == "assistant" {
				c.Messages[n-1].Calls = append(c.Messages[n-1].Calls, call)
			} else {
				c.Messages = append(c.Messages, message{Role: "assistant", Calls: []toolCall{call}})
			}
		case "function_call_output", "custom_tool_call_output", "local_shell_call_output":
			c.Messages = append(c.Messages, message{Role: "tool", CallID: it.CallID, Text: textOf(it.Output)})
		}
		// reasoning and other item types are dropped.
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
			b := map[string]any{"type": "tool_result", "tool_use_id": anthropicID(msg.CallID), "content": joinText(msg.Text)}
			if msg.IsError {
				b["is_error"] = true
			}
			blocks = append(blocks, b)
		default:
			for _, t := range msg.Text {
				if t != "" {
					blocks = append(blocks, map[string]any{"type": "text", "text": t})
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
	msgs := []map[string]any{}
	if len(c.System) > 0 {
		msgs = append(msgs, map[string]any{"role": "system", "content": strings.Join(c.System, "\n\n")})
	}
	for _, msg := range c.Messages {
		switch msg.Role {
		case "tool":
			msgs = append(msgs, map[string]any{"role": "tool", "tool_call_id": msg.CallID, "content": joinText(msg.Text)})
		case "assistant":
			e := map[string]any{"role": "assistant", "content": nil}
			if len(msg.Text) > 0 {
				e["content"] = joinText(msg.Text)
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
			msgs = append(msgs, map[string]any{"role": msg.Role, "content": joinText(msg.Text)})
		}
	}
	m["messages"] = msgs
	return m
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
	items := []map[string]any{}
	for _, msg := range c.Messages {
		switch msg.Role {
		case "tool":
			items = append(items, map[string]any{"type": "function_call_output", "call_id": msg.CallID, "output": joinText(msg.Text)})
		case "assistant":
			if len(msg.Text) > 0 {
				items = append(items, map[string]any{"type": "message", "role": "assistant",
					"content": []map[string]any{{"type": "output_text", "text": joinText(msg.Text)}}})
			}
			for _, call := range msg.Calls {
				items = append(items, map[string]any{"type": "function_call", "call_id": call.ID, "name": call.Name, "arguments": call.Args})
			}
		default:
			items = append(items, map[string]any{"type": "message", "role": "user",
				"content": []map[string]any{{"type": "input_text", "text": joinText(msg.Text)}}})
		}
	}
	m["input"] = items
	return m
}
