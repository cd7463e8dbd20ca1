package replay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/target"
)

// OutputPolicy says how a replayed request's output length is pinned.
type OutputPolicy string

// Output policies.
const (
	// OutputExact asks for exactly the recorded output length: the API's max
	// tokens field set to it, plus the target engine's pin fields
	// (target.Dialect: min_tokens and ignore_eos on vLLM, SGLang and the
	// embedded simulator, ignore_eos alone on llama.cpp, …). The probe
	// refuses a target that ignores them; an engine that documents none for
	// an API (TGI, hosted APIs) can only be capped: use OutputCap there.
	OutputExact OutputPolicy = "exact"
	// OutputCap only sets the API's max tokens field to the recorded length.
	OutputCap OutputPolicy = "cap"
	// OutputFree sends the recorded length fields unchanged.
	OutputFree OutputPolicy = "free"
)

// ParseOutputPolicy checks an --output-policy value.
func ParseOutputPolicy(s string) (OutputPolicy, error) {
	switch p := OutputPolicy(s); p {
	case OutputExact, OutputCap, OutputFree:
		return p, nil
	case "":
		return OutputExact, nil
	}
	return "", fmt.Errorf("unknown output policy %q (want exact, cap or free)", s)
}

// Shaping holds the per-run changes made to every request body.
type Shaping struct {
	// Model replaces the recorded model when non-empty.
	Model string
	// Output pins the output length; "" means OutputExact.
	Output OutputPolicy
	// Dialect is the target engine's: its pin fields pin the output (an
	// API it does not document gets the generic dialect's); the zero value
	// is the generic dialect (min_tokens and ignore_eos).
	Dialect target.Dialect
	// Settings are, per API, the request fields set in every body after
	// everything else, in order (presets first, the user's last). A value
	// on a setting's path that is not an object is replaced by one.
	Settings map[string][]target.Setting
}

var (
	jsonTrue        = json.RawMessage("true")
	jsonIncludeUsed = json.RawMessage(`{"include_usage":true}`)
)

// pin returns the dialect of api whose fields pin its output.
func (s Shaping) pin(api string) target.APIDialect {
	if s.Dialect.APIs == nil {
		return target.DialectOf(target.EngineGeneric).API(api)
	}
	return s.Dialect.API(api)
}

// PinFields returns the fields that pin the output of a request of api
// (the max-tokens field first), nil when the policy pins nothing.
func (s Shaping) PinFields(api string) []string {
	switch orDefault(s.Output, OutputExact) {
	case OutputFree:
		return nil
	case OutputCap:
		return []string{target.MaxTokensKey(api, false)}
	}
	out := []string{target.MaxTokensKey(api, false)}
	for _, p := range s.pin(api).Pin {
		out = append(out, p.Path)
	}
	return out
}

// shape applies the run's changes to the top-level fields of a body (or a
// params object) of the given API: model, streaming with usage, output
// length, then the request settings; it drops previous_response_id, which
// cannot be replayed.
func (s Shaping) shape(m map[string]json.RawMessage, api string, out int32) {
	if s.Model != "" {
		m["model"] = json.RawMessage(strconv.Quote(s.Model))
	}
	m["stream"] = jsonTrue
	if api == schemas.APIOpenAIChat {
		m["stream_options"] = jsonIncludeUsed
	}
	delete(m, "previous_response_id")
	if policy := orDefault(s.Output, OutputExact); policy != OutputFree && out > 0 {
		n := json.RawMessage(strconv.Itoa(int(out)))
		_, maxCompletion := m["max_completion_tokens"]
		m[target.MaxTokensKey(api, maxCompletion)] = n
		if policy == OutputExact {
			for _, p := range s.pin(api).Pin {
				v := jsonTrue
				if p.Value == target.PinCount {
					v = n
				}
				setPath(m, strings.Split(p.Path, "."), v)
			}
		}
	}
	for _, st := range s.Settings[api] {
		setPath(m, st.Path, st.Value)
	}
}

