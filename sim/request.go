package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
)

// apiKind names the wire API of a request.
type apiKind uint8

const (
	apiChat apiKind = iota
	apiResponses
	apiMessages
	apiCompletions
)

func (a apiKind) String() string {
	switch a {
	case apiChat:
		return "chat"
	case apiResponses:
		return "responses"
	case apiCompletions:
		return "completions"
	default:
		return "messages"
	}
}

// toolMode is what a request's tool_choice allows.
type toolMode uint8

const (
	toolsAuto toolMode = iota
	toolsNone
	toolsForced
)

// genRequest is a generation request decoded from any of the three APIs.
type genRequest struct {
	api          apiKind
	model        string
	stream       bool
	includeUsage bool // chat: stream_options.include_usage
	maxTokens    int  // 0 = not given
	ignoreEOS    bool
	minTokens    int
	tools        int // tools offered
	toolMode     toolMode
	toolName     string // the tool a call names: the forced one or the first offered
	cacheSalt    string
	prompt       prompt
}

// apiError is a request failure rendered in the API's own error shape.
type apiError struct {
	status  int
	typ     string // OpenAI error type / Anthropic error type
	message string
	param   string
	code    string
}

func (e *apiError) Error() string { return e.message }

func badRequest(param, format string, a ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "invalid_request_error", param: param, message: fmt.Sprintf(format, a...)}
}

// decodeField unmarshals a top-level member into v, naming the field in
// the error.
func decodeField(name string, raw []byte, v any, want string) *apiError {
	if err := json.Unmarshal(raw, v); err != nil {
		return badRequest(name, "%s: expected %s, got %s", name, want, abbreviate(raw))
	}
	return nil
}

func abbreviate(raw []byte) string {
	if len(raw) > 40 {
		return string(raw[:37]) + "..."
	}
	return string(raw)
}

func positiveInt(name string, raw []byte, dst *int) *apiError {
	if isNull(raw) {
		return nil
	}
	var n int
	if err := decodeField(name, raw, &n, "an integer"); err != nil {
		return err
	}
	if n < 1 {
		return badRequest(name, "%s must be at least 1, got %d", name, n)
	}
	*dst = n
	return nil
}

func isNull(raw []byte) bool { return string(raw) == "null" }

func decodeBool(name string, raw []byte, dst *bool) *apiError {
	if isNull(raw) {
		return nil
	}
	return decodeField(name, raw, dst, "a boolean")
}

func decodeString(name string, raw []byte, dst *string) *apiError {
	if isNull(raw) {
		return nil
	}
	return decodeField(name, raw, dst, "a string")
}

// parseBody walks the top level of body, collecting members into fields
// (by name); unknown members are validated and ignored.
func parseBody(body []byte, fields map[string]*[]byte) *apiError {
	return parseBodyLazy(body, "", nil, fields)
}

// parseBodyLazy is parseBody with member lazy, when it is an array,
// delimited by split without validating it (objectMembersLazy).
func parseBodyLazy(body []byte, lazy string, split func([]byte, int) (int, bool), fields map[string]*[]byte) *apiError {
	err := objectMembersLazy(body, lazy, split, func(key, val []byte) error {
		if p, ok := fields[string(key)]; ok {
			*p = val
		}
		return nil
	})
	if err != nil {
		return badRequest("", "%v", err)
	}
	return nil
}

// Minimal shapes decoded from new (uncached) content to validate it.
type roleItem struct {
	Role string                 `json:"role"`
	Type string                 `json:"type"`
	Name string                 `json:"name"`
	Func *struct{ Name string } `json:"function"`
}

func decodeItem(raw []byte) (roleItem, error) {
	if it, ok := decodeItemPlain(raw); ok {
		return it, nil
	}
	var it roleItem
	err := json.Unmarshal(raw, &it)
	return it, err
}

