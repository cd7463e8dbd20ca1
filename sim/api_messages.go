package sim

import "encoding/json"

// messagesEncoder renders Anthropic Messages responses.
type messagesEncoder struct {
	o       *genOutput
	tokPre  string
	tokPost string
}

func newMessagesEncoder(o *genOutput) *messagesEncoder {
	e := &messagesEncoder{o: o}
	if o.tool {
		e.tokPre = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\""
	} else {
		e.tokPre = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\""
	}
	e.tokPost = "\"}}\n\n"
	return e
}

func (e *messagesEncoder) contentType() string { return "text/event-stream; charset=utf-8" }

type anthropicUsage struct {
	InputTokens              int `json:"input_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
	OutputTokens             int `json:"output_tokens"`
}

// usage follows Anthropic's convention: input_tokens excludes cache reads.
func (e *messagesEncoder) usage(prompt, cached, output int) anthropicUsage {
	return anthropicUsage{InputTokens: prompt - cached, CacheReadInputTokens: cached, OutputTokens: output}
}

func (e *messagesEncoder) start(b []byte, cached int) []byte {
	msg := map[string]any{
		"id": "msg_" + e.o.id, "type": "message", "role": "assistant", "model": e.o.model,
		"content": []any{}, "stop_reason": nil, "stop_sequence": nil,
		"usage": e.usage(e.o.prompt, cached, 1),
	}
	b = append(b, "event: message_start\ndata: "...)
	b = appendJSON(b, map[string]any{"type": "message_start", "message": msg})
	b = append(b, "\n\nevent: content_block_start\ndata: "...)
	var block any
	if e.o.tool {
		block = map[string]any{"type": "tool_use", "id": e.o.callID, "name": e.o.toolName, "input": map[string]any{}}
	} else {
		block = map[string]any{"type": "text", "text": ""}
	}
	b = appendJSON(b, map[string]any{"type": "content_block_start", "index": 0, "content_block": block})
	return append(b, "\n\nevent: ping\ndata: {\"type\": \"ping\"}\n\n"...)
}

func (e *messagesEncoder) token(b []byte, i int) []byte {
	b = append(b, e.tokPre...)
	b = append(b, e.o.piece(i)...)
	return append(b, e.tokPost...)
}

func (e *messagesEncoder) tokens(b []byte, from, to int) []byte {
	b = append(b, e.tokPre...)
	b = append(b, e.o.pieces(from, to)...)
	return append(b, e.tokPost...)
}

func (e *messagesEncoder) stopReason(c completion) string {
	switch {
	case c.truncated:
		return "max_tokens"
	case e.o.tool:
		return "tool_use"
	}
	return "end_turn"
}

func (e *messagesEncoder) end(b []byte, c completion) []byte {
	b = append(b, "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\nevent: message_delta\ndata: "...)
	b = appendJSON(b, map[string]any{
		"type":  "message_delta",
		"delta": map[string]any{"stop_reason": e.stopReason(c), "stop_sequence": nil},
		"usage": e.usage(c.prompt, c.cached, c.output),
	})
	return append(b, "\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"...)
}

func (e *messagesEncoder) fail(b []byte, msg string) []byte {
	b = append(b, "event: error\ndata: "...)
	b = appendJSON(b, map[string]any{"type": "error", "error": map[string]string{"type": "overloaded_error", "message": msg}})
	return append(b, "\n\n"...)
}

func (e *messagesEncoder) body(c completion) any {
	var block any
	if e.o.tool {
		block = map[string]any{"type": "tool_use", "id": e.o.callID, "name": e.o.toolName,
			"input": json.RawMessage(e.o.fullText())}
	} else {
		block = map[string]any{"type": "text", "text": e.o.fullText()}
	}
	return map[string]any{
		"id": "msg_" + e.o.id, "type": "message", "role": "assistant", "model": e.o.model,
		"content": []any{block}, "stop_reason": e.stopReason(c), "stop_sequence": nil,
		"usage": e.usage(c.prompt, c.cached, c.output),
	}
}
