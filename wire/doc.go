// Package wire owns what agentperf's packages must agree on about the
// LLM APIs on the wire: each API's endpoint path, both ways (Path,
// EndpointURL, APIOf); the agentperf headers of the embedded simulator's
// clock (Header*); SSE framing for a stream read in place (NextEvent,
// SplitEvent, the simulated-time comment); and an allocation-free scanner
// of a response's events for output and usage (Stream), which also reads
// DeepSeek's prompt_cache_hit_tokens. replay and sim use it; the capture
// proxy is to follow.
package wire
