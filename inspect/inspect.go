package inspect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/tokens"
)

// Stats describes a trace set. It is what `agentperf inspect --json`
// prints; field names are stable (see docs/trace-format.md).
type Stats struct {
	// Dir is the trace-set directory.
	Dir string `json:"dir"`
	// Sessions, Requests and Blobs count rows of the three files.
	Sessions int64 `json:"sessions"`
	Requests int64 `json:"requests"`
	Blobs    int64 `json:"blobs"`
	// APIs and Models count requests per API kind and model; Sources and
	// Agents count sessions.
	APIs    map[string]int64 `json:"apis"`
	Models  map[string]int64 `json:"models"`
	Sources map[string]int64 `json:"sources"`
	Agents  map[string]int64 `json:"agents"`
	// TurnsPerSession is the distribution of requests per session.
	TurnsPerSession Dist `json:"turns_per_session"`
	// InputTokens and OutputTokens are per-request distributions (tokens):
	// the local prompt count and the output length to reproduce.
	InputTokens  Dist `json:"input_tokens"`
	OutputTokens Dist `json:"output_tokens"`
	// ThinkSeconds is the distribution of think/tool time before a request,
	// seconds, over requests after the first of their session.
	ThinkSeconds Dist `json:"think_seconds"`
	// TotalInputTokens and TotalOutputTokens sum all requests.
	TotalInputTokens  int64 `json:"total_input_tokens"`
	TotalOutputTokens int64 `json:"total_output_tokens"`
	// PrefixReuse is the share (0–1) of all input tokens that the previous
	// request of the same session already sent as a prefix: the tokens of
	// the longest common prefix of the two prompts' blob lists, request_meta
	// blobs left out.
	PrefixReuse float64 `json:"prefix_reuse"`
	// BlockReuse is the share (0–1) of all input tokens that lie in
	// 512-token blocks whose hash_ids equal the previous request's: what a
	// block-granular KV cache could reuse.
	BlockReuse float64 `json:"block_reuse"`
	// FailedRequests counts requests with an error or a non-2xx status.
	FailedRequests int64 `json:"failed_requests"`
	// MaterializedRequests counts requests whose prompt capture rebuilt
	// from the response named by previous_response_id (context_items >
	// 0); UnresolvedPreviousResponse those still carrying a
	// previous_response_id capture could not resolve, whose prompt holds
	// only the items sent.
	MaterializedRequests       int64 `json:"materialized_requests"`
	UnresolvedPreviousResponse int64 `json:"unresolved_previous_response_requests"`
	// RequestMetadataRequests counts requests with a request_meta blob
	// (per-request metadata such as Claude Code's billing block, kept but
	// left out of input_tokens, hash_ids and the reuse figures).
	RequestMetadataRequests int64 `json:"request_metadata_requests"`
	// LinkedSubAgents counts sessions linked to the parent turn that
	// spawned them (parent_turn set).
	LinkedSubAgents int64 `json:"linked_sub_agents"`
	// FirstStartNS and LastEndNS bound the requests' times (Unix ns; 0 when
	// unknown).
	FirstStartNS int64 `json:"first_start_ns"`
	LastEndNS    int64 `json:"last_end_ns"`
	// BlobBytes sums the (uncompressed) blob bodies per kind, generated
	// bodies as rebuilt.
	BlobBytes map[string]int64 `json:"blob_bytes"`
	// GeneratedBlobs counts blobs stored as a recipe (generated text, such
	// as a Mooncake block's filler, rebuilt on read) rather than as bytes.
	GeneratedBlobs int64 `json:"generated_blobs"`
	// FileBytes is each file's size on disk; DiskBytes their sum.
	FileBytes map[string]int64 `json:"file_bytes"`
	DiskBytes int64            `json:"disk_bytes"`
	// JSONLBytes is the size of the same requests written naively, one
	// rebuilt request body per line (newline included); 0 when not
	// computed. JSONLRatio is JSONLBytes / DiskBytes.
	JSONLBytes int64   `json:"jsonl_bytes"`
	JSONLRatio float64 `json:"jsonl_ratio"`
	// Problems lists what Check found: null when the set was not checked,
	// [] when it was and is consistent. ProblemsTruncated counts problems
	// beyond the ones listed.
	Problems          []Problem `json:"problems"`
	ProblemsTruncated int       `json:"problems_truncated"`
}

