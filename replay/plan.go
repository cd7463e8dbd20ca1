package replay

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/agentperf/agentperf/schemas"
)

// Plan is the part of a trace set one replay process sends: this shard's
// sessions with their turns in order, and the prompt pieces they reference.
// A Plan is read-only after LoadPlan and safe for concurrent use.
type Plan struct {
	// Sessions are this shard's sessions in trace-set order, each with at
	// least one turn.
	Sessions []*Session
	// Turns counts the turns of all Sessions.
	Turns int
	// BlobBytes is the size of the prompt pieces held in memory (0 when
	// they are fetched from the trace set per send).
	BlobBytes int64
	// Shard is the shard this plan was cut for.
	Shard Shard

	ts *schemas.TraceSet // fallback blob source when pieces are not preloaded
}

// Session is one recorded trajectory: a sequence of turns a user sends in
// order.
type Session struct {
	ID    string
	Agent string
	Turns []*Turn

	// Parent is the id of the session that spawned this one (a
	// sub-agent), "" for a top-level session; ParentTurn is the turn of
	// Parent whose response spawned it (-1 when unknown); ParentOffsetNS
	// is when it started after that turn's end (or after Parent's first
	// send when the turn is unknown), world ns; EndNS is the recorded end
	// of its last request, Unix ns (0 when unknown). See tree.go.
	Parent         string
	ParentTurn     int32
	ParentOffsetNS int64
	EndNS          int64
}

// Turn is one recorded model call, ready to rebuild.
type Turn struct {
	Session *Session
	// Index is the 0-based turn index within the session.
	Index int32
	// API and Model are the recorded API kind and model.
	API, Model string
	// Params is the recorded canonical params object.
	Params string
	// Prompt lists the prompt's blob ids in order.
	Prompt []int64
	// parts are the resolved prompt pieces (nil when fetched lazily).
	parts []schemas.Part
	// ThinkNS is the recorded think/tool time before this turn, world ns.
	ThinkNS int64
	// StartNS is the recorded send time, Unix ns (0 when unknown).
	StartNS int64
	// ExpectedInput is the provider-reported prompt tokens when recorded,
	// else the local o200k_base count; ExpectedOutput is the output length
	// to reproduce (0 when unknown).
	ExpectedInput, ExpectedOutput int32
}

// Shard selects a subset of sessions: those whose stable hash modulo Count
// equals Index. The zero value (Count 0) selects everything.
type Shard struct {
	Index, Count int
}

// Has reports whether the session id belongs to the shard. The hash is
// 64-bit FNV-1a over the id's bytes, so every process agrees.
func (s Shard) Has(sessionID string) bool {
	if s.Count <= 1 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(sessionID))
	return h.Sum64()%uint64(s.Count) == uint64(s.Index)
}

