package schemas

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// The run metadata of what replay learned about its target before the run
// (issues 15 and 16): what the target said about itself, the probe of each
// API, the request settings, the context limit and the power sampled.
// Package target fills Provenance and ProbeResult; these types are here
// because the results footer owns their JSON.

// Provenance is what a target says about itself: recorded at the start of
// a run, stored in the run metadata and shown in the report. It holds no
// credentials: request headers are never recorded, response headers only
// from an allow-list, and JSON values under secret-named keys are redacted
// (package target).
type Provenance struct {
	// BaseURL is the target's base URL without user info, query or
	// fragment.
	BaseURL string `json:"base_url"`
	// Engine is the detected engine ("generic" when nothing named one),
	// Evidence what named it, Version the engine's version when it reports
	// one.
	Engine   string `json:"engine"`
	Evidence string `json:"evidence,omitempty"`
	Version  string `json:"version,omitempty"`
	// ModelRevision identifies the served weights when the target says
	// (TGI's /info model_sha, SGLang's /server_info revision), "" when it
	// does not.
	ModelRevision string `json:"model_revision,omitempty"`
	// ContextTokens is the context length the target reports for the
	// model, tokens (0 when it reports none), and ContextSource where it
	// came from.
	ContextTokens int    `json:"context_tokens,omitempty"`
	ContextSource string `json:"context_source,omitempty"`
	// Models are the models GET /v1/models lists.
	Models []ModelCard `json:"models,omitempty"`
	// Headers are the allow-listed response headers the target sent
	// (Server, Via, X-Powered-By, …), by canonical name.
	Headers map[string]string `json:"headers,omitempty"`
	// HeaderNames are the names (never the values) of every response
	// header seen, sorted.
	HeaderNames []string `json:"header_names,omitempty"`
	// Endpoints are the answers of each endpoint asked, in order.
	Endpoints []Answer `json:"endpoints"`
	// Client describes the machine that asked (zero in RunMeta, whose
	// Client says it once).
	Client ClientMachine `json:"client,omitzero"`
	// CollectedAt is when the answers were collected, UTC.
	CollectedAt time.Time `json:"collected_at"`
}

// ModelCard is one entry of GET /v1/models.
type ModelCard struct {
	ID      string `json:"id"`
	OwnedBy string `json:"owned_by,omitempty"`
	// MaxModelLen is vLLM's and SGLang's context length, tokens (0 when
	// absent); NCtx is llama.cpp's meta.n_ctx (the served context) and
	// NCtxTrain its meta.n_ctx_train (the model's training context).
	MaxModelLen int `json:"max_model_len,omitempty"`
	NCtx        int `json:"n_ctx,omitempty"`
	NCtxTrain   int `json:"n_ctx_train,omitempty"`
}

// Answer is one endpoint's answer to a GET.
type Answer struct {
	// Path is the URL path asked.
	Path string `json:"path"`
	// Status is the HTTP status, 0 when no response came.
	Status int `json:"status,omitempty"`
	// Body is the JSON body with secrets redacted and long strings
	// elided; empty when the body was not JSON.
	Body json.RawMessage `json:"body,omitempty"`
	// Error says why there is no usable answer.
	Error string `json:"error,omitempty"`
}

// PinStatus is the probe's verdict on the output-length pin.
type PinStatus string

// Pin verdicts.
const (
	// PinHonored: the output came out at the pinned length.
	PinHonored PinStatus = "honored"
	// PinIgnored: the output stopped short of the pinned length.
	PinIgnored PinStatus = "ignored"
	// PinUnknown: the target reported no usage and streamed fewer deltas
	// than the pinned length, so the length is unknown.
	PinUnknown PinStatus = "unknown"
)