// Problem is one inconsistency Check found.
type Problem struct {
	// File is the trace-set file the problem is in (e.g. requests.parquet).
	File string `json:"file"`
	// Message says what is wrong and where (session, turn, blob id).
	Message string `json:"message"`
}

func (p Problem) String() string { return p.File + ": " + p.Message }

// Options configures Inspect and Check.
type Options struct {
	// SkipJSONL skips rebuilding every request body to measure the naive
	// one-body-per-line size (Stats.JSONLBytes stays 0).
	SkipJSONL bool
	// Check validates the set while inspecting it (Stats.Problems).
	Check bool
	// Recount recounts every blob's tokens with the tokenizer during a check
	// (slow: a few MB/s).
	Recount bool
	// MaxProblems bounds the problems listed; 0 means 100.
	MaxProblems int
}

// Inspect reads the whole trace set once and returns its statistics (and,
// with opt.Check, its problems).
func Inspect(ts *schemas.TraceSet, opt Options) (*Stats, error) {
	sc := newScan(ts, opt)
	if err := sc.run(); err != nil {
		return nil, err
	}
	return sc.stats(), nil
}

// Check validates a trace set and returns the problems found (empty when
// the set is consistent): every referenced blob exists; blob ids match
// BlobID(kind, body); blob bodies and request params are valid JSON and fit
// together into a valid body;
// turns run 0, 1, 2… per session in file order; input_tokens is the sum of
// the prompt blobs' tokens; hash_ids recompute equal; times are ordered;
// and session rows match their requests (turns, token totals, times).
// The error is for a set that cannot be read at all.
func Check(ts *schemas.TraceSet, opt Options) ([]Problem, error) {
	opt.Check = true
	opt.SkipJSONL = true
	sc := newScan(ts, opt)
	if err := sc.run(); err != nil {
		return nil, err
	}
	return sc.problems, nil
}

type blobInfo struct {
	tokens int32
	kind   uint8
}

var kindCodes = map[string]uint8{
	schemas.KindSystem: 1, schemas.KindTools: 2, schemas.KindInstructions: 3,
	schemas.KindInput: 4, schemas.KindMessage: 5, schemas.KindBody: 6,
	schemas.KindRequestMeta: 7,
}

// metaCode is the kind code of request_meta blobs.
var metaCode = kindCodes[schemas.KindRequestMeta]

var knownAPIs = map[string]bool{
	schemas.APIAnthropic: true, schemas.APIOpenAIChat: true, schemas.APIOpenAIResponses: true, schemas.APIRaw: true,
}

// sessionState is what the scan keeps per session: the previous prompt and
// the sums to compare with sessions.parquet.
type sessionState struct {
	turns         int32
	prevPrompt    []int64
	prevHash      []int64
	input, output int64
	start, end    int64
	model, api    string
}

type scan struct {
	ts     *schemas.TraceSet
	opt    Options
	blobs  map[int64]blobInfo
	sess   map[string]*sessionState
	params map[string]map[string]bool
	order  []string

	problems  []Problem
	truncated int

	nReq, nBlobs, nSess, generated           int64
	apis, models, sources, agents, blobBytes map[string]int64
	turns, in, out, think                    histogram
	totalIn, totalOut, reused, blockReused   int64
	failed                                   int64
	materialized, unresolved, meta, linked   int64
	prompt                                   []int64 // the prompt without request_meta blobs
	first, last                              int64
	jsonl                                    int64
}

