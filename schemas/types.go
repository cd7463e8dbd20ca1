package schemas

// Trace-set file names inside a trace-set directory.
const (
	SessionsFile = "sessions.parquet"
	RequestsFile = "requests.parquet"
	BlobsFile    = "blobs.parquet"
)

// API kinds of a request, as stored in Request.API.
const (
	APIAnthropic       = "anthropic"        // POST /v1/messages
	APIOpenAIChat      = "openai-chat"      // POST /v1/chat/completions
	APIOpenAIResponses = "openai-responses" // POST /v1/responses
	APIRaw             = "raw"              // an unknown shape, kept whole
)

// Blob kinds, as stored in Blob.Kind. A request body is rebuilt from its
// params plus its prompt blobs: "system", "tools", "instructions" and "input"
// set the body field of that name; "message" blobs are appended, in order,
// to the API's list field (messages, or input for OpenAI Responses); "body"
// is a whole raw body. A "request_meta" blob (schema 1.2) holds the leading
// blocks of an Anthropic system list that are per-request metadata, not
// prompt (IsRequestMetadataBlock); it is rebuilt in front of the system
// blob's blocks.
const (
	KindSystem       = "system"
	KindTools        = "tools"
	KindInstructions = "instructions"
	KindInput        = "input"
	KindMessage      = "message"
	KindBody         = "body"
	KindRequestMeta  = "request_meta"
)

// Session sources, as stored in Session.Source.
const (
	SourceProxy  = "proxy"
	SourceImport = "import"
	SourceSynth  = "synth"
)

// Blob is one row of blobs.parquet: a distinct piece of content — a message,
// system prompt, tool list or response item — stored once and referenced by
// id from requests.
type Blob struct {
	// ID is the content address: the first 63 bits of SHA-256 over the kind,
	// a NUL byte and Body.
	ID int64 `parquet:"id"`
	// Kind is one of the Kind* constants.
	Kind string `parquet:"kind,dict"`
	// Tokens is the o200k_base token count of the model-visible text
	// (tokens.VisibleText), without chat-template overhead.
	Tokens int32 `parquet:"tokens"`
	// Body is the canonical JSON (sorted keys, no insignificant space).
	// In blobs.parquet it is empty when Recipe is set; TraceSet's readers
	// fill it in from the recipe.
	Body string `parquet:"body,zstd"`
	// Recipe is the text form of the Recipe that rebuilds Body (a
	// generated blob, e.g. a Mooncake block's filler), or empty when Body
	// is stored. (Added in schema 1.2.)
	Recipe string `parquet:"recipe,zstd"`
}

