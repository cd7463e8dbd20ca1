package sim

import "strconv"

// chatEncoder renders OpenAI Chat Completions responses.
type chatEncoder struct {
	o            *genOutput
	includeUsage bool
	head         string // `data: {"id":…,"choices":[{"index":0,"delta":`
	tokPre       string
	tokPost      string
}

func newChatEncoder(o *genOutput, includeUsage bool) *chatEncoder {
	e := &chatEncoder{o: o, includeUsage: includeUsage}
	e.head = `data: {"id":"chatcmpl-` + o.id + `","object":"chat.completion.chunk","created":` +
		itoa(o.created) + `,"model":` + jsonString(o.model) + `,"system_fingerprint":null,"choices":[`
	if o.tool {
		e.tokPre = e.head + `{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"`
		e.tokPost = `"}}]},"logprobs":null,"finish_reason":null}]}` + "\n\n"
	} else {
		e.tokPre = e.head + `{"index":0,"delta":{"content":"`
		e.tokPost = `"},"logprobs":null,"finish_reason":null}]}` + "\n\n"
	}
	return e
}

func (e *chatEncoder) contentType() string { return "text/event-stream" }

func (e *chatEncoder) start(b []byte, cached int) []byte {
	b = append(b, e.head...)
	if e.o.tool {
		b = append(b, `{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"`...)
		b = append(b, e.o.callID...)
		b = append(b, `","type":"function","function":{"name":`...)
		b = append(b, jsonString(e.o.toolName)...)
		b = append(b, `,"arguments":""}}]},"logprobs":null,"finish_reason":null}]}`+"\n\n"...)
	} else {
		b = append(b, `{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`+"\n\n"...)
	}
	return b
}

func (e *chatEncoder) token(b []byte, i int) []byte {
	b = append(b, e.tokPre...)
	b = append(b, e.o.piece(i)...)
	return append(b, e.tokPost...)
}

func (e *chatEncoder) tokens(b []byte, from, to int) []byte {
	b = append(b, e.tokPre...)
	b = append(b, e.o.pieces(from, to)...)
	return append(b, e.tokPost...)
}

func (e *chatEncoder) finishReason(c completion) string {
	switch {
	case c.truncated:
		return "length"
	case e.o.tool:
		return "tool_calls"
	}
	return "stop"
}

func (e *chatEncoder) end(b []byte, c completion) []byte {
	return appendOpenAIEnd(b, e.head, `{"index":0,"delta":{},"logprobs":null,"finish_reason":"`, e.finishReason(c), e.includeUsage, c)
}

func (e *chatEncoder) fail(b []byte, msg string) []byte { return appendOpenAIFail(b, msg) }

// appendOpenAIEnd appends the end of an OpenAI stream (Chat Completions
// or Completions): the last chunk, opening with head and choice and
// closing the finish reason, the usage chunk when asked for, and [DONE].
func appendOpenAIEnd(b []byte, head, choice, finish string, includeUsage bool, c completion) []byte {
	b = append(b, head...)
	b = append(b, choice...)
	b = append(b, finish...)
	b = append(b, `"}]}`+"\n\n"...)
	if includeUsage {
		b = append(b, head...)
		b = append(b, `],"usage":`...)
		b = appendChatUsage(b, c)
		b = append(b, "}\n\n"...)
	}
	return append(b, "data: [DONE]\n\n"...)
}

// appendOpenAIFail appends an error event and [DONE] to an OpenAI stream.
func appendOpenAIFail(b []byte, msg string) []byte {
	b = append(b, `data: {"error":{"message":`...)
	b = append(b, jsonString(msg)...)
	b = append(b, `,"type":"server_error","param":null,"code":"service_unavailable"}}`+"\n\n"...)
	return append(b, "data: [DONE]\n\n"...)
}

type chatUsageJSON struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	TotalTokens         int `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

// appendChatUsage appends chatUsage(c) as encoding/json writes it, without
// encoding/json (a stream's last event carries it).
func appendChatUsage(b []byte, c completion) []byte {
	b = append(b, `{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(c.prompt), 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, int64(c.output), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(c.prompt+c.output), 10)
	b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
	b = strconv.AppendInt(b, int64(c.cached), 10)
	return append(b, `},"completion_tokens_details":{"reasoning_tokens":0}}`...)
}

func chatUsage(c completion) chatUsageJSON {
	u := chatUsageJSON{PromptTokens: c.prompt, CompletionTokens: c.output, TotalTokens: c.prompt + c.output}
	u.PromptTokensDetails.CachedTokens = c.cached
	return u
}

func (e *chatEncoder) body(c completion) any {
	type fn struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	}
	type toolCall struct {
		ID       string `json:"id"`
		Type     string `json:"type"`
		Function fn     `json:"function"`
	}
	type message struct {
		Role      string     `json:"role"`
		Content   *string    `json:"content"`
		Refusal   *string    `json:"refusal"`
		ToolCalls []toolCall `json:"tool_calls,omitempty"`
	}
	type choice struct {
		Index        int     `json:"index"`
		Message      message `json:"message"`
		Logprobs     *int    `json:"logprobs"`
		FinishReason string  `json:"finish_reason"`
	}
	msg := message{Role: "assistant"}
	text := e.o.fullText()
	if e.o.tool {
		msg.ToolCalls = []toolCall{{ID: e.o.callID, Type: "function", Function: fn{Name: e.o.toolName, Arguments: text}}}
	} else {
		msg.Content = &text
	}
	return struct {
		ID                string        `json:"id"`
		Object            string        `json:"object"`
		Created           int64         `json:"created"`
		Model             string        `json:"model"`
		SystemFingerprint *string       `json:"system_fingerprint"`
		Choices           []choice      `json:"choices"`
		Usage             chatUsageJSON `json:"usage"`
	}{
		ID: "chatcmpl-" + e.o.id, Object: "chat.completion", Created: e.o.created, Model: e.o.model,
		Choices: []choice{{Message: msg, FinishReason: e.finishReason(c)}},
		Usage:   chatUsage(c),
	}
}