func newScan(ts *schemas.TraceSet, opt Options) *scan {
	if opt.MaxProblems <= 0 {
		opt.MaxProblems = 100
	}
	return &scan{ts: ts, opt: opt, blobs: map[int64]blobInfo{}, sess: map[string]*sessionState{}, params: map[string]map[string]bool{},
		apis: map[string]int64{}, models: map[string]int64{}, sources: map[string]int64{},
		agents: map[string]int64{}, blobBytes: map[string]int64{}}
}

func (sc *scan) problem(file, format string, args ...any) {
	if len(sc.problems) >= sc.opt.MaxProblems {
		sc.truncated++
		return
	}
	sc.problems = append(sc.problems, Problem{File: file, Message: fmt.Sprintf(format, args...)})
}

func (sc *scan) run() error {
	if err := sc.scanBlobs(); err != nil {
		return err
	}
	if err := sc.scanRequests(); err != nil {
		return err
	}
	return sc.scanSessions()
}

func (sc *scan) scanBlobs() error {
	check := sc.opt.Check
	return sc.ts.Blobs(func(b *schemas.Blob) error {
		sc.nBlobs++
		code, ok := kindCodes[b.Kind]
		sc.blobBytes[b.Kind] += int64(len(b.Body))
		if b.Recipe != "" {
			sc.generated++
		}
		if check {
			body := []byte(b.Body)
			if _, dup := sc.blobs[b.ID]; dup {
				sc.problem(schemas.BlobsFile, "blob %d appears twice", b.ID)
			}
			if !ok {
				sc.problem(schemas.BlobsFile, "blob %d has unknown kind %q", b.ID, b.Kind)
			}
			if id := schemas.BlobID(b.Kind, body); id != b.ID {
				sc.problem(schemas.BlobsFile, "blob %d (kind %s): id does not match its content (BlobID gives %d)", b.ID, b.Kind, id)
			}
			if !json.Valid(body) {
				sc.problem(schemas.BlobsFile, "blob %d (kind %s): body is not valid JSON: %.80q", b.ID, b.Kind, b.Body)
			} else if c, err := schemas.Canonical(body); err == nil && !bytes.Equal(c, body) {
				sc.problem(schemas.BlobsFile, "blob %d (kind %s): body is not canonical JSON (sorted keys, no spaces)", b.ID, b.Kind)
			}
			if b.Tokens < 0 {
				sc.problem(schemas.BlobsFile, "blob %d: negative token count %d", b.ID, b.Tokens)
			} else if sc.opt.Recount {
				if n := tokens.CountJSON(body); n != int(b.Tokens) {
					sc.problem(schemas.BlobsFile, "blob %d (kind %s): tokens %d, the tokenizer counts %d", b.ID, b.Kind, b.Tokens, n)
				}
			}
		}
		sc.blobs[b.ID] = blobInfo{tokens: b.Tokens, kind: code}
		return nil
	})
}