// decodeItemPlain is decodeItem for a plain item, without encoding/json:
// a valid JSON object whose keys are ASCII without escapes, whose role,
// type and name members (matched as encoding/json matches them, ignoring
// case) are strings without escapes or non-ASCII bytes, or null, and which
// has no function member other than null. ok is false for any other
// value, which decodeItem leaves to encoding/json.
func decodeItemPlain(raw []byte) (it roleItem, ok bool) {
	plain := true
	err := objectMembers(raw, func(key, val []byte) error {
		for _, c := range key {
			if c == '\\' || c >= 0x80 {
				plain = false
				return errNotObject
			}
		}
		var dst *string
		switch {
		case bytes.EqualFold(key, []byte("role")):
			dst = &it.Role
		case bytes.EqualFold(key, []byte("type")):
			dst = &it.Type
		case bytes.EqualFold(key, []byte("name")):
			dst = &it.Name
		case bytes.EqualFold(key, []byte("function")):
			if !isNull(val) {
				plain = false
				return errNotObject
			}
			return nil
		default:
			return nil
		}
		if isNull(val) {
			return nil
		}
		if val[0] != '"' {
			plain = false
			return errNotObject
		}
		for _, c := range val[1 : len(val)-1] {
			if c == '\\' || c >= 0x80 {
				plain = false
				return errNotObject
			}
		}
		*dst = string(val[1 : len(val)-1])
		return nil
	})
	return it, plain && err == nil
}

// commonExtensions reads the vLLM/SGLang output-length extensions and the
// cache salt.
func (g *genRequest) commonExtensions(ignoreEOS, minTokens, salt []byte) *apiError {
	if ignoreEOS != nil {
		if err := decodeBool("ignore_eos", ignoreEOS, &g.ignoreEOS); err != nil {
			return err
		}
	}
	if minTokens != nil && !isNull(minTokens) {
		if err := decodeField("min_tokens", minTokens, &g.minTokens, "an integer"); err != nil {
			return err
		}
		if g.minTokens < 0 {
			return badRequest("min_tokens", "min_tokens must not be negative")
		}
	}
	if salt != nil {
		if err := decodeString("cache_salt", salt, &g.cacheSalt); err != nil {
			return err
		}
	}
	return nil
}

// decodeOpenAIStream decodes the fields Chat Completions and Completions
// share: the required model, stream and stream_options.include_usage.
func (g *genRequest) decodeOpenAIStream(model, stream, streamOpts []byte) *apiError {
	if model == nil {
		return badRequest("model", "model: field required")
	}
	if err := decodeString("model", model, &g.model); err != nil {
		return err
	}
	if stream != nil {
		if err := decodeBool("stream", stream, &g.stream); err != nil {
			return err
		}
	}
	if streamOpts != nil && !isNull(streamOpts) {
		var so struct {
			IncludeUsage bool `json:"include_usage"`
		}
		if err := decodeField("stream_options", streamOpts, &so, "an object"); err != nil {
			return err
		}
		g.includeUsage = so.IncludeUsage
	}
	return nil
}

// parseChat decodes an OpenAI Chat Completions request. It first parses
// the body lazily, validating only the messages the count cache does not
// hold (a conversation resends its history with every turn), and parses
// it again validating all of it when the lazy parse refuses it, so the
// body's answer (its request or its refusal, with the refusal's message)
// is always that of the full parse.
func parseChat(body []byte, cc *countCache, keep bool) (*genRequest, *apiError) {
	if g, err := parseChatLazy(body, cc, keep, true); err == nil {
		return g, nil
	}
	return parseChatLazy(body, cc, keep, false)
}

