package convert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/translate"
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

// toChat translates a request body of the given API into chat messages,
// through translate.Translate for Anthropic and Responses bodies: content
// the chat API has no place for is dropped (thinking and reasoning,
// server-side tools); images become image_url parts. Messages and
// tools come back as canonical JSON.
func toChat(api string, body []byte) (chatRequest, error) {
	var c chatRequest
	switch api {
	case schemas.APIOpenAIChat:
	case schemas.APIAnthropic, schemas.APIOpenAIResponses:
		tr, err := translate.Translate(body, api, schemas.APIOpenAIChat)
		if err != nil {
			return chatRequest{}, err
		}
		body, c.Translated = tr, true
	default:
		return chatRequest{}, errRawBody
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return chatRequest{}, fmt.Errorf("request body is not a JSON object")
	}
	c.MaxTokens = maxTokens(obj)
	if err := c.fromChat(obj); err != nil {
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