func (sc *scan) scanRequests() error {
	const rf = schemas.RequestsFile
	check := sc.opt.Check
	var (
		segs []tokens.Segment
		body []byte
	)
	return sc.ts.Requests(func(r *schemas.Request) error {
		sc.nReq++
		where := fmt.Sprintf("session %q turn %d", r.SessionID, r.Turn)
		st, ok := sc.sess[r.SessionID]
		if !ok {
			st = &sessionState{start: r.StartNS, model: r.Model, api: r.API}
			sc.sess[r.SessionID] = st
			sc.order = append(sc.order, r.SessionID)
		}
		sc.apis[r.API]++
		sc.models[r.Model]++
		// Prompt tokens, reuse against the previous request.
		segs = segs[:0]
		sc.prompt = sc.prompt[:0]
		var in int64
		missing, hasMeta := false, false
		for _, id := range r.Prompt {
			bi, ok := sc.blobs[id]
			if !ok {
				missing = true
				if check {
					sc.problem(rf, "%s: prompt blob %d is not in %s", where, id, schemas.BlobsFile)
				}
				continue
			}
			if bi.kind == metaCode {
				hasMeta = true // metadata, not prompt: no tokens, no blocks, no reuse
				continue
			}
			sc.prompt = append(sc.prompt, id)
			in += int64(bi.tokens)
			segs = append(segs, tokens.Segment{ID: id, Tokens: int(bi.tokens)})
		}
		if hasMeta {
			sc.meta++
		}
		if r.ContextItems > 0 {
			sc.materialized++
		}
		if strings.Contains(r.Params, `"previous_response_id"`) {
			sc.unresolved++
		}
		if st.turns > 0 {
			common := 0
			for common < len(sc.prompt) && common < len(st.prevPrompt) && sc.prompt[common] == st.prevPrompt[common] {
				sc.reused += int64(sc.blobs[sc.prompt[common]].tokens)
				common++
			}
			blocks := 0
			for blocks < len(r.HashIDs) && blocks < len(st.prevHash) && r.HashIDs[blocks] == st.prevHash[blocks] {
				blocks++
			}
			sc.blockReused += min(int64(blocks)*tokens.BlockSize, int64(r.InputTokens))
			if r.ThinkNS >= 0 {
				sc.think.add(float64(r.ThinkNS))
			}
		}
		st.prevPrompt = append(st.prevPrompt[:0], sc.prompt...)
		st.prevHash = append(st.prevHash[:0], r.HashIDs...)
		sc.in.add(float64(r.InputTokens))
		sc.out.add(float64(r.OutputTokens))
		sc.totalIn += int64(r.InputTokens)
		sc.totalOut += int64(r.OutputTokens)
		if r.Error != "" || (r.Status != 0 && (r.Status < 200 || r.Status > 299)) {
			sc.failed++
		}
		if r.StartNS > 0 && (sc.first == 0 || r.StartNS < sc.first) {
			sc.first = r.StartNS
		}
		sc.last = max(sc.last, r.EndNS)

		if check {
			if r.SessionID == "" {
				sc.problem(rf, "%s: empty session id", where)
			}
			if r.Turn != st.turns {
				sc.problem(rf, "%s: turns of a session must run 0, 1, 2… in file order; expected turn %d", where, st.turns)
			}
			if !knownAPIs[r.API] {
				sc.problem(rf, "%s: unknown api %q", where, r.API)
			}
			if p := bytes.TrimSpace([]byte(r.Params)); !json.Valid(p) || len(p) == 0 || p[0] != '{' {
				sc.problem(rf, "%s: params is not a JSON object: %.80q", where, r.Params)
			}
			for _, id := range r.Response {
				if _, ok := sc.blobs[id]; !ok {
					sc.problem(rf, "%s: response blob %d is not in %s", where, id, schemas.BlobsFile)
				}
			}
			if r.ContextItems < 0 || int(r.ContextItems) > len(r.Prompt) {
				sc.problem(rf, "%s: context_items %d out of range (the prompt has %d blobs)", where, r.ContextItems, len(r.Prompt))
			}
			if e := bytes.TrimSpace([]byte(r.Extras)); len(e) > 0 && (!json.Valid(e) || e[0] != '{') {
				sc.problem(rf, "%s: extras is not a JSON object: %.80q", where, r.Extras)
			}
			if !missing {
				if in != int64(r.InputTokens) {
					sc.problem(rf, "%s: input_tokens %d, but its prompt blobs hold %d tokens (request_meta left out)", where, r.InputTokens, in)
				}
				if h := tokens.BlockHashes(segs); !slices.Equal(h, r.HashIDs) {
					sc.problem(rf, "%s: hash_ids do not match the prompt (%d stored, %d recomputed)", where, len(r.HashIDs), len(h))
				}
			}
			if r.OutputTokens < 0 || r.InputTokens < 0 {
				sc.problem(rf, "%s: negative token count (input %d, output %d)", where, r.InputTokens, r.OutputTokens)
			}
			if r.ThinkNS < 0 {
				sc.problem(rf, "%s: negative think_ns %d", where, r.ThinkNS)
			}
			if r.StartNS != 0 && r.EndNS != 0 && r.EndNS < r.StartNS {
				sc.problem(rf, "%s: end_ns %d is before start_ns %d", where, r.EndNS, r.StartNS)
			}
			if r.FirstTokenNS != 0 && ((r.StartNS != 0 && r.FirstTokenNS < r.StartNS) || (r.EndNS != 0 && r.FirstTokenNS > r.EndNS)) {
				sc.problem(rf, "%s: first_token_ns %d is outside [start_ns %d, end_ns %d]", where, r.FirstTokenNS, r.StartNS, r.EndNS)
			}
		}
		if check && !missing {
			sc.checkShape(where, r)
		}
		if !sc.opt.SkipJSONL && !missing {
			var err error
			body, err = sc.ts.Body(body[:0], r)
			if err != nil {
				return err
			}
			sc.jsonl += int64(len(body)) + 1
		}
		st.turns++
		st.input += int64(r.InputTokens)
		st.output += int64(r.OutputTokens)
		st.end = max(st.end, r.EndNS)
		return nil
	})
}

