package convert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/agentperf/agentperf/schemas"
)

// chatRequest is a request body translated to OpenAI Chat Completions
// terms: messages and function tools in chat form, and the output cap.
type chatRequest struct {
	Messages []json.RawMessage
	Tools    []json.RawMessage
	// MaxTokens is the request's output cap; 0 when it set none.
	MaxTokens int
	// Translated is true when the body was not already an OpenAI chat
	// body.
	Translated bool
}

// errRawBody is returned for bodies of unknown shape.
var errRawBody = errors.New("a raw body of unknown API cannot be translated to chat messages")

// toChat translates a request body of the given API into chat messages.
// It is a best-effort translator for replay, not a proxy: content the chat
// API has no place for is dropped (Anthropic thinking blocks, Responses
// reasoning items, server-side tools), Anthropic tool_result blocks become
// "tool" messages placed before the rest of their user message, tool_use
// blocks and function_call items become assistant tool_calls, system
// prompts and instructions become a leading system message, developer
// messages become system messages. Messages come back as canonical JSON.
func toChat(api string, body []byte) (chatRequest, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return chatRequest{}, fmt.Errorf("request body is not a JSON object")
	}
	var c chatRequest
	c.MaxTokens = maxTokens(obj)
	var err error
	switch api {
	case schemas.APIOpenAIChat:
		err = c.fromChat(obj)
	case schemas.APIAnthropic:
		c.Translated = true
		err = c.fromAnthropic(obj)
	case schemas.APIOpenAIResponses:
		c.Translated = true
		err = c.fromResponses(obj)
	default:
		return chatRequest{}, errRawBody
	}
	if err != nil {
		return chatRequest{}, err
	}
	if len(c.Messages) == 0 {
		return chatRequest{}, errors.New("request has no messages")
	}
	return c, nil
}

// maxTokens reads the output cap under any API's name for it.
func maxTokens(obj map[string]json.RawMessage) int {
	for _, k := range []string{"max_tokens", "max_completion_tokens", "max_output_tokens"} {
		var n int
		if raw, ok := obj[k]; ok && json.Unmarshal(raw, &n) == nil && n > 0 {
			return n
		}
	}
	return 0
}

// canon marshals v to canonical JSON.
func canon(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage("null")
	}
	c, err := schemas.Canonical(b)
	if err != nil {
		return json.RawMessage("null")
	}
	return c
}

func (c *chatRequest) fromChat(obj map[string]json.RawMessage) error {
	if err := json.Unmarshal(obj["messages"], &c.Messages); err != nil {
		return fmt.Errorf("messages: %v", err)
	}
	for i, m := range c.Messages {
		cm, err := schemas.Canonical(m)
		if err != nil {
			return fmt.Errorf("messages[%d]: %v", i, err)
		}
		c.Messages[i] = cm
	}
	if raw, ok := obj["tools"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &c.Tools); err != nil {
			return fmt.Errorf("tools: %v", err)
		}
		for i, t := range c.Tools {
			ct, err := schemas.Canonical(t)
			if err != nil {
				return fmt.Errorf("tools[%d]: %v", i, err)
			}
			c.Tools[i] = ct
		}
	}
	return nil
}

// anthropicBlock is one content block of an Anthropic message.
type anthropicBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"`
	Source    *struct {
		Type      string `json:"type"`
		MediaType string `json:"media_type"`
		Data      string `json:"data"`
		URL       string `json:"url"`
	} `json:"source"`
}

// anthropicBlocks reads message content that is a string or a block list.
func anthropicBlocks(raw json.RawMessage) ([]anthropicBlock, error) {
	if s, ok := jsonString(raw); ok {
		return []anthropicBlock{{Type: "text", Text: s}}, nil
	}
	if isNull(raw) {
		return nil, nil
	}
	var blocks []anthropicBlock
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return nil, fmt.Errorf("content: %v", err)
	}
	return blocks, nil
}

