package anonymize

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/tokens"
)

// Options configures TraceSet.
type Options struct {
	// Salt is mixed into every replacement: the same trace set anonymized
	// with different salts shares no filler. Empty is a valid salt.
	Salt string
	// Overwrite replaces an existing trace set at the output.
	Overwrite bool
}

// Stats counts what TraceSet rewrote.
type Stats struct {
	Sessions, Requests, Blobs int
}

// TraceSet writes an anonymized copy of the trace set in to out.
//
// What changes: every string the model reads (message text, system
// prompts, tool descriptions, tool-call arguments and inputs, tool
// results, reasoning) becomes filler text of the same o200k_base token
// count, seeded by a hash of the original string, so equal strings stay
// equal (a tool's name matches between the tool list and its calls) and
// equal blobs stay equal (prefix sharing and hash ids keep their
// pattern); tool and function names become identifiers (tool_<hash>);
// opaque values (signatures, encrypted reasoning, images, URLs) become
// hashes; session ids and the free-form strings of request parameters
// (metadata.user_id, prompt_cache_key, user, …) become hashes.
//
// Request-metadata blobs (schemas.KindRequestMeta: a billing header
// carrying the agent's version and a per-request checksum) stay metadata
// blobs, their text replaced by filler of the same token count like any
// other text: replay leaves them out by default as before, and a replay
// of the request as recorded still sends, at the same place, as many
// tokens as the agent did, varying per request as they did. Generated
// blobs (a schemas.Recipe, e.g. an import's filler) stay recipes, of the
// same kind and token count, with the seed replaced by a hash of the
// recipe: no text to hide, and the copy stays as small as the original.
//
// What stays: JSON structure (keys, arrays, numbers, booleans, roles, block
// types, ids that link tool calls to results), each blob's token count as
// recorded, model names, sampling parameters, timings, think times,
// provider usage, status, context_items, agents and sub-agent links (the
// parent session, under its new id, parent_turn and parent_offset_ns).
//
// What goes: each request's extras column. It holds what a source recorded
// beyond the columns — an imported AA line's fields (task_id, source and
// others that can name a repository or a customer), the capture transport,
// the previous_response_id sent — which anonymize cannot vet field by
// field, so the copy has none (an AA export of it writes lines from the
// columns alone).
func TraceSet(in, out string, opt Options) (Stats, error) {
	var st Stats
	ts, err := schemas.OpenTraceSet(in, schemas.TraceSetOptions{})
	if err != nil {
		return st, err
	}
	defer ts.Close()
	w, err := schemas.CreateTraceSet(out, schemas.TraceWriterOptions{Overwrite: opt.Overwrite})
	if err != nil {
		return st, err
	}
	a := &anonymizer{salt: opt.Salt, blobs: map[int64]schemas.Part{}}
	sessions := map[string]schemas.Session{}
	if err := ts.Sessions(func(s *schemas.Session) error {
		sessions[s.ID] = *s
		return nil
	}); err != nil {
		w.Abort()
		return st, err
	}
	seen := map[string]bool{}
	err = ts.Requests(func(r *schemas.Request) error {
		sid := a.hashID("s-", r.SessionID)
		if !seen[r.SessionID] {
			seen[r.SessionID] = true
			s := sessions[r.SessionID]
			parent := ""
			if s.Parent != "" {
				parent = a.hashID("s-", s.Parent)
			}
			w.SetSession(schemas.Session{ID: sid, Source: s.Source, Agent: s.Agent, Parent: parent,
				ParentTurn: s.ParentTurn, ParentOffsetNS: s.ParentOffsetNS})
			st.Sessions++
		}
		parts := make([]schemas.Part, 0, len(r.Prompt))
		for _, id := range r.Prompt {
			p, err := a.blob(ts, id)
			if err != nil {
				return err
			}
			parts = append(parts, p)
		}
		resp := make([][]byte, 0, len(r.Response))
		for _, id := range r.Response {
			p, err := a.blob(ts, id)
			if err != nil {
				return err
			}
			// Store the response blob with its recorded count (or as its
			// recipe) first; WriteTurn then finds it by content.
			if !p.Recipe.IsZero() {
				if _, _, err := w.PutRecipe(p.Kind, p.Recipe); err != nil {
					return err
				}
			} else if _, _, err := w.PutBlob(p.Kind, p.Body, p.Tokens); err != nil {
				return err
			}
			resp = append(resp, p.Bytes())
		}
		t := &schemas.Turn{SessionID: sid, API: r.API, Params: a.params([]byte(r.Params)), Parts: parts, Response: resp,
			StartNS: r.StartNS, FirstTokenNS: r.FirstTokenNS, EndNS: r.EndNS, ThinkNS: r.ThinkNS,
			FirstByteNS: r.FirstByteNS, ChunkNS: append([]int64(nil), r.ChunkNS...),
			Usage: schemas.Usage{Input: r.UsageInput, Cached: r.UsageCached, CacheWrite: r.UsageCacheWrite,
				Output: r.UsageOutput, Reasoning: r.UsageReasoning},
			OutputTokens: int(r.OutputTokens), Status: int(r.Status), Error: r.Error,
			ContextItems: int(r.ContextItems)} // Extras are dropped: see TraceSet's doc
		if _, err := w.WriteTurn(t); err != nil {
			return err
		}
		st.Requests++
		return nil
	})
	if err != nil {
		w.Abort()
		return st, err
	}
	st.Blobs = len(a.blobs)
	return st, w.Close()
}