// setPath stores v at the key path in m, creating the objects on the way
// and replacing a value on the way that is not an object.
func setPath(m map[string]json.RawMessage, path []string, v json.RawMessage) {
	if len(path) == 1 {
		m[path[0]] = v
		return
	}
	sub := map[string]json.RawMessage{}
	if raw, ok := m[path[0]]; ok {
		if json.Unmarshal(raw, &sub) != nil || sub == nil {
			sub = map[string]json.RawMessage{}
		}
	}
	setPath(sub, path[1:], v)
	m[path[0]], _ = json.Marshal(sub) // raw values from Unmarshal: cannot fail
}

// shapeParams returns the recorded params object with the run's changes.
func (s Shaping) shapeParams(params, api string, out int32) ([]byte, error) {
	m := map[string]json.RawMessage{}
	if strings.TrimSpace(params) != "" {
		if err := json.Unmarshal([]byte(params), &m); err != nil {
			return nil, fmt.Errorf("request params are not a JSON object: %v", err)
		}
	}
	if m == nil {
		m = map[string]json.RawMessage{}
	}
	s.shape(m, api, out)
	return json.Marshal(m) // keys sorted
}

// saltText returns the text prepended to a request's first prompt piece for
// a cache salt: the salt with {user} and {pass} replaced by the user index
// and how many times the user has started the session before, then a
// newline. It returns "" for an empty salt.
func saltText(salt string, user, pass int) string {
	if salt == "" {
		return ""
	}
	if strings.Contains(salt, "{") {
		salt = strings.NewReplacer("{user}", strconv.Itoa(user), "{pass}", strconv.Itoa(pass)).Replace(salt)
	}
	return "[cache-salt " + salt + "]\n"
}

// saltIndex returns the index of the prompt piece that carries the salt:
// the first piece that is not the tool list (system prompt, instructions or
// first message), or -1.
func saltIndex(parts []schemas.Part) int {
	for i, p := range parts {
		switch p.Kind {
		case schemas.KindSystem, schemas.KindInstructions, schemas.KindInput, schemas.KindMessage:
			return i
		}
	}
	return -1
}

// saltPiece returns body (a canonical JSON system prompt, instructions,
// input or message) with text prepended to its first text.
func saltPiece(kind string, body []byte, text string) ([]byte, error) {
	quoted := func(s string) json.RawMessage { b, _ := json.Marshal(s); return b }
	var str string
	if json.Unmarshal(body, &str) == nil {
		return quoted(text + str), nil
	}
	saltBlocks := func(raw json.RawMessage, blockType string) (json.RawMessage, error) {
		var blocks []map[string]json.RawMessage
		if err := json.Unmarshal(raw, &blocks); err != nil {
			return nil, err
		}
		for _, b := range blocks {
			var t string
			if tr, ok := b["text"]; ok && json.Unmarshal(tr, &t) == nil {
				b["text"] = quoted(text + t)
				return json.Marshal(blocks)
			}
		}
		first := map[string]json.RawMessage{"type": quoted(blockType), "text": quoted(text)}
		return json.Marshal(append([]map[string]json.RawMessage{first}, blocks...))
	}
	if kind == schemas.KindSystem {
		return saltBlocks(body, "text")
	}
	var msg map[string]json.RawMessage
	if err := json.Unmarshal(body, &msg); err != nil {
		return nil, fmt.Errorf("cannot salt %s piece: %v", kind, err)
	}
	c, ok := msg["content"]
	if !ok {
		// e.g. a Responses function_call item: no text to salt.
		return nil, errNoText
	}
	if json.Unmarshal(c, &str) == nil {
		msg["content"] = quoted(text + str)
		return json.Marshal(msg)
	}
	bt := "text"
	if bytes.Contains(body, []byte(`"input_text"`)) {
		bt = "input_text"
	}
	nc, err := saltBlocks(c, bt)
	if err != nil {
		return nil, fmt.Errorf("cannot salt message content: %v", err)
	}
	msg["content"] = nc
	return json.Marshal(msg)
}

var errNoText = fmt.Errorf("no text content")