// ProbeResult is the outcome of one probe request: one short streamed
// request of one API, its output pinned, sent before the run.
type ProbeResult struct {
	// API is the API probed; Engine the dialect used; URL the endpoint
	// (without credentials).
	API    string `json:"api"`
	Engine string `json:"engine"`
	URL    string `json:"url"`
	// Status is the HTTP status (0 when no response came); Err says what
	// failed when the request did not complete.
	Status int    `json:"status"`
	Err    string `json:"error,omitempty"`
	// Asked is the pinned output length, tokens; PinFields the fields
	// that pinned it.
	Asked     int      `json:"asked"`
	PinFields []string `json:"pin_fields"`
	// Output, Input, Cached and Reasoning are the usage the target
	// reported, tokens; -1 when not reported.
	Output    int `json:"output_tokens"`
	Input     int `json:"input_tokens"`
	Cached    int `json:"cached_tokens"`
	Reasoning int `json:"reasoning_tokens"`
	// Deltas counts stream events that carried output (content,
	// reasoning or tool-call deltas); ReasoningDeltas those that carried
	// reasoning.
	Deltas          int `json:"deltas"`
	ReasoningDeltas int `json:"reasoning_deltas"`
	// Streamed is set when the response was an event stream that ended
	// with the API's end-of-stream event.
	Streamed bool `json:"streamed"`
	// Pin is the verdict on the pin.
	Pin PinStatus `json:"pin"`
	// Notes are what the probe saw that does not stop a run (usage
	// missing, no cached-token field), with the engine's caveats.
	Notes []string `json:"notes,omitempty"`
}

// String summarises a result on one line.
func (r ProbeResult) String() string {
	out := "?"
	if r.Output >= 0 {
		out = strconv.Itoa(r.Output)
	}
	return fmt.Sprintf("%s %s: status %d, pin %s (%s of %d tokens), streamed %v, cached %d, reasoning %d",
		r.API, r.Engine, r.Status, r.Pin, out, r.Asked, r.Streamed, r.Cached, r.Reasoning)
}

// RequestSettings records the request fields replay set in every body,
// besides the model, streaming and the output pin.
type RequestSettings struct {
	// Sampling is the sampling preset's name ("" when none);
	// ModelPreset the model preset applied ("" when none).
	Sampling    string `json:"sampling,omitempty"`
	ModelPreset string `json:"model_preset,omitempty"`
	// User are the user's own PATH=JSON settings, in order.
	User []string `json:"user,omitempty"`
	// PerAPI is, per API sent, every PATH=JSON setting in the order
	// applied: presets first, the user's last.
	PerAPI map[string][]string `json:"per_api,omitempty"`
	// Pin is, per API, the fields that pinned output length (the
	// max-tokens field first); empty when output was not pinned.
	Pin map[string][]string `json:"pin,omitempty"`
	// Dropped says which preset fields an API or engine does not take and
	// were not sent, one line each.
	Dropped []string `json:"dropped,omitempty"`
}

// ContextMeta records the context limit the plan was cut to.
type ContextMeta struct {
	// Limit is the context length, tokens (0 when unknown: nothing was
	// cut); Source where it came from ("given", or the target's answer).
	Limit  int    `json:"limit"`
	Source string `json:"source,omitempty"`
	// Policy is "truncate" (a session's later turns dropped), "skip" or
	// "fail" (the run refused to cut).
	Policy string `json:"policy"`
	// Sessions counts the plan's sessions; Truncated those that lost
	// turns, Skipped those dropped; KeptTurns and DroppedTurns the turns.
	Sessions     int `json:"sessions"`
	Truncated    int `json:"truncated"`
	Skipped      int `json:"skipped"`
	KeptTurns    int `json:"kept_turns"`
	DroppedTurns int `json:"dropped_turns"`
	// Longest is the largest prompt + output of any turn, tokens.
	Longest int `json:"longest"`
}

// PowerMeta records the power sampled during the run (docs/power.md).
type PowerMeta struct {
	// File is the power file's name, beside the results (PowerPath), ""
	// when it could not be written (Error says why).
	File  string `json:"file,omitempty"`
	Error string `json:"error,omitempty"`
	// Sources are the sources' labels (no credentials).
	Sources []string `json:"sources"`
	// Samples counts the samples; Gaps describes each span a source gave
	// no readings (why, how long, whether it recovered).
	Samples int      `json:"samples"`
	Gaps    []string `json:"gaps,omitempty"`
}