type anonymizer struct {
	salt  string
	blobs map[int64]schemas.Part
	// scratch is TraceSet.Parts's reused slice.
	scratch []schemas.Part
}

func (a *anonymizer) hash(s string) [32]byte {
	return sha256.Sum256([]byte(a.salt + "\x00" + s))
}

func (a *anonymizer) seed(s string) uint64 {
	h := a.hash(s)
	return binary.LittleEndian.Uint64(h[:8])
}

func (a *anonymizer) hashID(prefix, s string) string {
	h := a.hash(s)
	return prefix + hex.EncodeToString(h[:8])
}

// blob returns the anonymized part for a blob id, rewriting it once. A
// generated blob is read as its recipe, never generated.
func (a *anonymizer) blob(ts *schemas.TraceSet, id int64) (schemas.Part, error) {
	if p, ok := a.blobs[id]; ok {
		return p, nil
	}
	parts, err := ts.Parts(a.scratch[:0], []int64{id})
	if err != nil {
		return schemas.Part{}, err
	}
	a.scratch = parts
	in := parts[0]
	p := schemas.Part{Kind: in.Kind, Tokens: in.Tokens}
	if !in.Recipe.IsZero() && len(in.Body) == 0 {
		p.Recipe = in.Recipe
		p.Recipe.Seed = a.seed(in.Recipe.String())
		a.blobs[id] = p
		return p, nil
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(in.Body))
	d.UseNumber()
	if d.Decode(&v) == nil {
		p.Body = canonical(a.value(v, ""))
	} else {
		p.Body = canonical(a.text(string(in.Body)))
	}
	a.blobs[id] = p
	return p, nil
}

// Keys whose string values are structure and stay as they are.
var keepKeys = map[string]bool{
	"role": true, "type": true, "id": true, "tool_call_id": true, "tool_use_id": true, "call_id": true,
	"status": true, "media_type": true, "detail": true, "format": true, "cache_control": true,
	"stop_reason": true, "finish_reason": true, "object": true, "phase": true,
}

// Keys whose string values are opaque and become hashes.
var opaqueKeys = map[string]bool{
	"signature": true, "encrypted_content": true, "data": true, "url": true, "image_url": true,
	"file_id": true, "file_data": true, "file_url": true,
}

// Keys whose string values name a tool: identifiers, not prose.
var nameKeys = map[string]bool{"name": true}

// Keys holding a JSON Schema: only descriptions and titles are prose.
var schemaKeys = map[string]bool{"input_schema": true, "parameters": true, "schema": true}

func (a *anonymizer) value(v any, key string) any {
	switch x := v.(type) {
	case string:
		switch {
		case keepKeys[key]:
			return x
		case opaqueKeys[key]:
			return a.hashID("anon:", x)
		case nameKeys[key]:
			return a.hashID("tool_", x)
		case key == "arguments":
			// OpenAI tool-call arguments: JSON text inside a string.
			var inner any
			d := json.NewDecoder(strings.NewReader(x))
			d.UseNumber()
			if d.Decode(&inner) == nil {
				return string(canonical(a.value(inner, "")))
			}
		}
		return a.text(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = a.value(e, key)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if schemaKeys[k] {
				out[k] = a.schema(e)
				continue
			}
			out[k] = a.value(e, k)
		}
		return out
	}
	return v
}

// schema keeps a JSON Schema's structure and replaces its prose.
func (a *anonymizer) schema(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if s, ok := e.(string); ok && (k == "description" || k == "title") {
				out[k] = a.text(s)
				continue
			}
			out[k] = a.schema(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = a.schema(e)
		}
		return out
	}
	return v
}

// text returns filler of the same token count as s, seeded by s.
func (a *anonymizer) text(s string) string {
	if s == "" {
		return ""
	}
	n := tokens.Count(s)
	return strings.TrimPrefix(tokens.Filler(a.seed(s), n), " ")
}

// Parameter keys whose string values are kept (enumerations, models).
var keepParams = map[string]bool{
	"model": true, "type": true, "effort": true, "summary": true, "verbosity": true, "service_tier": true,
	"tool_choice": true, "truncation": true, "reasoning_effort": true, "format": true, "mode": true,
	"include": true, "modalities": true, "stop": true, "role": true, "generate_summary": true,
}

// params rewrites the free-form strings of the request parameters.
func (a *anonymizer) params(p []byte) []byte {
	var v any
	d := json.NewDecoder(bytes.NewReader(p))
	d.UseNumber()
	if d.Decode(&v) != nil {
		return []byte("{}")
	}
	var walk func(v any, key string) any
	walk = func(v any, key string) any {
		switch x := v.(type) {
		case string:
			if keepParams[key] {
				return x
			}
			return a.hashID("anon-", x)
		case []any:
			for i := range x {
				x[i] = walk(x[i], key)
			}
			return x
		case map[string]any:
			for k, e := range x {
				x[k] = walk(e, k)
			}
			return x
		}
		return v
	}
	return canonical(walk(v, ""))
}

// canonical encodes v as canonical JSON (schemas.Canonical of its
// encoding).
func canonical(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("anonymize: encoding JSON: %v", err))
	}
	c, err := schemas.Canonical(buf.Bytes())
	if err != nil {
		panic(fmt.Sprintf("anonymize: canonical JSON: %v", err))
	}
	return c
}