// checkShape checks that the request body rebuilds to valid JSON without
// parsing it: its blobs and params are valid JSON (checked once each), so
// the concatenation is valid unless the parts do not fit together — a raw
// "body" blob beside other parts, a field blob twice, or params repeating a
// field the blobs set.
func (sc *scan) checkShape(where string, r *schemas.Request) {
	const rf = schemas.RequestsFile
	var seen [8]int
	for _, id := range r.Prompt {
		seen[sc.blobs[id].kind]++
	}
	if seen[metaCode] > 1 {
		sc.problem(rf, "%s: the prompt has %d request_meta blobs; a body holds one", where, seen[metaCode])
	}
	if seen[metaCode] > 0 && r.API != schemas.APIAnthropic {
		sc.problem(rf, "%s: a request_meta blob in a %s request (only Anthropic system lists hold them)", where, r.API)
	}
	if seen[kindCodes[schemas.KindBody]] > 0 && len(r.Prompt) > 1 {
		sc.problem(rf, "%s: a raw body blob must be the whole prompt, but the prompt has %d blobs", where, len(r.Prompt))
		return
	}
	keys := sc.paramKeys(r.Params)
	for _, kind := range []string{schemas.KindSystem, schemas.KindTools, schemas.KindInstructions, schemas.KindInput} {
		code := kindCodes[kind]
		if seen[code] == 0 {
			continue
		}
		field := kind
		if kind == schemas.KindInput {
			field = "input"
		}
		if seen[code] > 1 {
			sc.problem(rf, "%s: the prompt has %d %q blobs; the body field can hold one", where, seen[code], kind)
		}
		if keys[field] {
			sc.problem(rf, "%s: params sets %q, which a prompt blob also sets", where, field)
		}
	}
	if seen[kindCodes[schemas.KindMessage]] > 0 {
		list := "messages"
		if r.API == schemas.APIOpenAIResponses {
			list = "input"
		}
		if keys[list] {
			sc.problem(rf, "%s: params sets %q, which the message blobs also set", where, list)
		}
	}
}

// paramKeys returns the top-level keys of a params object, cached per
// distinct params string.
func (sc *scan) paramKeys(params string) map[string]bool {
	if k, ok := sc.params[params]; ok {
		return k
	}
	var m map[string]json.RawMessage
	_ = json.Unmarshal([]byte(params), &m)
	k := make(map[string]bool, len(m))
	for key := range m {
		k[key] = true
	}
	if len(sc.params) > 4096 {
		clear(sc.params)
	}
	sc.params[params] = k
	return k
}

