// Package fakeengine serves fake inference engines for tests: one
// httptest server per engine (vLLM, SGLang, TensorRT-LLM's trtllm-serve,
// NVIDIA Dynamo, llama.cpp's llama-server, TGI), each speaking that
// engine's documented dialect and nothing else: its pin fields, its
// stream keys for reasoning, its usage, cached- and reasoning-token
// fields, and its self-description endpoints (/version, /v1/models,
// /server_info, /props, /info). A fake generates placeholder tokens, one
// per stream delta, so the output length is exact and known.
//
// The fakes are written from the engines' documentation, independently
// of package target's dialect table, so tests of one check the other.
// docs/engines.md cites the sources. Every request is recorded for tests
// that check what reached the wire.
package fakeengine