// Request is one row of requests.parquet: one model call ("turn").
type Request struct {
	// SessionID names the trajectory the request belongs to.
	SessionID string `parquet:"session_id,dict"`
	// Turn is the 0-based index of the request within its session.
	Turn int32 `parquet:"turn"`
	// API is one of the API* constants.
	API string `parquet:"api,dict"`
	// Model is the model the request asked for.
	Model string `parquet:"model,dict"`
	// Stream is true when the request asked for a streamed response.
	Stream bool `parquet:"stream"`
	// Params is the canonical JSON object of the body's fields that are not
	// stored as blobs (model, max_tokens, sampling parameters, metadata…).
	Params string `parquet:"params,dict"`
	// Prompt lists the blob ids that make up the prompt, in order.
	Prompt []int64 `parquet:"prompt,list"`
	// Response lists the blob ids of the response (assistant message or
	// output items), in order; empty when the call failed.
	Response []int64 `parquet:"response,list"`
	// HashIDs are chained hashes of the prompt's 512-token blocks
	// (tokens.BlockHashes); equal ids mean equal prefixes.
	HashIDs []int64 `parquet:"hash_ids,list"`
	// StartNS is when the request was sent, Unix ns; 0 when unknown.
	StartNS int64 `parquet:"start_ns"`
	// FirstTokenNS is when the first content token arrived, Unix ns; 0 when
	// unknown.
	FirstTokenNS int64 `parquet:"first_token_ns"`
	// EndNS is when the response ended, Unix ns; 0 when unknown.
	EndNS int64 `parquet:"end_ns"`
	// FirstByteNS is when the first response byte arrived, Unix ns; 0 when
	// unknown. (Added in schema 1.1; capture fills it.)
	FirstByteNS int64 `parquet:"first_byte_ns"`
	// ChunkNS lists the arrival of every response chunk (each read of the
	// body as it came off the wire) as ns after StartNS; empty when
	// unknown. (Added in schema 1.1; capture fills it.)
	ChunkNS []int64 `parquet:"chunk_ns,list" parquet-element:",delta"`
	// ThinkNS is the agent's think/tool time before this request: its start
	// minus the previous turn's end in the same session, ns. 0 for turn 0.
	ThinkNS int64 `parquet:"think_ns"`
	// InputTokens is the local o200k_base count of the prompt (sum of the
	// prompt blobs' tokens).
	InputTokens int32 `parquet:"input_tokens"`
	// OutputTokens is the output length to reproduce: the provider-reported
	// output tokens when known, else the local count of the response blobs.
	OutputTokens int32 `parquet:"output_tokens"`
	// Usage* are provider-reported token counts; nil when the provider did
	// not report them. UsageInput is the total prompt, cached included.
	UsageInput      *int64 `parquet:"usage_input_tokens,optional"`
	UsageCached     *int64 `parquet:"usage_cached_tokens,optional"`
	UsageCacheWrite *int64 `parquet:"usage_cache_write_tokens,optional"`
	UsageOutput     *int64 `parquet:"usage_output_tokens,optional"`
	UsageReasoning  *int64 `parquet:"usage_reasoning_tokens,optional"`
	// Status is the HTTP status of the response; 0 when none arrived.
	// A turn captured over a WebSocket has no status of its own and
	// records 200 once its response arrived.
	Status int32 `parquet:"status"`
	// Error describes a failed or truncated call; empty on success.
	Error string `parquet:"error"`
	// ContextItems is the number of leading message items of the prompt
	// the client did not send: capture rebuilt them from the earlier
	// response the request named with previous_response_id (that
	// response's full input and its output items), so the prompt is the
	// whole context the model saw. 0 when the prompt is as sent. (Added
	// in schema 1.2.)
	ContextItems int32 `parquet:"context_items"`
	// Extras is a JSON object of what a source recorded about the call
	// that no column holds, keyed by source (ExtrasAA: the fields of an
	// AA replay line; ExtrasTransport: "websocket" for calls captured over
	// a WebSocket; ExtrasPreviousResponseID); empty when none. (Added in
	// schema 1.2.)
	Extras string `parquet:"extras"`
}

// Keys of Request.Extras.
const (
	// ExtrasAA holds an imported AA replay line's fields other than
	// messages and tools, as read (see convert).
	ExtrasAA = "aa"
	// ExtrasTransport names the transport a call was captured on when it
	// was not HTTP ("websocket").
	ExtrasTransport = "transport"
	// ExtrasPreviousResponseID is the previous_response_id the client
	// sent; the prompt holds the context it referred to (ContextItems).
	ExtrasPreviousResponseID = "previous_response_id"
)

// Session is one row of sessions.parquet: one trajectory.
type Session struct {
	// ID is the session id, unique within the trace set.
	ID string `parquet:"session_id"`
	// Source is one of the Source* constants.
	Source string `parquet:"source,dict"`
	// Agent names the client (claude-code, codex, opencode, sdk, synth, …).
	Agent string `parquet:"agent,dict"`
	// Model is the model of the session's first request.
	Model string `parquet:"model,dict"`
	// API is the API kind of the session's first request.
	API string `parquet:"api,dict"`
	// Parent is the id of the session that spawned this one (sub-agents);
	// empty for top-level sessions.
	Parent string `parquet:"parent_session_id"`
	// ParentTurn is the turn of Parent whose response spawned this
	// session (the sub-agent tool call whose prompt this session's first
	// user message carries); nil when unknown or top-level. (Added in
	// schema 1.2.)
	ParentTurn *int32 `parquet:"parent_turn,optional"`
	// ParentOffsetNS is when this session started relative to its parent,
	// ns: its first request's start minus the end of the ParentTurn turn,
	// or, when ParentTurn is nil, minus the parent's first request start.
	// 0 for top-level sessions and when times are unknown. (Added in
	// schema 1.2.)
	ParentOffsetNS int64 `parquet:"parent_offset_ns"`
	// Turns is the number of requests in the session.
	Turns int32 `parquet:"turns"`
	// InputTokens and OutputTokens sum the requests' counts.
	InputTokens  int64 `parquet:"input_tokens"`
	OutputTokens int64 `parquet:"output_tokens"`
	// StartNS and EndNS bound the session's requests, Unix ns; 0 when unknown.
	StartNS int64 `parquet:"start_ns"`
	EndNS   int64 `parquet:"end_ns"`
}

// Int64 returns a pointer to v, for the optional usage fields.
func Int64(v int64) *int64 { return &v }

// Int32 returns a pointer to v, for Session.ParentTurn.
func Int32(v int32) *int32 { return &v }