func (sc *scan) scanSessions() error {
	const sf = schemas.SessionsFile
	check := sc.opt.Check
	seen := map[string]bool{}
	err := sc.ts.Sessions(func(s *schemas.Session) error {
		sc.nSess++
		sc.sources[s.Source]++
		sc.agents[s.Agent]++
		if s.ParentTurn != nil {
			sc.linked++
		}
		if !check {
			return nil
		}
		if s.ParentTurn != nil && s.Parent == "" {
			sc.problem(sf, "session %q: parent_turn %d without a parent_session_id", s.ID, *s.ParentTurn)
		}
		if seen[s.ID] {
			sc.problem(sf, "session %q appears twice", s.ID)
			return nil
		}
		seen[s.ID] = true
		st := sc.sess[s.ID]
		if st == nil {
			if s.Turns != 0 {
				sc.problem(sf, "session %q says %d turns but has no requests in %s", s.ID, s.Turns, schemas.RequestsFile)
			}
			return nil
		}
		if s.Turns != st.turns {
			sc.problem(sf, "session %q: turns %d, but %s holds %d", s.ID, s.Turns, schemas.RequestsFile, st.turns)
		}
		if s.InputTokens != st.input || s.OutputTokens != st.output {
			sc.problem(sf, "session %q: token totals input %d / output %d, but its requests sum to %d / %d", s.ID, s.InputTokens, s.OutputTokens, st.input, st.output)
		}
		if s.StartNS != st.start || s.EndNS != st.end {
			sc.problem(sf, "session %q: start_ns/end_ns %d/%d, but its requests span %d/%d", s.ID, s.StartNS, s.EndNS, st.start, st.end)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, id := range sc.order {
		sc.turns.add(float64(sc.sess[id].turns))
		if check && !seen[id] {
			sc.problem(sf, "session %q has requests but no row", id)
		}
	}
	return nil
}

func (sc *scan) stats() *Stats {
	s := &Stats{
		Dir: sc.ts.Dir, Sessions: sc.nSess, Requests: sc.nReq, Blobs: sc.nBlobs,
		APIs: sc.apis, Models: sc.models, Sources: sc.sources, Agents: sc.agents,
		TurnsPerSession: sc.turns.dist(1), InputTokens: sc.in.dist(1), OutputTokens: sc.out.dist(1),
		ThinkSeconds: sc.think.dist(1e9), TotalInputTokens: sc.totalIn, TotalOutputTokens: sc.totalOut,
		FailedRequests: sc.failed, FirstStartNS: sc.first, LastEndNS: sc.last,
		MaterializedRequests: sc.materialized, UnresolvedPreviousResponse: sc.unresolved,
		RequestMetadataRequests: sc.meta, LinkedSubAgents: sc.linked,
		BlobBytes: sc.blobBytes, GeneratedBlobs: sc.generated, FileBytes: map[string]int64{},
		Problems: sc.problems, ProblemsTruncated: sc.truncated,
	}
	if sc.totalIn > 0 {
		s.PrefixReuse = float64(sc.reused) / float64(sc.totalIn)
		s.BlockReuse = float64(sc.blockReused) / float64(sc.totalIn)
	}
	for _, name := range []string{schemas.SessionsFile, schemas.RequestsFile, schemas.BlobsFile} {
		if st, err := os.Stat(filepath.Join(sc.ts.Dir, name)); err == nil {
			s.FileBytes[name] = st.Size()
			s.DiskBytes += st.Size()
		}
	}
	if !sc.opt.SkipJSONL {
		s.JSONLBytes = sc.jsonl
		if s.DiskBytes > 0 {
			s.JSONLRatio = float64(s.JSONLBytes) / float64(s.DiskBytes)
		}
	}
	if s.Problems == nil && sc.opt.Check {
		s.Problems = []Problem{}
	}
	return s
}
