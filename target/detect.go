package target

import (
	"encoding/json"
	"strings"
)

// Detection is what Detect concluded.
type Detection struct {
	// Engine is the engine named by the evidence, EngineGeneric when none.
	Engine Engine
	// Evidence says which answer named it ("" for EngineGeneric).
	Evidence string
	// Version is the engine's version when an answer carries one.
	Version string
}

// ownedBy maps the owned_by value an engine writes into GET /v1/models
// to the engine: vLLM's ModelCard "vllm", SGLang's "sglang", llama.cpp's
// "llamacpp", trtllm-serve's "tensorrt_llm", Dynamo's frontend "nvidia".
var ownedBy = map[string]Engine{
	"vllm": EngineVLLM, "sglang": EngineSGLang, "llamacpp": EngineLlamaCpp,
	"tensorrt_llm": EngineTRTLLM, "nvidia": EngineDynamo,
}

// Detect names the engine behind a target from its recorded answers, most
// specific first: an engine's own info endpoint (TGI's /info, llama.cpp's
// /props, SGLang's /server_info), the owned_by of its models, the Server
// header, then the headers of a hosted API. vLLM and trtllm-serve both
// answer /version with {"version": …}, so /version only supplies the
// version once another answer has named the engine.
func Detect(p Provenance) Detection {
	version := func(e Engine) string { return versionOf(p, e) }
	if b := answerOf(p, "/info"); b != nil {
		var info struct {
			Router  string `json:"router"`
			ModelID string `json:"model_id"`
			Version string `json:"version"`
			MaxTot  int    `json:"max_total_tokens"`
		}
		if json.Unmarshal(b, &info) == nil && (info.Router == "text-generation-router" || info.ModelID != "" && info.MaxTot > 0) {
			return Detection{EngineTGI, "GET /info: text-generation-router", info.Version}
		}
	}
	if b := answerOf(p, "/props"); b != nil {
		var props struct {
			DGS       map[string]any `json:"default_generation_settings"`
			BuildInfo string         `json:"build_info"`
		}
		if json.Unmarshal(b, &props) == nil && props.DGS != nil {
			return Detection{EngineLlamaCpp, "GET /props: default_generation_settings", props.BuildInfo}
		}
	}
	if b := answerOf(p, "server_info"); b != nil {
		var si map[string]json.RawMessage
		if json.Unmarshal(b, &si) == nil && si["model_path"] != nil && si["tp_size"] != nil {
			return Detection{EngineSGLang, "GET /server_info: SGLang server arguments", version(EngineSGLang)}
		}
	}
	for _, m := range p.Models {
		if e, ok := ownedBy[strings.ToLower(m.OwnedBy)]; ok {
			return Detection{e, "GET /v1/models: owned_by " + m.OwnedBy, version(e)}
		}
	}
	if s := strings.ToLower(p.Headers["Server"]); strings.Contains(s, "llama.cpp") {
		return Detection{EngineLlamaCpp, "Server: " + p.Headers["Server"], ""}
	}
	for _, h := range p.HeaderNames {
		switch strings.ToLower(h) {
		case "openai-version", "openai-organization", "openai-processing-ms":
			return Detection{EngineOpenAI, "response header " + h, ""}
		case "anthropic-organization-id", "anthropic-ratelimit-requests-limit":
			return Detection{EngineAnthropic, "response header " + h, ""}
		}
	}
	for _, m := range p.Models {
		switch strings.ToLower(m.OwnedBy) {
		case "openai", "system", "openai-internal":
			return Detection{EngineOpenAI, "GET /v1/models: owned_by " + m.OwnedBy, ""}
		}
	}
	return Detection{Engine: EngineGeneric}
}

// versionOf returns the engine version an answer reports: /version's
// {"version"} (vLLM, SGLang, trtllm-serve), SGLang's /server_info
// "version".
func versionOf(p Provenance, e Engine) string {
	var v struct {
		Version string `json:"version"`
	}
	if e == EngineSGLang {
		if b := answerOf(p, "server_info"); b != nil && json.Unmarshal(b, &v) == nil && v.Version != "" {
			return v.Version
		}
	}
	if b := answerOf(p, "/version"); b != nil && json.Unmarshal(b, &v) == nil {
		return v.Version
	}
	return ""
}

// modelRevision returns the served weights' revision an answer reports:
// TGI's /info model_sha, SGLang's /server_info revision; "" when none.
func modelRevision(p Provenance) string {
	var v struct {
		SHA      string `json:"model_sha"`
		Revision string `json:"revision"`
	}
	if b := answerOf(p, "/info"); b != nil && json.Unmarshal(b, &v) == nil && v.SHA != "" {
		return v.SHA
	}
	if b := answerOf(p, "server_info"); b != nil && json.Unmarshal(b, &v) == nil && v.Revision != "" {
		return v.Revision
	}
	return ""
}

// ContextLength returns the context length the target reports for model
// (the first listed model when model is "" or not listed), tokens, and
// where it came from; 0 when it reports none. It reads, in order: the
// model's max_model_len (vLLM, SGLang), llama.cpp's served n_ctx (never
// n_ctx_train, the training context), SGLang's /server_info
// context_length, and TGI's /info max_total_tokens.
func ContextLength(p Provenance, model string) (int, string) {
	var card *ModelCard
	for i := range p.Models {
		if card == nil || p.Models[i].ID == model || strings.HasSuffix(model, "/"+p.Models[i].ID) {
			card = &p.Models[i]
			if p.Models[i].ID == model {
				break
			}
		}
	}
	if card != nil && card.MaxModelLen > 0 {
		return card.MaxModelLen, "GET /v1/models max_model_len"
	}
	if card != nil && card.NCtx > 0 {
		return card.NCtx, "GET /v1/models meta.n_ctx"
	}
	if b := answerOf(p, "/props"); b != nil {
		var props struct {
			DGS struct {
				NCtx int `json:"n_ctx"`
			} `json:"default_generation_settings"`
		}
		if json.Unmarshal(b, &props) == nil && props.DGS.NCtx > 0 {
			return props.DGS.NCtx, "GET /props default_generation_settings.n_ctx"
		}
	}
	if b := answerOf(p, "server_info"); b != nil {
		var si struct {
			ContextLength int `json:"context_length"`
		}
		if json.Unmarshal(b, &si) == nil && si.ContextLength > 0 {
			return si.ContextLength, "GET /server_info context_length"
		}
	}
	if b := answerOf(p, "/info"); b != nil {
		var info struct {
			MaxTotal int `json:"max_total_tokens"`
		}
		if json.Unmarshal(b, &info) == nil && info.MaxTotal > 0 {
			return info.MaxTotal, "GET /info max_total_tokens"
		}
	}
	return 0, ""
}