// parseChatLazy is parseChat's parse, lazy when lazy is set: the messages
// array is delimited without validating it, and each message is validated
// only when it is counted (prompt.addLazy); any refusal then only says
// the full parse must answer.
func parseChatLazy(body []byte, cc *countCache, keep, lazy bool) (*genRequest, *apiError) {
	var model, messages, tools, stream, streamOpts, maxTok, maxCompl, ignoreEOS, minTok, toolChoice, n, salt []byte
	lazyKey := ""
	var elems [][]byte
	// The messages' history (an editable parse on a Virtual): the one
	// their bytes start with (reused), and the key to keep them by.
	var reused *history
	var histKey uint64
	keepHistory := false
	arrayAt := 0
	split := func(b []byte, i int) (end int, ok bool) {
		arrayAt = i
		if hs := cc.histories; hs != nil && keep {
			reused, histKey, keepHistory = hs.match(b, i)
			if reused != nil {
				elems = slices.Grow(elems, len(reused.starts)+8)
				for k := range reused.starts {
					elems = append(elems, b[i+int(reused.starts[k]):i+int(reused.ends[k])])
				}
				elems, end, ok = splitLazyAfter(b, i+len(reused.msgs), elems)
				return end, ok
			}
		}
		elems, end, ok = splitLazy(b, i, elems)
		return end, ok
	}
	if lazy {
		lazyKey = "messages"
		elems = make([][]byte, 0, 64)
	}
	if err := parseBodyLazy(body, lazyKey, split, map[string]*[]byte{
		"model": &model, "messages": &messages, "tools": &tools, "stream": &stream,
		"stream_options": &streamOpts, "max_tokens": &maxTok, "max_completion_tokens": &maxCompl,
		"ignore_eos": &ignoreEOS, "min_tokens": &minTok, "tool_choice": &toolChoice, "n": &n, "cache_salt": &salt,
	}); err != nil {
		return nil, err
	}
	g := &genRequest{api: apiChat}
	g.prompt.keep = keep
	if err := g.decodeOpenAIStream(model, stream, streamOpts); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		raw  []byte
	}{{"max_tokens", maxTok}, {"max_completion_tokens", maxCompl}} {
		if f.raw != nil {
			if err := positiveInt(f.name, f.raw, &g.maxTokens); err != nil {
				return nil, err
			}
		}
	}
	if n != nil && !isNull(n) {
		var k int
		if err := decodeField("n", n, &k, "an integer"); err != nil {
			return nil, err
		}
		if k != 1 {
			return nil, badRequest("n", "n=%d: the simulator generates one choice per request", k)
		}
	}
	if err := g.commonExtensions(ignoreEOS, minTok, salt); err != nil {
		return nil, err
	}
	if err := g.openAITools(tools, toolChoice, true); err != nil {
		return nil, err
	}
	if tools != nil && !isNull(tools) {
		elems, _ := arrayElements(tools)
		for _, t := range elems {
			if err := g.prompt.add(cc, segTools, t, 0, freshChatTool); err != nil {
				return nil, badRequest("tools", "tools: %v", err)
			}
		}
	}
	if messages == nil {
		return nil, badRequest("messages", "messages: field required")
	}
	add := g.prompt.add
	ok := true
	if lazy && len(messages) > 0 && messages[0] == '[' {
		add = g.prompt.addLazy // elems holds the messages
	} else {
		elems, ok = arrayElements(messages)
	}
	if !ok {
		return nil, badRequest("messages", "messages: expected an array")
	}
	if len(elems) == 0 {
		return nil, badRequest("messages", "messages: must contain at least one message")
	}
	g.prompt.grow(len(elems) + 1) // and the reply priming
	first := len(g.prompt.parsed)
	for i, m := range elems {
		if reused != nil && i < len(reused.segs) {
			g.prompt.addParsed(reused.segs[i])
			continue
		}
		if err := add(cc, segMessage, m, TokensPerMessage, freshChatMessage); err != nil {
			return nil, badRequest(fmt.Sprintf("messages[%d]", i), "messages[%d]: %v", i, err)
		}
	}
	if keepHistory {
		cc.histories.add(histKey, body, arrayAt, elems, g.prompt.parsed[first:], reused)
	}
	return g, nil
}

func freshChatMessage(raw []byte) error {
	it, err := decodeItem(raw)
	if err != nil {
		return fmt.Errorf("expected a message object")
	}
	switch it.Role {
	case "system", "developer", "user", "assistant", "tool", "function":
		return nil
	case "":
		return fmt.Errorf("role: field required")
	}
	return fmt.Errorf("unknown role %q", it.Role)
}

func freshChatTool(raw []byte) error {
	it, err := decodeItem(raw)
	if err != nil {
		return fmt.Errorf("expected a tool object")
	}
	if it.Type != "function" && it.Type != "custom" {
		return fmt.Errorf("unsupported tool type %q", it.Type)
	}
	if it.Type == "function" && (it.Func == nil || it.Func.Name == "") {
		return fmt.Errorf("function.name: field required")
	}
	return nil
}

