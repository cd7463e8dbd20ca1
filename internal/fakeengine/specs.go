package fakeengine

import (
	"time"

	"github.com/agentperf/agentperf/target"
)

// spec is one engine's dialect as its documentation and source give it
// (docs/engines.md cites each).
type spec struct {
	version string
	// apis are the APIs served.
	apis map[string]bool
	// server is the Server header ("" sends none).
	server string
	// models answers GET /v1/models; info the other GET endpoints.
	models func(Options) any
	info   map[string]func(Options) any
	// pin reads a request's pin fields: the minimum length asked for,
	// -1 for ignore_eos (run to the cap), 0 for none.
	pin func(api string, req map[string]any) int
	// reasoningKey is the Chat delta key that carries reasoning ("" when
	// reasoning is not split out).
	reasoningKey string
	// nullReasoning sends reasoning_content: null in every delta (SGLang).
	nullReasoning bool
	// usage is the Chat usage object.
	usage func(Options, gen) map[string]any
	// usageAlways sends the usage chunk without stream_options.
	usageAlways bool
	// final adds keys to the last Chat chunk (llama.cpp's timings).
	final func(Options, gen) map[string]any
	// strict lists the only Chat fields accepted (trtllm-serve forbids
	// extra fields); nil accepts any.
	strict map[string]bool
}

var created = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()

// pinVLLMStyle reads min_tokens and ignore_eos (vLLM, SGLang,
// trtllm-serve and Dynamo's Chat API).
func pinVLLMStyle(req map[string]any) int {
	if truthy(req["ignore_eos"]) {
		return -1
	}
	return intOf(req["min_tokens"], 0)
}

func openAIUsage(o Options, g gen) map[string]any {
	return map[string]any{"prompt_tokens": g.prompt, "completion_tokens": g.out(), "total_tokens": g.prompt + g.out(),
		"prompt_tokens_details": map[string]any{"cached_tokens": o.Cached}}
}

var all3 = map[string]bool{"openai-chat": true, "openai-responses": true, "anthropic": true}

