package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/agentperf/agentperf/tokens"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// ErrExists is returned when creating a trace set or results file over an
// existing one without overwrite.
var ErrExists = errors.New("output already exists")

// Flush thresholds: a blob row group is closed after this many body bytes,
// a request row group after this many rows. Small row groups keep random
// blob access cheap and memory bounded.
const (
	blobGroupBytes  = 1 << 20
	requestGroupRow = 4096
)

func writerOptions(kind string, extra ...parquet.WriterOption) []parquet.WriterOption {
	opts := []parquet.WriterOption{
		parquet.Compression(&zstd.Codec{Level: zstd.SpeedDefault}),
		parquet.KeyValueMetadata(MetaVersion, Version),
		parquet.KeyValueMetadata(MetaKind, kind),
		parquet.CreatedBy("agentperf", Version, ""),
	}
	return append(opts, extra...)
}

// Usage holds provider-reported token counts of one call; nil fields were
// not reported. Input is the total prompt, cached tokens included.
type Usage struct {
	Input, Cached, CacheWrite, Output, Reasoning *int64
}

// Turn is one model call as capture, import and synth hand it over: the
// request body as sent and what came back.
type Turn struct {
	SessionID string
	// API is one of the API* constants.
	API string
	// Body is the request body JSON.
	Body []byte
	// Response holds the response as message-list items of the same API
	// (an assistant message, or Responses output items), canonical or not.
	Response [][]byte
	// Parts, when set, replaces Split(API, Body): the caller already cut the
	// body and may know token counts (Tokens ≥ 0).
	Params []byte
	Parts  []Part
	// Times, Unix ns (0 = unknown), and think time before the call, ns.
	StartNS, FirstTokenNS, EndNS, ThinkNS int64
	// FirstByteNS is when the first response byte arrived, Unix ns (0 =
	// unknown); ChunkNS the arrival of every response chunk, ns after
	// StartNS (nil = unknown).
	FirstByteNS int64
	ChunkNS     []int64
	Usage       Usage
	// OutputTokens, when > 0, is the output length to reproduce; otherwise
	// Usage.Output or the local count of Response is used.
	OutputTokens int
	Status       int
	Error        string
	// ContextItems is Request.ContextItems: leading message items of the
	// body the client did not send (0 = the body is as sent).
	ContextItems int
	// Extras is Request.Extras: a JSON object, or nil.
	Extras []byte
}

// TraceWriter writes a trace set as a stream: blobs are deduplicated by
// content as turns arrive, requests and blobs go out in bounded row groups,
// and sessions are summed up and written on Close. Files are written to a
// temporary sibling directory and moved into place by Close, so a failed
// or interrupted write never leaves a set that looks complete.
// A TraceWriter is not safe for concurrent use.
type TraceWriter struct {
	dir, tmp  string
	overwrite bool
	files     []*os.File
	blobs     *parquet.GenericWriter[Blob]
	reqs      *parquet.GenericWriter[Request]
	sess      *parquet.GenericWriter[Session]

	seen      map[int64]int32 // blob id → tokens
	recipes   map[recipeKey]int64
	scratch   []byte
	storeGen  bool
	blobBuf   []Blob
	blobBytes int
	reqBuf    []Request
	nReqs     int

	sessions  map[string]*Session
	order     []string
	turnIndex map[string]int32
	segs      []tokens.Segment
	err       error

	// spawns and linked serve linkSpawned.
	spawns *spawnIndex
	linked map[string]bool
}

// recipeKey identifies a generated blob by what generates it.
type recipeKey struct {
	kind string
	r    Recipe
}

// TraceWriterOptions configures CreateTraceSet.
type TraceWriterOptions struct {
	// Overwrite replaces an existing trace set at the directory.
	Overwrite bool
	// StoreGenerated stores the bytes of generated blobs (parts with a
	// Recipe) instead of their recipes, as sets were written before
	// recipes existed: readers older than the recipe column can read the
	// set, which is about 20× larger.
	StoreGenerated bool
}