// blockText joins the text of blocks (text blocks and nested tool-result
// text) with newlines.
func blockText(raw json.RawMessage) string {
	blocks, err := anthropicBlocks(raw)
	if err != nil {
		return string(raw)
	}
	var parts []string
	for _, b := range blocks {
		if b.Type == "text" {
			parts = append(parts, b.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// imagePart turns an Anthropic image block into a chat image_url part.
func imagePart(b anthropicBlock) (map[string]any, bool) {
	if b.Source == nil {
		return nil, false
	}
	url := b.Source.URL
	if b.Source.Type == "base64" {
		url = "data:" + b.Source.MediaType + ";base64," + b.Source.Data
	}
	if url == "" {
		return nil, false
	}
	return map[string]any{"type": "image_url", "image_url": map[string]any{"url": url}}, true
}

// userContent returns chat content from text and image parts: a plain
// string for a single text part, else the part list.
func userContent(parts []map[string]any) any {
	if len(parts) == 1 && parts[0]["type"] == "text" {
		return parts[0]["text"]
	}
	return parts
}

func (c *chatRequest) fromAnthropic(obj map[string]json.RawMessage) error {
	if raw, ok := obj["system"]; ok && !isNull(raw) {
		if s := blockText(raw); s != "" {
			c.Messages = append(c.Messages, canon(map[string]any{"role": "system", "content": s}))
		}
	}
	var msgs []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(obj["messages"], &msgs); err != nil {
		return fmt.Errorf("messages: %v", err)
	}
	for i, m := range msgs {
		blocks, err := anthropicBlocks(m.Content)
		if err != nil {
			return fmt.Errorf("messages[%d]: %v", i, err)
		}
		if m.Role == "assistant" {
			var text []string
			var calls []any
			for _, b := range blocks {
				switch b.Type {
				case "text":
					text = append(text, b.Text)
				case "tool_use":
					args := "{}"
					if !isNull(b.Input) {
						if ci, err := schemas.Canonical(b.Input); err == nil {
							args = string(ci)
						}
					}
					calls = append(calls, map[string]any{"id": b.ID, "type": "function",
						"function": map[string]any{"name": b.Name, "arguments": args}})
				}
			}
			msg := map[string]any{"role": "assistant"}
			if len(text) > 0 {
				msg["content"] = strings.Join(text, "\n")
			} else {
				msg["content"] = nil
			}
			if len(calls) > 0 {
				msg["tool_calls"] = calls
			}
			if len(text) > 0 || len(calls) > 0 {
				c.Messages = append(c.Messages, canon(msg))
			}
			continue
		}
		var parts []map[string]any
		for _, b := range blocks {
			switch b.Type {
			case "tool_result":
				c.Messages = append(c.Messages, canon(map[string]any{"role": "tool", "tool_call_id": b.ToolUseID, "content": blockText(b.Content)}))
			case "text":
				parts = append(parts, map[string]any{"type": "text", "text": b.Text})
			case "image":
				if p, ok := imagePart(b); ok {
					parts = append(parts, p)
				}
			case "document":
				if b.Source != nil && b.Source.Type == "text" {
					parts = append(parts, map[string]any{"type": "text", "text": b.Source.Data})
				}
			}
		}
		if len(parts) > 0 {
			c.Messages = append(c.Messages, canon(map[string]any{"role": "user", "content": userContent(parts)}))
		}
	}
	if raw, ok := obj["tools"]; ok && !isNull(raw) {
		var tools []struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			InputSchema json.RawMessage `json:"input_schema"`
		}
		if err := json.Unmarshal(raw, &tools); err != nil {
			return fmt.Errorf("tools: %v", err)
		}
		for _, t := range tools {
			if isNull(t.InputSchema) {
				continue // a server tool (web search, code execution…)
			}
			fn := map[string]any{"name": t.Name, "parameters": t.InputSchema}
			if t.Description != "" {
				fn["description"] = t.Description
			}
			c.Tools = append(c.Tools, canon(map[string]any{"type": "function", "function": fn}))
		}
	}
	return nil
}

// responsesItem is one item of a Responses API input list.
type responsesItem struct {
	Type      string          `json:"type"`
	Role      string          `json:"role"`
	Content   json.RawMessage `json:"content"`
	CallID    string          `json:"call_id"`
	Name      string          `json:"name"`
	Arguments string          `json:"arguments"`
	Input     json.RawMessage `json:"input"`
	Output    json.RawMessage `json:"output"`
	Action    json.RawMessage `json:"action"`
}

// responsesText joins the text parts of Responses content (a string or a
// part list; input_text, output_text, text, refusal).
func responsesText(raw json.RawMessage) string {
	if s, ok := jsonString(raw); ok {
		return s
	}
	var parts []struct {
		Type    string `json:"type"`
		Text    string `json:"text"`
		Refusal string `json:"refusal"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		if isNull(raw) {
			return ""
		}
		return string(raw)
	}
	var out []string
	for _, p := range parts {
		switch p.Type {
		case "input_text", "output_text", "text":
			out = append(out, p.Text)
		case "refusal":
			out = append(out, p.Refusal)
		}
	}
	return strings.Join(out, "\n")
}

// responsesParts reads user content as chat parts (text and images).
func responsesParts(raw json.RawMessage) []map[string]any {
	if s, ok := jsonString(raw); ok {
		return []map[string]any{{"type": "text", "text": s}}
	}
	var parts []struct {
		Type     string          `json:"type"`
		Text     string          `json:"text"`
		ImageURL json.RawMessage `json:"image_url"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		return nil
	}
	var out []map[string]any
	for _, p := range parts {
		switch p.Type {
		case "input_text", "output_text", "text":
			out = append(out, map[string]any{"type": "text", "text": p.Text})
		case "input_image":
			if url, ok := jsonString(p.ImageURL); ok && url != "" {
				out = append(out, map[string]any{"type": "image_url", "image_url": map[string]any{"url": url}})
			}
		}
	}
	return out
}

func (c *chatRequest) fromResponses(obj map[string]json.RawMessage) error {
	if s, ok := jsonString(obj["instructions"]); ok && s != "" {
		c.Messages = append(c.Messages, canon(map[string]any{"role": "system", "content": s}))
	}
	input := obj["input"]
	if s, ok := jsonString(input); ok {
		c.Messages = append(c.Messages, canon(map[string]any{"role": "user", "content": s}))
		input = nil
	}
	var items []responsesItem
	if !isNull(input) {
		if err := json.Unmarshal(input, &items); err != nil {
			return fmt.Errorf("input: %v", err)
		}
	}
	// pending collects an assistant turn (text and tool calls) until a
	// non-assistant item ends it.
	var pendText []string
	var pendCalls []any
	flush := func() {
		if len(pendText) == 0 && len(pendCalls) == 0 {
			return
		}
		msg := map[string]any{"role": "assistant", "content": nil}
		if len(pendText) > 0 {
			msg["content"] = strings.Join(pendText, "\n")
		}
		if len(pendCalls) > 0 {
			msg["tool_calls"] = pendCalls
		}
		c.Messages = append(c.Messages, canon(msg))
		pendText, pendCalls = nil, nil
	}
	call := func(id, name, args string) {
		pendCalls = append(pendCalls, map[string]any{"id": id, "type": "function",
			"function": map[string]any{"name": name, "arguments": args}})
	}
	toolOutput := func(it responsesItem) {
		flush()
		c.Messages = append(c.Messages, canon(map[string]any{"role": "tool", "tool_call_id": it.CallID, "content": responsesText(it.Output)}))
	}
	for _, it := range items {
		typ := it.Type
		if typ == "" && it.Role != "" {
			typ = "message"
		}
		switch typ {
		case "message":
			if it.Role == "assistant" {
				if t := responsesText(it.Content); t != "" {
					pendText = append(pendText, t)
				}
				continue
			}
			flush()
			role := it.Role
			if role == "developer" {
				role = "system"
			}
			if role == "system" {
				c.Messages = append(c.Messages, canon(map[string]any{"role": "system", "content": responsesText(it.Content)}))
				continue
			}
			if parts := responsesParts(it.Content); len(parts) > 0 {
				c.Messages = append(c.Messages, canon(map[string]any{"role": "user", "content": userContent(parts)}))
			}
		case "function_call":
			call(it.CallID, it.Name, it.Arguments)
		case "custom_tool_call":
			in, _ := jsonString(it.Input)
			call(it.CallID, it.Name, string(canon(map[string]any{"input": in})))
		case "local_shell_call":
			args := "{}"
			if ca, err := schemas.Canonical(it.Action); err == nil {
				args = string(ca)
			}
			call(it.CallID, "local_shell", args)
		case "function_call_output", "custom_tool_call_output", "local_shell_call_output":
			toolOutput(it)
		}
	}
	flush()
	if raw, ok := obj["tools"]; ok && !isNull(raw) {
		var tools []struct {
			Type        string          `json:"type"`
			Name        string          `json:"name"`
			Description string          `json:"description"`
			Parameters  json.RawMessage `json:"parameters"`
		}
		if err := json.Unmarshal(raw, &tools); err != nil {
			return fmt.Errorf("tools: %v", err)
		}
		for _, t := range tools {
			if t.Type != "function" {
				continue
			}
			fn := map[string]any{"name": t.Name}
			if !isNull(t.Parameters) {
				fn["parameters"] = t.Parameters
			}
			if t.Description != "" {
				fn["description"] = t.Description
			}
			c.Tools = append(c.Tools, canon(map[string]any{"type": "function", "function": fn}))
		}
	}
	return nil
}

// chatMessageRole returns the role of a chat message, "" when unreadable.
func chatMessageRole(msg []byte) string {
	var m struct {
		Role string `json:"role"`
	}
	if !bytes.Contains(msg, []byte(`"role"`)) || json.Unmarshal(msg, &m) != nil {
		return ""
	}
	return m.Role
}
