package sim

// responsesEncoder renders OpenAI Responses API responses. Every streamed
// event carries a sequence_number, so the encoder counts them.
type responsesEncoder struct {
	o       *genOutput
	seq     int
	itemID  string
	tokPre  string // up to and including `"sequence_number":`
	tokMid  string // from after the number to the delta's opening quote
	tokPost string
}

func newResponsesEncoder(o *genOutput) *responsesEncoder {
	e := &responsesEncoder{o: o}
	if o.tool {
		e.itemID = "fc_" + o.id
		e.tokPre = "event: response.function_call_arguments.delta\ndata: {\"type\":\"response.function_call_arguments.delta\",\"sequence_number\":"
		e.tokMid = `,"item_id":"` + e.itemID + `","output_index":0,"delta":"`
		e.tokPost = "\"}\n\n"
	} else {
		e.itemID = "msg_" + o.id
		e.tokPre = "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":"
		e.tokMid = `,"item_id":"` + e.itemID + `","output_index":0,"content_index":0,"delta":"`
		e.tokPost = "\",\"logprobs\":[]}\n\n"
	}
	return e
}

func (e *responsesEncoder) contentType() string { return "text/event-stream; charset=utf-8" }

func (e *responsesEncoder) event(b []byte, typ string, fields map[string]any) []byte {
	fields["type"] = typ
	fields["sequence_number"] = e.seq
	e.seq++
	b = append(b, "event: "...)
	b = append(b, typ...)
	b = append(b, "\ndata: "...)
	b = appendJSON(b, fields)
	return append(b, "\n\n"...)
}

type responsesUsage struct {
	InputTokens        int `json:"input_tokens"`
	InputTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	OutputTokens        int `json:"output_tokens"`
	OutputTokensDetails struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
	TotalTokens int `json:"total_tokens"`
}

// item is the output item, in progress (text empty) or done.
func (e *responsesEncoder) item(done bool) map[string]any {
	status := "in_progress"
	text := ""
	if done {
		status = "completed"
		text = e.o.fullText()
	}
	if e.o.tool {
		return map[string]any{"id": e.itemID, "type": "function_call", "status": status,
			"call_id": e.o.callID, "name": e.o.toolName, "arguments": text}
	}
	content := []any{}
	if done {
		content = append(content, map[string]any{"type": "output_text", "text": text, "annotations": []any{}, "logprobs": []any{}})
	}
	return map[string]any{"id": e.itemID, "type": "message", "status": status, "role": "assistant", "content": content}
}

// response is the Response object; c is nil while in progress.
func (e *responsesEncoder) response(c *completion) map[string]any {
	r := map[string]any{
		"id": "resp_" + e.o.id, "object": "response", "created_at": e.o.created, "model": e.o.model,
		"status": "in_progress", "output": []any{}, "usage": nil, "error": nil, "incomplete_details": nil,
		"instructions": nil, "metadata": map[string]any{}, "parallel_tool_calls": true, "temperature": 1.0,
		"tool_choice": "auto", "tools": []any{}, "top_p": 1.0, "text": map[string]any{"format": map[string]any{"type": "text"}},
	}
	if c != nil {
		r["status"] = "completed"
		if c.truncated {
			r["status"] = "incomplete"
			r["incomplete_details"] = map[string]any{"reason": "max_output_tokens"}
		}
		r["output"] = []any{e.item(true)}
		var u responsesUsage
		u.InputTokens, u.OutputTokens, u.TotalTokens = c.prompt, c.output, c.prompt+c.output
		u.InputTokensDetails.CachedTokens = c.cached
		r["usage"] = u
	}
	return r
}

func (e *responsesEncoder) start(b []byte, cached int) []byte {
	b = e.event(b, "response.created", map[string]any{"response": e.response(nil)})
	b = e.event(b, "response.in_progress", map[string]any{"response": e.response(nil)})
	b = e.event(b, "response.output_item.added", map[string]any{"output_index": 0, "item": e.item(false)})
	if !e.o.tool {
		b = e.event(b, "response.content_part.added", map[string]any{"item_id": e.itemID, "output_index": 0,
			"content_index": 0, "part": map[string]any{"type": "output_text", "text": "", "annotations": []any{}}})
	}
	return b
}

func (e *responsesEncoder) token(b []byte, i int) []byte {
	b = append(b, e.tokPre...)
	b = appendInt(b, e.seq)
	e.seq++
	b = append(b, e.tokMid...)
	b = append(b, e.o.piece(i)...)
	return append(b, e.tokPost...)
}

func (e *responsesEncoder) tokens(b []byte, from, to int) []byte {
	b = append(b, e.tokPre...)
	b = appendInt(b, e.seq)
	e.seq++
	b = append(b, e.tokMid...)
	b = append(b, e.o.pieces(from, to)...)
	return append(b, e.tokPost...)
}

func (e *responsesEncoder) end(b []byte, c completion) []byte {
	text := e.o.fullText()
	if e.o.tool {
		b = e.event(b, "response.function_call_arguments.done", map[string]any{"item_id": e.itemID,
			"output_index": 0, "arguments": text, "name": e.o.toolName})
	} else {
		b = e.event(b, "response.output_text.done", map[string]any{"item_id": e.itemID, "output_index": 0,
			"content_index": 0, "text": text, "logprobs": []any{}})
		b = e.event(b, "response.content_part.done", map[string]any{"item_id": e.itemID, "output_index": 0,
			"content_index": 0, "part": map[string]any{"type": "output_text", "text": text, "annotations": []any{}}})
	}
	b = e.event(b, "response.output_item.done", map[string]any{"output_index": 0, "item": e.item(true)})
	final := "response.completed"
	if c.truncated {
		final = "response.incomplete"
	}
	return e.event(b, final, map[string]any{"response": e.response(&c)})
}

func (e *responsesEncoder) fail(b []byte, msg string) []byte {
	return e.event(b, "error", map[string]any{"code": "server_error", "message": msg, "param": nil})
}

func (e *responsesEncoder) body(c completion) any { return e.response(&c) }