// CreateTraceSet starts a trace set at dir.
func CreateTraceSet(dir string, opt TraceWriterOptions) (*TraceWriter, error) {
	if !opt.Overwrite {
		for _, name := range []string{SessionsFile, RequestsFile, BlobsFile} {
			if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
				return nil, fmt.Errorf("%w: %s holds a trace set (choose another directory, or remove it)", ErrExists, dir)
			}
		}
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".partial-")
	if err != nil {
		return nil, err
	}
	// MkdirTemp makes the directory 0700; the finished set is renamed into
	// place and should be as readable as any directory the user creates.
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.Remove(tmp)
		return nil, err
	}
	w := &TraceWriter{
		dir: dir, tmp: tmp, overwrite: opt.Overwrite,
		seen: map[int64]int32{}, recipes: map[recipeKey]int64{}, storeGen: opt.StoreGenerated,
		sessions: map[string]*Session{}, turnIndex: map[string]int32{},
		spawns: newSpawnIndex(), linked: map[string]bool{},
	}
	open := func(name string) (*os.File, error) {
		f, err := os.OpenFile(filepath.Join(tmp, name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			w.files = append(w.files, f)
		}
		return f, err
	}
	fb, err := open(BlobsFile)
	if err != nil {
		w.Abort()
		return nil, err
	}
	fr, err := open(RequestsFile)
	if err != nil {
		w.Abort()
		return nil, err
	}
	fs, err := open(SessionsFile)
	if err != nil {
		w.Abort()
		return nil, err
	}
	w.blobs = parquet.NewGenericWriter[Blob](fb, writerOptions(FileBlobs, parquet.PageBufferSize(256<<10))...)
	w.reqs = parquet.NewGenericWriter[Request](fr, writerOptions(FileRequests, parquet.PageBufferSize(1<<20))...)
	w.sess = parquet.NewGenericWriter[Session](fs, writerOptions(FileSessions)...)
	return w, nil
}

// SetSession records attributes of a session (Source, Agent, and the
// parent link: Parent, ParentTurn, ParentOffsetNS); the counts, times,
// model and API are filled in from its requests. An empty Parent or a nil
// ParentTurn leaves a link already known alone. Where the link is not
// given, WriteTurn finds it from the prompts (see linkSpawned).
func (w *TraceWriter) SetSession(s Session) {
	cur := w.session(s.ID)
	cur.Source, cur.Agent = s.Source, s.Agent
	if s.Parent != "" {
		cur.Parent = s.Parent
	}
	if s.ParentTurn != nil {
		cur.ParentTurn, cur.ParentOffsetNS = Int32(*s.ParentTurn), s.ParentOffsetNS
		w.linked[s.ID] = true
	}
}

func (w *TraceWriter) session(id string) *Session {
	s, ok := w.sessions[id]
	if !ok {
		s = &Session{ID: id}
		w.sessions[id] = s
		w.order = append(w.order, id)
	}
	return s
}

// PutBlob stores a blob once and returns its id. tokens < 0 means "count
// them" (o200k_base over tokens.VisibleText).
func (w *TraceWriter) PutBlob(kind string, body []byte, ntok int) (id int64, count int32, err error) {
	id = BlobID(kind, body)
	if t, ok := w.seen[id]; ok {
		return id, t, nil
	}
	if ntok < 0 {
		ntok = tokens.CountJSON(body)
	}
	w.seen[id] = int32(ntok)
	return id, int32(ntok), w.addBlob(Blob{ID: id, Kind: kind, Tokens: int32(ntok), Body: string(body)})
}

// PutRecipe stores a generated blob once, as its recipe, and returns its
// id and tokens (r.Tokens: the generated text's exact count). The id is
// BlobID over the generated bytes, so it equals the id of the same body
// stored by PutBlob; only the first of the two is written.
func (w *TraceWriter) PutRecipe(kind string, r Recipe) (id int64, count int32, err error) {
	if r.IsZero() {
		return 0, 0, fmt.Errorf("blob of kind %s: no recipe given", kind)
	}
	if r.Tokens < 0 || r.Tokens > MaxRecipeTokens {
		return 0, 0, fmt.Errorf("blob of kind %s: recipe of %d tokens is out of range (0..%d)", kind, r.Tokens, MaxRecipeTokens)
	}
	k := recipeKey{kind, r}
	if id, ok := w.recipes[k]; ok {
		return id, w.seen[id], nil
	}
	w.scratch = r.AppendBody(w.scratch[:0])
	id = BlobID(kind, w.scratch)
	w.recipes[k] = id
	if t, ok := w.seen[id]; ok {
		return id, t, nil
	}
	w.seen[id] = r.Tokens
	b := Blob{ID: id, Kind: kind, Tokens: r.Tokens, Recipe: r.String()}
	if w.storeGen {
		b.Body, b.Recipe = string(w.scratch), ""
	}
	return id, r.Tokens, w.addBlob(b)
}

