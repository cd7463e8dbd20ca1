package target

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/wire"
)

// Engine names a serving engine or hosted API whose dialect replay speaks.
type Engine string

// Engines. EngineAuto asks for detection; EngineGeneric is an
// OpenAI-compatible server detection could not name.
const (
	EngineAuto      Engine = "auto"
	EngineVLLM      Engine = "vllm"
	EngineSGLang    Engine = "sglang"
	EngineTRTLLM    Engine = "trtllm"
	EngineDynamo    Engine = "dynamo"
	EngineLlamaCpp  Engine = "llamacpp"
	EngineTGI       Engine = "tgi"
	EngineOpenAI    Engine = "openai"
	EngineAnthropic Engine = "anthropic"
	EngineGeneric   Engine = "generic"
)

// Engines lists the engines a user may name, auto first.
func Engines() []Engine {
	return []Engine{EngineAuto, EngineVLLM, EngineSGLang, EngineTRTLLM, EngineDynamo,
		EngineLlamaCpp, EngineTGI, EngineOpenAI, EngineAnthropic}
}

// ParseEngine checks an engine name; "" means auto.
func ParseEngine(s string) (Engine, error) {
	if s == "" {
		return EngineAuto, nil
	}
	e := Engine(strings.ToLower(strings.TrimSpace(s)))
	if e == EngineGeneric {
		return e, nil
	}
	for _, k := range Engines() {
		if e == k {
			return e, nil
		}
	}
	names := make([]string, 0, 9)
	for _, k := range Engines() {
		names = append(names, string(k))
	}
	return "", fmt.Errorf("unknown engine %q (want one of %s)", s, strings.Join(names, ", "))
}

// PinValue says what a pin field is set to.
type PinValue int

// Pin values.
const (
	// PinCount sets the field to the pinned output length, tokens.
	PinCount PinValue = iota
	// PinTrue sets the field to true.
	PinTrue
)

// PinField is one request field an engine reads to pin output length,
// besides the API's own max-tokens field (MaxTokensField).
type PinField struct {
	// Path is the field's dotted key path in the request body.
	Path string
	// Value is what the field is set to.
	Value PinValue
}

// Usage lists where an API response reports token counts, as dotted key
// paths inside one stream event (or a whole non-streamed body): wire's
// UsageKeys, which replay's stream scanner reads.
type Usage = wire.UsageKeys

// Stream lists what marks output in a streamed response: key paths whose
// non-empty value is a delta, and event types (the SSE event name, else
// the data's "type") that are deltas: wire's DeltaKeys.
type Stream = wire.DeltaKeys

// APIDialect is how one engine speaks one API.
type APIDialect struct {
	// Pin lists the fields that pin output length besides the max-tokens
	// field; empty when the engine documents none for this API (the
	// output can then only be capped).
	Pin []PinField
	// Usage and Stream say where to read token counts and deltas.
	Usage  Usage
	Stream Stream
	// Notes are server flags or caveats that decide whether the fields
	// above are filled (e.g. vLLM's --enable-prompt-tokens-details).
	Notes []string
}

// Dialect is how one engine speaks each API it serves.
type Dialect struct {
	Engine Engine
	// APIs maps an API (schemas.API*) to its dialect; an API missing here
	// is not served by the engine.
	APIs map[string]APIDialect
}

// For returns the dialect of api and whether the engine serves it.
func (d Dialect) For(api string) (APIDialect, bool) {
	a, ok := d.APIs[api]
	return a, ok
}

// API returns the dialect of api, or the generic dialect's when the
// engine does not document the API (the probe then says so): what replay
// pins and reads a request of api with.
func (d Dialect) API(api string) APIDialect {
	if a, ok := d.APIs[api]; ok {
		return a
	}
	return dialects[EngineGeneric].APIs[api]
}

// Keys returns the key paths wire's stream scanner reads a response of
// this dialect with.
func (a APIDialect) Keys() wire.Keys { return wire.Keys{Usage: a.Usage, Deltas: a.Stream} }

// PinSettings returns the settings that pin a response of api to n output
// tokens on this engine, besides the max-tokens field: for vLLM's Chat API
// min_tokens=n and ignore_eos=true. It returns nil when the engine
// documents no pin for api.
//
// Replay's output shaping calls it where it now sets min_tokens and
// ignore_eos, and Applies the result (or copies Path/Value into its map).
func (d Dialect) PinSettings(api string, n int) []Setting {
	a, ok := d.APIs[api]
	if !ok || len(a.Pin) == 0 {
		return nil
	}
	out := make([]Setting, 0, len(a.Pin))
	for _, p := range a.Pin {
		v := "true"
		if p.Value == PinCount {
			v = strconv.Itoa(n)
		}
		out = append(out, Setting{Path: strings.Split(p.Path, "."), Value: []byte(v)})
	}
	return out
}

// Pin returns body (a request of api) with its output pinned to n tokens:
// the API's max-tokens field set to n, then the engine's pin fields.
func (d Dialect) Pin(body []byte, api string, n int) ([]byte, error) {
	max := Setting{Path: []string{MaxTokensField(api, body)}, Value: []byte(strconv.Itoa(n))}
	return Apply(body, append([]Setting{max}, d.PinSettings(api, n)...)...)
}

// MaxTokensField returns the request field that caps output for api:
// max_output_tokens for Responses, max_completion_tokens for a Chat body
// that already uses it, else max_tokens.
func MaxTokensField(api string, body []byte) string {
	return MaxTokensKey(api, api == schemas.APIOpenAIChat && hasTopKey(body, "max_completion_tokens"))
}

// MaxTokensKey returns the request field that caps output for api:
// max_output_tokens for Responses, max_completion_tokens for a Chat body
// that already uses it (maxCompletion), else max_tokens.
func MaxTokensKey(api string, maxCompletion bool) string {
	switch api {
	case schemas.APIOpenAIResponses:
		return "max_output_tokens"
	case schemas.APIOpenAIChat:
		if maxCompletion {
			return "max_completion_tokens"
		}
	}
	return "max_tokens"
}

// hasTopKey reports whether the JSON object body has key at its top level.
func hasTopKey(body []byte, key string) bool {
	if !json.Valid(body) {
		return false
	}
	i := skipWS(body, 0)
	if body[i] != '{' {
		return false
	}
	for i = skipWS(body, i+1); i < len(body) && body[i] == '"'; {
		kEnd := skipValue(body, i)
		if string(body[i+1:kEnd-1]) == key {
			return true
		}
		v := skipWS(body, skipWS(body, kEnd)+1)
		i = skipWS(body, skipValue(body, v))
		if i < len(body) && body[i] == ',' {
			i = skipWS(body, i+1)
		}
	}
	return false
}