// openAITools reads tools and tool_choice of the OpenAI APIs (chat nests
// the function name under "function", Responses does not).
func (g *genRequest) openAITools(tools, choice []byte, chat bool) *apiError {
	if tools != nil && !isNull(tools) {
		elems, ok := arrayElements(tools)
		if !ok {
			return badRequest("tools", "tools: expected an array")
		}
		g.tools = len(elems)
		if len(elems) > 0 {
			if it, err := decodeItem(elems[0]); err == nil {
				g.toolName = it.Name
				if it.Func != nil && it.Func.Name != "" {
					g.toolName = it.Func.Name
				}
			}
		}
	}
	if choice == nil || isNull(choice) {
		return nil
	}
	var s string
	if json.Unmarshal(choice, &s) == nil {
		switch s {
		case "none":
			g.toolMode = toolsNone
		case "auto":
			g.toolMode = toolsAuto
		case "required":
			g.toolMode = toolsForced
		default:
			return badRequest("tool_choice", "tool_choice %q: expected none, auto, required or a named tool", s)
		}
	} else {
		it, err := decodeItem(choice)
		if err != nil {
			return badRequest("tool_choice", "tool_choice: expected a string or an object")
		}
		name := it.Name
		if it.Func != nil {
			name = it.Func.Name
		}
		if name == "" {
			if it.Type == "allowed_tools" {
				return nil
			}
			return badRequest("tool_choice", "tool_choice: a named tool needs its name")
		}
		g.toolMode, g.toolName = toolsForced, name
	}
	if g.toolMode != toolsNone && g.tools == 0 && g.toolMode == toolsForced {
		return badRequest("tool_choice", "tool_choice requires tools")
	}
	return nil
}

// parseResponses decodes an OpenAI Responses request.
func parseResponses(body []byte, cc *countCache, keep bool) (*genRequest, *apiError) {
	var model, input, instructions, tools, stream, maxOut, ignoreEOS, minTok, toolChoice, prev, salt []byte
	if err := parseBody(body, map[string]*[]byte{
		"model": &model, "input": &input, "instructions": &instructions, "tools": &tools,
		"stream": &stream, "max_output_tokens": &maxOut, "ignore_eos": &ignoreEOS, "min_tokens": &minTok,
		"tool_choice": &toolChoice, "previous_response_id": &prev, "cache_salt": &salt,
	}); err != nil {
		return nil, err
	}
	g := &genRequest{api: apiResponses, includeUsage: true}
	g.prompt.keep = keep
	if model == nil {
		return nil, badRequest("model", "model: field required")
	}
	if err := decodeString("model", model, &g.model); err != nil {
		return nil, err
	}
	if stream != nil {
		if err := decodeBool("stream", stream, &g.stream); err != nil {
			return nil, err
		}
	}
	if maxOut != nil {
		if err := positiveInt("max_output_tokens", maxOut, &g.maxTokens); err != nil {
			return nil, err
		}
	}
	if prev != nil && !isNull(prev) {
		return nil, badRequest("previous_response_id", "previous_response_id: the simulator stores no responses; send the full input (store: false)")
	}
	if err := g.commonExtensions(ignoreEOS, minTok, salt); err != nil {
		return nil, err
	}
	if err := g.openAITools(tools, toolChoice, false); err != nil {
		return nil, err
	}
	if tools != nil && !isNull(tools) {
		elems, _ := arrayElements(tools)
		for _, t := range elems {
			if err := g.prompt.add(cc, segTools, t, 0, freshResponsesTool); err != nil {
				return nil, badRequest("tools", "tools: %v", err)
			}
		}
	}
	if instructions != nil && !isNull(instructions) {
		var s string
		if err := decodeString("instructions", instructions, &s); err != nil {
			return nil, err
		}
		if err := g.prompt.add(cc, segSystem, instructions, TokensPerMessage, nil); err != nil {
			return nil, badRequest("instructions", "%v", err)
		}
	}
	if input == nil {
		return nil, badRequest("input", "input: field required")
	}
	if elems, ok := arrayElements(input); ok {
		if len(elems) == 0 {
			return nil, badRequest("input", "input: must contain at least one item")
		}
		for i, it := range elems {
			if err := g.prompt.add(cc, segMessage, it, TokensPerMessage, freshResponsesItem); err != nil {
				return nil, badRequest(fmt.Sprintf("input[%d]", i), "input[%d]: %v", i, err)
			}
		}
	} else {
		var s string
		if err := decodeField("input", input, &s, "a string or an array of items"); err != nil {
			return nil, err
		}
		if err := g.prompt.add(cc, segMessage, input, TokensPerMessage, nil); err != nil {
			return nil, badRequest("input", "%v", err)
		}
	}
	return g, nil
}