// addBlob buffers a new blob row, closing the row group when it is full.
func (w *TraceWriter) addBlob(b Blob) error {
	w.blobBuf = append(w.blobBuf, b)
	w.blobBytes += len(b.Body) + len(b.Recipe)
	if w.blobBytes >= blobGroupBytes || len(w.blobBuf) >= 8192 {
		return w.flushBlobs(true)
	}
	return nil
}

func (w *TraceWriter) flushBlobs(group bool) error {
	if len(w.blobBuf) > 0 {
		if _, err := w.blobs.Write(w.blobBuf); err != nil {
			return w.fail(err)
		}
		clear(w.blobBuf)
		w.blobBuf = w.blobBuf[:0]
	}
	w.blobBytes = 0
	if group {
		if err := w.blobs.Flush(); err != nil {
			return w.fail(err)
		}
	}
	return nil
}

func (w *TraceWriter) fail(err error) error {
	if w.err == nil {
		w.err = err
	}
	return err
}

// WriteTurn stores one call: it splits the body into blobs, counts tokens of
// new blobs, hashes the prompt's blocks and appends a request row with the
// session's next turn index. It returns the row written.
func (w *TraceWriter) WriteTurn(t *Turn) (*Request, error) {
	if w.err != nil {
		return nil, w.err
	}
	params, parts := t.Params, t.Parts
	if parts == nil {
		var err error
		params, parts, err = Split(t.API, t.Body)
		if err != nil {
			return nil, err
		}
	}
	if params == nil {
		params = []byte("{}")
	}
	if len(t.Extras) > 0 && !json.Valid(t.Extras) {
		return nil, fmt.Errorf("session %s: extras is not valid JSON", t.SessionID)
	}
	r := Request{SessionID: t.SessionID, API: t.API, Params: string(params),
		StartNS: t.StartNS, FirstTokenNS: t.FirstTokenNS, EndNS: t.EndNS, ThinkNS: t.ThinkNS,
		FirstByteNS: t.FirstByteNS, ChunkNS: t.ChunkNS,
		Status: int32(t.Status), Error: t.Error,
		ContextItems: int32(t.ContextItems), Extras: string(t.Extras),
		UsageInput: t.Usage.Input, UsageCached: t.Usage.Cached, UsageCacheWrite: t.Usage.CacheWrite,
		UsageOutput: t.Usage.Output, UsageReasoning: t.Usage.Reasoning}
	r.Model, r.Stream = paramsModel(params)
	w.segs = w.segs[:0]
	var in int64
	for _, p := range parts {
		var id int64
		var n int32
		var err error
		if len(p.Body) == 0 && !p.Recipe.IsZero() {
			id, n, err = w.PutRecipe(p.Kind, p.Recipe)
		} else {
			id, n, err = w.PutBlob(p.Kind, p.Body, p.Tokens)
		}
		if err != nil {
			return nil, err
		}
		r.Prompt = append(r.Prompt, id)
		if p.Kind == KindRequestMeta {
			continue // metadata, not prompt: no tokens, no blocks
		}
		w.segs = append(w.segs, tokens.Segment{ID: id, Tokens: int(n)})
		in += int64(n)
	}
	r.InputTokens = int32(in)
	r.HashIDs = tokens.BlockHashes(w.segs)
	var out int64
	for _, body := range t.Response {
		c, err := Canonical(body)
		if err != nil {
			c = canonicalValue(string(body))
		}
		id, n, err := w.PutBlob(KindMessage, c, -1)
		if err != nil {
			return nil, err
		}
		r.Response = append(r.Response, id)
		out += int64(n)
	}
	switch {
	case t.OutputTokens > 0:
		r.OutputTokens = int32(t.OutputTokens)
	case t.Usage.Output != nil:
		r.OutputTokens = int32(*t.Usage.Output)
	default:
		r.OutputTokens = int32(out)
	}
	r.Turn = w.turnIndex[t.SessionID]
	w.turnIndex[t.SessionID]++
	s := w.session(t.SessionID)
	if s.Turns == 0 {
		s.Model, s.API, s.StartNS = r.Model, r.API, r.StartNS
		w.linkSpawned(s, parts)
	}
	w.spawns.add(t.SessionID, r.Turn, r.EndNS, t.Response)
	s.Turns++
	s.InputTokens += int64(r.InputTokens)
	s.OutputTokens += int64(r.OutputTokens)
	if r.EndNS > s.EndNS {
		s.EndNS = r.EndNS
	}
	w.reqBuf = append(w.reqBuf, r)
	if len(w.reqBuf) >= 256 {
		if err := w.flushRequests(); err != nil {
			return nil, err
		}
	}
	return &r, nil
}

