// Package wire owns what agentperf's packages must agree on about the
// LLM APIs on the wire: each API's endpoint path, both ways (Path,
// EndpointURL, APIOf, APIOfPath); the agentperf headers of the embedded
// simulator's clock (Header*); SSE framing (NextEvent and SplitEvent for a
// stream read in place, Events for a whole body, IsEventStream, the
// simulated-time comment); and an allocation-free scanner of a response's
// events for output and usage (Stream), which also reads DeepSeek's
// prompt_cache_hit_tokens. replay, sim and the capture proxy (proxy and
// proxy/adapt) use it, so a capture and a replay of the same server frame
// the same events and report the same token counts.
//
// Framing follows the WHATWG event-stream rules but for one case: a lone
// "\r" does not end a line (no LLM API sends one; Events says why).
package wire