func freshResponsesItem(raw []byte) error {
	it, err := decodeItem(raw)
	if err != nil {
		return fmt.Errorf("expected an input item object")
	}
	if it.Type == "" && it.Role == "" {
		return fmt.Errorf("an input item needs a type or a role")
	}
	if it.Role != "" {
		switch it.Role {
		case "user", "assistant", "system", "developer":
		default:
			return fmt.Errorf("unknown role %q", it.Role)
		}
	}
	return nil
}

func freshResponsesTool(raw []byte) error {
	it, err := decodeItem(raw)
	if err != nil || it.Type == "" {
		return fmt.Errorf("expected a tool object with a type")
	}
	if it.Type == "function" && it.Name == "" {
		return fmt.Errorf("name: field required for a function tool")
	}
	return nil
}

// parseMessages decodes an Anthropic Messages request.
func parseMessages(body []byte, cc *countCache, keep bool) (*genRequest, *apiError) {
	return parseMessagesOpt(body, cc, true, keep)
}

// parseMessagesOpt decodes an Anthropic Messages request; count_tokens
// requests have no max_tokens.
func parseMessagesOpt(body []byte, cc *countCache, requireMax, keep bool) (*genRequest, *apiError) {
	var model, messages, system, tools, stream, maxTok, ignoreEOS, minTok, toolChoice, salt []byte
	if err := parseBody(body, map[string]*[]byte{
		"model": &model, "messages": &messages, "system": &system, "tools": &tools, "stream": &stream,
		"max_tokens": &maxTok, "ignore_eos": &ignoreEOS, "min_tokens": &minTok, "tool_choice": &toolChoice,
		"cache_salt": &salt,
	}); err != nil {
		return nil, err
	}
	g := &genRequest{api: apiMessages, includeUsage: true}
	g.prompt.keep = keep
	if model == nil {
		return nil, badRequest("model", "model: Field required")
	}
	if err := decodeString("model", model, &g.model); err != nil {
		return nil, err
	}
	if requireMax && (maxTok == nil || isNull(maxTok)) {
		return nil, badRequest("max_tokens", "max_tokens: Field required")
	}
	if maxTok != nil {
		if err := positiveInt("max_tokens", maxTok, &g.maxTokens); err != nil {
			return nil, err
		}
	}
	if stream != nil {
		if err := decodeBool("stream", stream, &g.stream); err != nil {
			return nil, err
		}
	}
	if err := g.commonExtensions(ignoreEOS, minTok, salt); err != nil {
		return nil, err
	}
	if tools != nil && !isNull(tools) {
		elems, ok := arrayElements(tools)
		if !ok {
			return nil, badRequest("tools", "tools: Input should be a valid list")
		}
		g.tools = len(elems)
		for i, t := range elems {
			if i == 0 {
				if it, err := decodeItem(t); err == nil {
					g.toolName = it.Name
				}
			}
			if err := g.prompt.add(cc, segTools, t, 0, freshAnthropicTool); err != nil {
				return nil, badRequest("tools", "tools.%d: %v", i, err)
			}
		}
	}
	if toolChoice != nil && !isNull(toolChoice) {
		it, err := decodeItem(toolChoice)
		if err != nil {
			return nil, badRequest("tool_choice", "tool_choice: Input should be an object")
		}
		switch it.Type {
		case "auto":
		case "none":
			g.toolMode = toolsNone
		case "any":
			g.toolMode = toolsForced
		case "tool":
			if it.Name == "" {
				return nil, badRequest("tool_choice", "tool_choice.name: Field required")
			}
			g.toolMode, g.toolName = toolsForced, it.Name
		default:
			return nil, badRequest("tool_choice", "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
		}
		if g.toolMode == toolsForced && g.tools == 0 {
			return nil, badRequest("tool_choice", "tool_choice requires tools")
		}
	}
	if system != nil && !isNull(system) {
		if err := g.prompt.add(cc, segSystem, system, TokensPerMessage, freshSystem); err != nil {
			return nil, badRequest("system", "system: %v", err)
		}
	}
	if messages == nil {
		return nil, badRequest("messages", "messages: Field required")
	}
	elems, ok := arrayElements(messages)
	if !ok {
		return nil, badRequest("messages", "messages: Input should be a valid list")
	}
	if len(elems) == 0 {
		return nil, badRequest("messages", "messages: at least one message is required")
	}
	for i, m := range elems {
		if err := g.prompt.add(cc, segMessage, m, TokensPerMessage, freshAnthropicMessage); err != nil {
			return nil, badRequest(fmt.Sprintf("messages.%d", i), "messages.%d: %v", i, err)
		}
	}
	return g, nil
}

func freshAnthropicMessage(raw []byte) error {
	var m struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("Input should be a valid dictionary")
	}
	if m.Role != "user" && m.Role != "assistant" {
		return fmt.Errorf("role: Input should be 'user' or 'assistant'")
	}
	if len(m.Content) == 0 {
		return fmt.Errorf("content: Field required")
	}
	return nil
}