func (w *TraceWriter) flushRequests() error {
	if len(w.reqBuf) == 0 {
		return nil
	}
	if _, err := w.reqs.Write(w.reqBuf); err != nil {
		return w.fail(err)
	}
	before := w.nReqs
	w.nReqs += len(w.reqBuf)
	clear(w.reqBuf)
	w.reqBuf = w.reqBuf[:0]
	if w.nReqs/requestGroupRow != before/requestGroupRow {
		if err := w.reqs.Flush(); err != nil {
			return w.fail(err)
		}
	}
	return nil
}

// paramsModel reads "model" and "stream" from a canonical params object.
func paramsModel(params []byte) (model string, stream bool) {
	var p struct {
		Model  string `json:"model"`
		Stream bool   `json:"stream"`
	}
	if bytes.Contains(params, []byte(`"model"`)) || bytes.Contains(params, []byte(`"stream"`)) {
		_ = json.Unmarshal(params, &p)
	}
	return p.Model, p.Stream
}

// Close writes the sessions, finishes the files, syncs them and moves the
// trace set into place. After an error the partial output is removed.
func (w *TraceWriter) Close() error {
	if w.err != nil {
		w.Abort()
		return w.err
	}
	err := w.finish()
	if err != nil {
		w.Abort()
		return err
	}
	return nil
}

func (w *TraceWriter) finish() error {
	if err := w.flushBlobs(false); err != nil {
		return err
	}
	if err := w.flushRequests(); err != nil {
		return err
	}
	for _, id := range w.order {
		s := w.sessions[id]
		if p := w.sessions[s.Parent]; p != nil && s.ParentTurn == nil && s.ParentOffsetNS == 0 &&
			s.StartNS > 0 && p.StartNS > 0 && s.StartNS > p.StartNS {
			s.ParentOffsetNS = s.StartNS - p.StartNS
		}
		if _, err := w.sess.Write([]Session{*s}); err != nil {
			return err
		}
	}
	w.blobs.SetKeyValueMetadata("agentperf.blobs", strconv.Itoa(len(w.seen)))
	w.reqs.SetKeyValueMetadata("agentperf.requests", strconv.Itoa(w.nReqs))
	w.sess.SetKeyValueMetadata("agentperf.sessions", strconv.Itoa(len(w.order)))
	w.sess.SetKeyValueMetadata("agentperf.created", time.Now().UTC().Format(time.RFC3339))
	for _, c := range []interface{ Close() error }{w.blobs, w.reqs, w.sess} {
		if err := c.Close(); err != nil {
			return err
		}
	}
	for _, f := range w.files {
		if err := f.Sync(); err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	w.files = nil
	return moveIntoPlace(w.tmp, w.dir, w.overwrite)
}

// moveIntoPlace renames directory tmp to dir. An empty dir is replaced; a
// non-empty one only with overwrite, and then only the trace-set files in it
// are replaced.
func moveIntoPlace(tmp, dir string, overwrite bool) error {
	if err := os.Rename(tmp, dir); err == nil {
		return nil
	}
	// dir exists: move the files one by one (the set is complete in tmp).
	if !overwrite {
		for _, name := range []string{SessionsFile, RequestsFile, BlobsFile} {
			if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
				return fmt.Errorf("%w: %s", ErrExists, dir)
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// Remove sessions first so a reader never sees new sessions beside old
	// requests: a set without sessions.parquet is incomplete.
	_ = os.Remove(filepath.Join(dir, SessionsFile))
	for _, name := range []string{BlobsFile, RequestsFile, SessionsFile} {
		if err := os.Rename(filepath.Join(tmp, name), filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	return os.Remove(tmp)
}

// Abort discards everything written so far.
func (w *TraceWriter) Abort() {
	for _, f := range w.files {
		f.Close()
	}
	w.files = nil
	os.RemoveAll(w.tmp)
}

// Dir returns the directory the trace set is written to.
func (w *TraceWriter) Dir() string { return w.dir }
