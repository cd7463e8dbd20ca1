// Package wire owns what agentperf's packages must agree on about the
// LLM APIs on the wire: each API's endpoint path, both ways (Path,
// EndpointURL, APIOf, APIOfPath); the agentperf headers of the embedded
// simulator's clock (Header*); SSE framing (NextEvent and SplitEvent for a
// stream read in place, Events for a whole body, IsEventStream, the
// simulated-time comment); and an allocation-free scanner of a response's
// events for output and usage (Stream).
//
// The scanner reads where it is told: Keys are dotted key paths of usage
// counts and output deltas and the names of delta events, compiled once
// into a Scanner per API and dialect, which makes a Stream per response.
// wire owns the keys the APIs' own references define (SpecKeys) and the
// union of the keys known servers use (AnyKeys: DeepSeek's
// prompt_cache_hit_tokens, llama.cpp's timings, SGLang's top-level
// reasoning_tokens, reasoning_content and reasoning deltas), which
// NewStream reads with; package target's dialect table says what each
// serving engine does differently and hands replay the Keys of the engine
// it talks to. Reasoning deltas are output: they count toward the first
// token and the output like content. A key is searched after the previous
// key of its path, without parsing the JSON between, so a path matches in
// the arrays on its way (choices.delta.content) and keys inside strings
// never match (they are escaped). replay, sim and the capture proxy (proxy
// and proxy/adapt) use it, so a capture and a replay of the same server
// frame the same events and report the same token counts.
//
// Framing follows the WHATWG event-stream rules but for one case: a lone
// "\r" does not end a line (no LLM API sends one; Events says why).
package wire
