// Package sim is an embedded OpenAI- and Anthropic-compatible inference
// server whose token timing comes from a model of a continuous-batching
// serving engine on the accelerators of the catalog.
//
// Engine is the model: a deterministic discrete-event simulation of engine
// instances (chunked prefill, a KV cache with preemption, a 512-token-block
// prefix cache with LRU eviction, tensor/expert parallelism, speculative
// decoding, disaggregated prefill) whose iteration times follow a roofline
// of the hardware and model figures. Server puts it behind HTTP: it counts
// prompt tokens with the tokens package, feeds the engine in wall time
// through a time scale K (simulated time runs K× faster), and streams each
// API's own SSE events as the engine produces tokens. Simulate runs a
// workload on the engine alone, without wall time.
//
// docs/sim.md gives every equation and the source of every constant.
package sim