func freshAnthropicTool(raw []byte) error {
	it, err := decodeItem(raw)
	if err != nil || it.Name == "" {
		return fmt.Errorf("name: Field required")
	}
	return nil
}

func freshSystem(raw []byte) error {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return nil
	}
	var blocks []json.RawMessage
	if json.Unmarshal(raw, &blocks) != nil {
		return fmt.Errorf("Input should be a valid string or list of blocks")
	}
	return nil
}

// parseCompletions decodes a legacy OpenAI Completions request (what
// `vllm bench serve` and other load generators send by default). prompt is
// a string, an array of one string, or an array of token ids.
func parseCompletions(body []byte, cc *countCache, keep bool) (*genRequest, *apiError) {
	var model, promptRaw, stream, streamOpts, maxTok, ignoreEOS, minTok, n, salt []byte
	if err := parseBody(body, map[string]*[]byte{
		"model": &model, "prompt": &promptRaw, "stream": &stream, "stream_options": &streamOpts,
		"max_tokens": &maxTok, "ignore_eos": &ignoreEOS, "min_tokens": &minTok, "n": &n, "cache_salt": &salt,
	}); err != nil {
		return nil, err
	}
	g := &genRequest{api: apiCompletions, toolMode: toolsNone, maxTokens: 16} // OpenAI's and vLLM's default
	g.prompt.keep = keep
	if err := g.decodeOpenAIStream(model, stream, streamOpts); err != nil {
		return nil, err
	}
	if maxTok != nil {
		if err := positiveInt("max_tokens", maxTok, &g.maxTokens); err != nil {
			return nil, err
		}
	}
	if n != nil && !isNull(n) {
		var k int
		if err := decodeField("n", n, &k, "an integer"); err != nil {
			return nil, err
		}
		if k != 1 {
			return nil, badRequest("n", "n=%d: the simulator generates one choice per request", k)
		}
	}
	if err := g.commonExtensions(ignoreEOS, minTok, salt); err != nil {
		return nil, err
	}
	if promptRaw == nil || isNull(promptRaw) {
		return nil, badRequest("prompt", "prompt: field required")
	}
	var ids []int64
	var texts []string
	var text string
	switch {
	case json.Unmarshal(promptRaw, &text) == nil:
		if err := g.prompt.add(cc, segMessage, promptRaw, 0, nil); err != nil {
			return nil, badRequest("prompt", "%v", err)
		}
	case json.Unmarshal(promptRaw, &ids) == nil:
		if len(ids) == 0 {
			return nil, badRequest("prompt", "prompt: empty token list")
		}
		// Token ids: the count is their number; the bytes identify them.
		g.prompt.addIDs(hashBytes(segMessage, promptRaw), len(ids))
	case json.Unmarshal(promptRaw, &texts) == nil:
		if len(texts) != 1 {
			return nil, badRequest("prompt", "prompt: send one prompt per request (got %d)", len(texts))
		}
		elems, _ := arrayElements(promptRaw)
		if err := g.prompt.add(cc, segMessage, elems[0], 0, nil); err != nil {
			return nil, badRequest("prompt", "%v", err)
		}
	default:
		return nil, badRequest("prompt", "prompt: expected a string, an array of one string or an array of token ids")
	}
	g.prompt.raw = true
	return g, nil
}
