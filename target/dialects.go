package target

import (
	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/wire"
)

// The dialect table. Every field comes from the engine's own source or
// documentation; docs/engines.md cites them, one row per engine and API.

var (
	pinMinTokens = []PinField{{"min_tokens", PinCount}, {"ignore_eos", PinTrue}}
	pinIgnoreEOS = []PinField{{"ignore_eos", PinTrue}}
)

// The APIs' own reporting, from their references (wire owns the keys the
// APIs define; this table what each engine does differently).
var (
	chatSpec        = wire.SpecKeys(schemas.APIOpenAIChat)
	chatUsage       = chatSpec.Usage
	chatStream      = chatSpec.Deltas
	responsesSpec   = wire.SpecKeys(schemas.APIOpenAIResponses)
	responsesUsage  = responsesSpec.Usage
	responsesStream = responsesSpec.Deltas
	anthropicSpec   = wire.SpecKeys(schemas.APIAnthropic)
	anthropicUsage  = anthropicSpec.Usage
	anthropicStream = anthropicSpec.Deltas
)

// withReasoning returns a copy of s with the reasoning keys set.
func withReasoning(s Stream, reasoning ...string) Stream {
	s.Reasoning = reasoning
	return s
}

func chatWith(pin []PinField, u Usage, reasoning []string, notes ...string) APIDialect {
	return APIDialect{Pin: pin, Usage: u, Stream: withReasoning(chatStream, reasoning...), Notes: notes}
}

// generic is the dialect of an API on a server nothing is known about:
// every key a known server uses (wire.AnyKeys) and the pin most open
// engines accept.
func generic(api string) APIDialect {
	k := wire.AnyKeys(api)
	return APIDialect{Pin: pinMinTokens, Usage: k.Usage, Stream: k.Deltas}
}

var dialects = map[Engine]Dialect{
	EngineVLLM: {EngineVLLM, map[string]APIDialect{
		schemas.APIOpenAIChat: chatWith(pinMinTokens, Usage{
			Input: chatUsage.Input, Output: chatUsage.Output, Cached: chatUsage.Cached,
		}, []string{"choices.delta.reasoning", "choices.delta.reasoning_content"},
			"cached tokens are reported only with --enable-prompt-tokens-details",
			"reasoning is split out only with --reasoning-parser; the delta key is reasoning (reasoning_content before v0.11)"),
		schemas.APIOpenAIResponses: {Pin: pinIgnoreEOS, Usage: responsesUsage, Stream: responsesStream},
		schemas.APIAnthropic: {Usage: anthropicUsage, Stream: anthropicStream,
			Notes: []string{"the Messages endpoint takes no ignore_eos or min_tokens: output can only be capped"}},
	}},
	EngineSGLang: {EngineSGLang, map[string]APIDialect{
		schemas.APIOpenAIChat: chatWith(pinMinTokens, Usage{
			Input: chatUsage.Input, Output: chatUsage.Output, Cached: chatUsage.Cached,
			Reasoning: []string{"usage.reasoning_tokens"},
		}, []string{"choices.delta.reasoning_content"},
			"cached tokens are reported only with --enable-cache-report",
			"reasoning is split out only with --reasoning-parser"),
		schemas.APIOpenAIResponses: {Pin: pinIgnoreEOS, Usage: responsesUsage, Stream: responsesStream},
		schemas.APIAnthropic: {Usage: anthropicUsage, Stream: anthropicStream,
			Notes: []string{"the Messages adapter copies a fixed list of fields into its Chat request: output can only be capped"}},
	}},
	EngineTRTLLM: {EngineTRTLLM, map[string]APIDialect{
		schemas.APIOpenAIChat: chatWith(pinMinTokens, Usage{
			Input: chatUsage.Input, Output: chatUsage.Output, Cached: chatUsage.Cached,
		}, []string{"choices.delta.reasoning_content", "choices.delta.reasoning"},
			"the Chat endpoint rejects unknown fields (400): settings must name fields it declares"),
		schemas.APIOpenAIResponses: {Pin: pinIgnoreEOS, Usage: responsesUsage, Stream: responsesStream,
			Notes: []string{"the Responses endpoint ignores unknown fields: the probe decides whether ignore_eos works"}},
	}},
	EngineDynamo: {EngineDynamo, map[string]APIDialect{
		schemas.APIOpenAIChat: chatWith(pinMinTokens, chatUsage,
			[]string{"choices.delta.reasoning_content"},
			"ignore_eos and min_tokens are read at the top level (also nvext.ignore_eos)"),
		schemas.APIOpenAIResponses: {Pin: pinMinTokens, Usage: responsesUsage, Stream: responsesStream},
	}},
	EngineLlamaCpp: {EngineLlamaCpp, map[string]APIDialect{
		schemas.APIOpenAIChat: chatWith(pinIgnoreEOS, Usage{
			Input:  []string{"usage.prompt_tokens"},
			Output: []string{"usage.completion_tokens", "timings.predicted_n"},
			Cached: []string{"usage.prompt_tokens_details.cached_tokens", "timings.cache_n"},
		}, []string{"choices.delta.reasoning_content"},
			"no min_tokens: ignore_eos with max_tokens (read as n_predict) runs to the cap unless the slot's context fills",
			"reasoning is split out only with --reasoning-format deepseek (the default in recent builds)"),
		schemas.APIAnthropic: {Pin: pinIgnoreEOS, Usage: anthropicUsage, Stream: anthropicStream},
	}},
	EngineTGI: {EngineTGI, map[string]APIDialect{
		schemas.APIOpenAIChat: chatWith(nil, Usage{Input: chatUsage.Input, Output: chatUsage.Output}, nil,
			"TGI's Chat endpoint (its Messages API) has no ignore_eos or minimum length: output can only be capped"),
	}},
	EngineOpenAI: {EngineOpenAI, map[string]APIDialect{
		schemas.APIOpenAIChat: chatWith(nil, Usage{
			Input: chatUsage.Input, Output: chatUsage.Output,
			Cached:    []string{"usage.prompt_tokens_details.cached_tokens", "usage.prompt_cache_hit_tokens"},
			Reasoning: chatUsage.Reasoning,
		}, []string{"choices.delta.reasoning_content", "choices.delta.reasoning"},
			"a hosted API rejects unknown fields: output can only be capped",
			"DeepSeek's API reports cached tokens as prompt_cache_hit_tokens"),
		schemas.APIOpenAIResponses: {Usage: responsesUsage, Stream: responsesStream},
	}},
	EngineAnthropic: {EngineAnthropic, map[string]APIDialect{
		schemas.APIAnthropic: {Usage: anthropicUsage, Stream: anthropicStream,
			Notes: []string{"a hosted API: output can only be capped"}},
	}},
	// An OpenAI-compatible server detection could not name: the pin most
	// open engines accept (replay's behaviour before dialects), checked by
	// the probe, and every field any engine uses.
	EngineGeneric: {EngineGeneric, map[string]APIDialect{
		schemas.APIOpenAIChat:      generic(schemas.APIOpenAIChat),
		schemas.APIOpenAIResponses: generic(schemas.APIOpenAIResponses),
		schemas.APIAnthropic:       generic(schemas.APIAnthropic),
	}},
}

// DialectOf returns the dialect of e; auto and unknown names get the
// generic dialect.
func DialectOf(e Engine) Dialect {
	if d, ok := dialects[e]; ok {
		return d
	}
	return dialects[EngineGeneric]
}