// String renders the shard as "i/N" ("0/1" when unsharded).
func (s Shard) String() string {
	if s.Count <= 1 {
		return "0/1"
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// PlanOptions configures LoadPlan.
type PlanOptions struct {
	// Shard restricts the plan to one shard's sessions.
	Shard Shard
	// MaxBlobBytes bounds the prompt pieces preloaded into memory; when the
	// plan needs more, pieces are fetched from the trace set (through its
	// LRU cache) on each send instead. 0 means 8 GiB.
	MaxBlobBytes int64
}

// LoadPlan reads the sessions and requests of ts that belong to the shard,
// orders each session's turns and preloads the prompt pieces they use.
// The plan keeps a reference to ts when pieces are fetched lazily; the
// caller keeps ts open while the plan is in use.
func LoadPlan(ts *schemas.TraceSet, opt PlanOptions) (*Plan, error) {
	p := &Plan{Shard: opt.Shard, ts: ts}
	byID := map[string]*Session{}
	err := ts.Sessions(func(s *schemas.Session) error {
		if !opt.Shard.Has(s.ID) {
			return nil
		}
		ss := &Session{ID: strings.Clone(s.ID), Agent: strings.Clone(s.Agent), ParentTurn: -1}
		ss.Parent, ss.ParentOffsetNS, ss.EndNS = strings.Clone(s.Parent), s.ParentOffsetNS, s.EndNS
		if s.ParentTurn != nil {
			ss.ParentTurn = *s.ParentTurn
		}
		byID[ss.ID] = ss
		p.Sessions = append(p.Sessions, ss)
		return nil
	})
	if err != nil {
		return nil, err
	}
	need := map[int64]struct{}{}
	err = ts.Requests(func(r *schemas.Request) error {
		if !opt.Shard.Has(r.SessionID) {
			return nil
		}
		s := byID[r.SessionID]
		if s == nil {
			// A request whose session row is missing: keep it as its own
			// session rather than dropping load.
			s = &Session{ID: strings.Clone(r.SessionID), ParentTurn: -1}
			byID[s.ID] = s
			p.Sessions = append(p.Sessions, s)
		}
		t := &Turn{Session: s, Index: r.Turn, API: strings.Clone(r.API), Model: strings.Clone(r.Model),
			Params: strings.Clone(r.Params), Prompt: slices.Clone(r.Prompt),
			ThinkNS: r.ThinkNS, StartNS: r.StartNS,
			ExpectedInput: r.InputTokens, ExpectedOutput: r.OutputTokens}
		if r.UsageInput != nil && *r.UsageInput > 0 {
			t.ExpectedInput = int32(*r.UsageInput)
		}
		if t.ThinkNS < 0 {
			t.ThinkNS = 0
		}
		s.Turns = append(s.Turns, t)
		for _, id := range r.Prompt {
			need[id] = struct{}{}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	keep := p.Sessions[:0]
	for _, s := range p.Sessions {
		if len(s.Turns) == 0 {
			continue
		}
		slices.SortStableFunc(s.Turns, func(a, b *Turn) int { return int(a.Index) - int(b.Index) })
		p.Turns += len(s.Turns)
		keep = append(keep, s)
	}
	p.Sessions = keep
	if len(p.Sessions) == 0 {
		if opt.Shard.Count > 1 {
			return nil, fmt.Errorf("trace set %s has no sessions in shard %s (%d sessions in all): use fewer shards", ts.Dir, opt.Shard, ts.NumSessions())
		}
		return nil, fmt.Errorf("trace set %s has no requests to replay", ts.Dir)
	}
	return p, p.preload(ts, need, opt.MaxBlobBytes)
}

// preload reads the needed blobs into memory in one pass over the blob file
// and resolves every turn's parts, unless they exceed max bytes.
func (p *Plan) preload(ts *schemas.TraceSet, need map[int64]struct{}, max int64) error {
	if max <= 0 {
		max = 8 << 30
	}
	type piece struct {
		kind string
		body []byte
		tok  int
	}
	blobs := make(map[int64]piece, len(need))
	var total int64
	tooBig := false
	err := ts.Blobs(func(b *schemas.Blob) error {
		if _, ok := need[b.ID]; !ok || tooBig {
			return nil
		}
		if _, dup := blobs[b.ID]; dup {
			return nil
		}
		total += int64(len(b.Body))
		if total > max {
			tooBig = true
			return nil
		}
		body := strings.Clone(b.Body)
		blobs[b.ID] = piece{kind: kindName(b.Kind), body: unsafe.Slice(unsafe.StringData(body), len(body)), tok: int(b.Tokens)}
		return nil
	})
	if err != nil {
		return err
	}
	if tooBig {
		return nil // fetch per send through the trace set's cache
	}
	for _, s := range p.Sessions {
		for _, t := range s.Turns {
			t.parts = make([]schemas.Part, len(t.Prompt))
			for i, id := range t.Prompt {
				b, ok := blobs[id]
				if !ok {
					return fmt.Errorf("%s: session %s turn %d references blob %d, which is missing from %s", ts.Dir, s.ID, t.Index, id, schemas.BlobsFile)
				}
				t.parts[i] = schemas.Part{Kind: b.kind, Body: b.body, Tokens: b.tok}
			}
		}
	}
	p.BlobBytes = total
	return nil
}

// kindName interns the few blob kinds.
func kindName(k string) string {
	for _, c := range []string{schemas.KindSystem, schemas.KindTools, schemas.KindInstructions, schemas.KindInput, schemas.KindMessage, schemas.KindBody} {
		if k == c {
			return c
		}
	}
	return strings.Clone(k)
}

// Parts returns the prompt pieces of t, appended to dst.
func (p *Plan) Parts(dst []schemas.Part, t *Turn) ([]schemas.Part, error) {
	if t.parts != nil {
		return append(dst, t.parts...), nil
	}
	for _, id := range t.Prompt {
		b, err := p.ts.Blob(id)
		if err != nil {
			return dst, err
		}
		dst = append(dst, schemas.Part{Kind: b.Kind, Body: unsafe.Slice(unsafe.StringData(b.Body), len(b.Body)), Tokens: int(b.Tokens)})
	}
	return dst, nil
}

// UserOffset returns where user u of n starts in Sessions: user u starts
// at session offset ⌊u·S/n⌋ (S = number of sessions) and cycles
// through all sessions from there (see UserOffset's callers), so users spread evenly over the trace
// set and every session is replayed before any is repeated by the same user.
// The k-th session of user u is Sessions[(offset+k) mod S].
func (p *Plan) UserOffset(u, n int) int {
	if n <= 0 {
		return 0
	}
	return int(int64(u) * int64(len(p.Sessions)) / int64(n))
}

// ParseShard reads a --shard value: "i/N" (shard i of N, 0-based), or "N"
// alone, taking i from the environment variable JOB_COMPLETION_INDEX that
// a Kubernetes Indexed Job sets in each pod. getenv is os.Getenv in
// production.
func ParseShard(s string, getenv func(string) string) (Shard, error) {
	if s == "" {
		return Shard{}, nil
	}
	is, ns, hasIndex := strings.Cut(s, "/")
	if !hasIndex {
		ns, is = is, getenv("JOB_COMPLETION_INDEX")
		if is == "" {
			return Shard{}, fmt.Errorf("shard %q without an index needs JOB_COMPLETION_INDEX in the environment (set by a Kubernetes Indexed Job); otherwise give i/N", s)
		}
	}
	i, err1 := strconv.Atoi(strings.TrimSpace(is))
	n, err2 := strconv.Atoi(strings.TrimSpace(ns))
	if err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("bad shard %q: want i/N with 0 ≤ i < N (e.g. 0/4)", s)
	}
	return Shard{Index: i, Count: n}, nil
}
