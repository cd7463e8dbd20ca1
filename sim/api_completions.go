package sim

// completionsEncoder renders legacy OpenAI Completions responses.
type completionsEncoder struct {
	o            *genOutput
	includeUsage bool
	head         string
	tokPre       string
	tokPost      string
}

func newCompletionsEncoder(o *genOutput, includeUsage bool) *completionsEncoder {
	e := &completionsEncoder{o: o, includeUsage: includeUsage}
	e.head = `data: {"id":"cmpl-` + o.id + `","object":"text_completion","created":` + itoa(o.created) +
		`,"model":` + jsonString(o.model) + `,"choices":[`
	e.tokPre = e.head + `{"index":0,"text":"`
	e.tokPost = `","logprobs":null,"finish_reason":null}]}` + "\n\n"
	return e
}

func (e *completionsEncoder) contentType() string { return "text/event-stream" }

func (e *completionsEncoder) start(b []byte, cached int) []byte { return b }

func (e *completionsEncoder) token(b []byte, i int) []byte {
	b = append(b, e.tokPre...)
	b = append(b, e.o.piece(i)...)
	return append(b, e.tokPost...)
}

func (e *completionsEncoder) tokens(b []byte, from, to int) []byte {
	b = append(b, e.tokPre...)
	b = append(b, e.o.pieces(from, to)...)
	return append(b, e.tokPost...)
}

func (e *completionsEncoder) finishReason(c completion) string {
	if c.truncated {
		return "length"
	}
	return "stop"
}

func (e *completionsEncoder) end(b []byte, c completion) []byte {
	return appendOpenAIEnd(b, e.head, `{"index":0,"text":"","logprobs":null,"finish_reason":"`, e.finishReason(c), e.includeUsage, c)
}

func (e *completionsEncoder) fail(b []byte, msg string) []byte { return appendOpenAIFail(b, msg) }

func (e *completionsEncoder) body(c completion) any {
	type choice struct {
		Index        int    `json:"index"`
		Text         string `json:"text"`
		Logprobs     *int   `json:"logprobs"`
		FinishReason string `json:"finish_reason"`
	}
	return struct {
		ID      string        `json:"id"`
		Object  string        `json:"object"`
		Created int64         `json:"created"`
		Model   string        `json:"model"`
		Choices []choice      `json:"choices"`
		Usage   chatUsageJSON `json:"usage"`
	}{"cmpl-" + e.o.id, "text_completion", e.o.created, e.o.model,
		[]choice{{Text: e.o.fullText(), FinishReason: e.finishReason(c)}}, chatUsage(c)}
}
