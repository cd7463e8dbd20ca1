// Package sim is an embedded OpenAI- and Anthropic-compatible inference
// server whose token timing comes from a model of a continuous-batching
// serving engine on the accelerators of the catalog.
//
// Engine is the model: a deterministic discrete-event simulation of engine
// instances (chunked prefill, a KV cache with preemption, a 512-token-block
// prefix cache with LRU eviction, tensor/expert parallelism, speculative
// decoding, disaggregated prefill) whose iteration times follow a roofline
// of the hardware and model figures and the fixed costs of a serving-engine
// profile (vLLM, SGLang, TensorRT-LLM) fitted on public benchmark runs. It
// also models each accelerator's power from the work of each iteration
// (Engine.Energy). Server puts it behind HTTP: it counts prompt tokens with
// the tokens package, feeds the engine in wall time through a time scale K
// (simulated time runs K× faster), streams each API's own SSE events as the
// engine produces tokens, and exposes the power as dcgm-exporter does.
// Simulate runs a closed-loop workload on the engine alone, without wall
// time; Calibrate replays a published benchmark run that way and compares.
//
// The contract: the same submissions at the same simulated times give the
// same token times; the Engine API (NewEngine, Submit, RunUntil, Next,
// Cancel, Stats, Energy) takes simulated times and has no clock of its
// own. docs/sim.md gives every equation, the source of every constant and
// the calibration.
package sim