var specs = map[target.Engine]spec{
	// vLLM: ModelCard owned_by "vllm" with max_model_len; GET /version;
	// Chat takes min_tokens and ignore_eos and streams reasoning under
	// "reasoning"; usage carries prompt_tokens_details.cached_tokens
	// (--enable-prompt-tokens-details) and no reasoning count; Responses
	// takes ignore_eos; the Anthropic Messages endpoint takes neither.
	target.EngineVLLM: {
		version: "0.11.0", apis: all3, server: "uvicorn",
		models: func(o Options) any {
			return map[string]any{"object": "list", "data": []any{map[string]any{"id": o.Model, "object": "model", "created": created,
				"owned_by": "vllm", "root": o.Model, "parent": nil, "max_model_len": o.Context, "permission": []any{}}}}
		},
		info: map[string]func(Options) any{"/version": func(o Options) any { return map[string]any{"version": o.Version} }},
		pin: func(api string, req map[string]any) int {
			switch api {
			case "openai-chat":
				return pinVLLMStyle(req)
			case "openai-responses":
				if truthy(req["ignore_eos"]) {
					return -1
				}
			}
			return 0
		},
		reasoningKey: "reasoning",
		usage: func(o Options, g gen) map[string]any {
			return map[string]any{"prompt_tokens": g.prompt, "total_tokens": g.prompt + g.out(), "completion_tokens": g.out(),
				"prompt_tokens_details": map[string]any{"cached_tokens": o.Cached}}
		},
	},
	// SGLang: owned_by "sglang" with max_model_len; /server_info (and the
	// deprecated /get_server_info) returns the server arguments, api_key
	// included; Chat takes min_tokens and ignore_eos, streams
	// reasoning_content (null when none), reports reasoning_tokens at the
	// top of usage and prompt_tokens_details only with a cached count
	// (--enable-cache-report); the Messages adapter drops pin fields.
	target.EngineSGLang: {
		version: "0.5.4", apis: map[string]bool{"openai-chat": true, "anthropic": true}, server: "uvicorn",
		models: func(o Options) any {
			return map[string]any{"object": "list", "data": []any{map[string]any{"id": o.Model, "object": "model", "created": time.Now().Unix(),
				"owned_by": "sglang", "root": o.Model, "parent": nil, "max_model_len": o.Context}}}
		},
		info: map[string]func(Options) any{
			"/server_info":     sglangServerInfo,
			"/get_server_info": sglangServerInfo,
			"/model_info": func(o Options) any {
				return map[string]any{"model_path": o.Model, "tokenizer_path": o.Model, "is_generation": true}
			},
		},
		pin: func(api string, req map[string]any) int {
			if api == "openai-chat" {
				return pinVLLMStyle(req)
			}
			return 0
		},
		reasoningKey: "reasoning_content", nullReasoning: true,
		usage: func(o Options, g gen) map[string]any {
			u := map[string]any{"prompt_tokens": g.prompt, "completion_tokens": g.out(), "total_tokens": g.prompt + g.out(),
				"prompt_tokens_details": nil, "reasoning_tokens": g.reasoning}
			if o.Cached > 0 {
				u["prompt_tokens_details"] = map[string]any{"cached_tokens": o.Cached}
			}
			return u
		},
	},
	// trtllm-serve: owned_by "tensorrt_llm", no context length; GET
	// /version; the Chat request model forbids extra fields and takes
	// min_tokens, ignore_eos, top_k, min_p and chat_template_kwargs.
	target.EngineTRTLLM: {
		version: "1.1.0", apis: map[string]bool{"openai-chat": true}, server: "uvicorn",
		models: func(o Options) any {
			return map[string]any{"object": "list", "data": []any{map[string]any{"id": o.Model, "object": "model", "created": created, "owned_by": "tensorrt_llm"}}}
		},
		info: map[string]func(Options) any{"/version": func(o Options) any { return map[string]any{"version": o.Version} }},
		pin: func(api string, req map[string]any) int {
			return pinVLLMStyle(req)
		},
		reasoningKey: "reasoning_content",
		usage:        openAIUsage,
		strict: set("messages", "model", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs", "max_tokens",
			"max_completion_tokens", "n", "presence_penalty", "response_format", "seed", "stop", "stream", "stream_options",
			"temperature", "top_p", "tools", "tool_choice", "user", "reasoning_effort", "best_of", "use_beam_search",
			"top_k", "top_p_min", "min_p", "repetition_penalty", "length_penalty", "stop_token_ids",
			"include_stop_str_in_output", "ignore_eos", "min_tokens", "skip_special_tokens",
			"spaces_between_special_tokens", "truncate_prompt_tokens", "echo", "add_generation_prompt",
			"add_special_tokens", "documents", "chat_template", "chat_template_kwargs", "cache_salt", "priority",
			"thinking_token_budget"),
	},
	// Dynamo's frontend: owned_by "nvidia" (object "object"); Chat reads
	// ignore_eos and min_tokens at the top level and nvext.ignore_eos.
	target.EngineDynamo: {
		version: "0.6.0", apis: map[string]bool{"openai-chat": true},
		models: func(o Options) any {
			return map[string]any{"object": "list", "data": []any{map[string]any{"id": o.Model, "object": "object", "created": created, "owned_by": "nvidia"}}}
		},
		pin: func(api string, req map[string]any) int {
			if nv, _ := req["nvext"].(map[string]any); truthy(nv["ignore_eos"]) {
				return -1
			}
			return pinVLLMStyle(req)
		},
		reasoningKey: "reasoning_content",
		usage:        openAIUsage,
	},
	// llama-server: Server "llama.cpp"; /props with
	// default_generation_settings.n_ctx; /v1/models owned_by "llamacpp"
	// with meta.n_ctx and n_ctx_train; Chat takes ignore_eos (no
	// min_tokens), streams reasoning_content and ends with timings
	// (cache_n, prompt_n, predicted_n) beside usage.
	target.EngineLlamaCpp: {
		version: "b6510-703f9e32", apis: map[string]bool{"openai-chat": true, "anthropic": true}, server: "llama.cpp",
		models: func(o Options) any {
			return map[string]any{"object": "list", "data": []any{map[string]any{"id": o.Model, "object": "model", "created": created,
				"owned_by": "llamacpp", "meta": map[string]any{"vocab_type": 2, "n_vocab": 201088, "n_ctx": o.Context,
					"n_ctx_train": 131072, "n_embd": 2880, "n_params": int64(116829156672), "size": int64(65238253568)}}}}
		},
		info: map[string]func(Options) any{"/props": func(o Options) any {
			return map[string]any{"default_generation_settings": map[string]any{"n_ctx": o.Context, "params": map[string]any{"n_predict": -1}},
				"total_slots": 1, "model_path": "/models/" + o.Model + ".gguf", "chat_template": "{{ long template }}", "build_info": o.Version}
		}},
		pin: func(api string, req map[string]any) int {
			if truthy(req["ignore_eos"]) {
				return -1
			}
			return 0
		},
		reasoningKey: "reasoning_content",
		usage:        openAIUsage,
		final: func(o Options, g gen) map[string]any {
			return map[string]any{"timings": map[string]any{"cache_n": o.Cached, "prompt_n": g.prompt - o.Cached, "prompt_ms": 20.3,
				"predicted_n": g.out(), "predicted_ms": 300.0}}
		},
	},
	// TGI: GET /info (router "text-generation-router", max_input_tokens,
	// max_total_tokens); Chat has no pin field and reports no cached
	// tokens.
	target.EngineTGI: {
		version: "3.3.4", apis: map[string]bool{"openai-chat": true},
		info: map[string]func(Options) any{"/info": func(o Options) any {
			return map[string]any{"model_id": o.Model, "model_sha": "abc123", "model_pipeline_tag": "text-generation",
				"max_concurrent_requests": 128, "max_input_tokens": o.Context - 1, "max_total_tokens": o.Context,
				"router": "text-generation-router", "version": o.Version, "sha": "0ff6ff6", "docker_label": "sha-0ff6ff6"}
		}},
		usage: func(o Options, g gen) map[string]any {
			return map[string]any{"prompt_tokens": g.prompt, "completion_tokens": g.out(), "total_tokens": g.prompt + g.out()}
		},
	},
}

func sglangServerInfo(o Options) any {
	return map[string]any{"model_path": o.Model, "tp_size": 1, "dp_size": 1, "context_length": o.Context,
		"api_key": "sk-fake-secret", "admin_api_key": "admin-fake-secret", "enable_cache_report": true,
		"reasoning_parser": "deepseek-v3", "version": o.Version}
}

func set(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}
