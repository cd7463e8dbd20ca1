package replay

import (
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"

	"github.com/agentperf/agentperf/schemas"
)

// Plan is the part of a trace set one replay process sends: this shard's
// sessions with their turns in order. It holds each turn's blob ids, not
// the prompt pieces: bodies are built from the trace set (its bounded blob
// cache) when a request is about to be sent, so memory grows with the
// requests in flight, not with the trace set. A Plan is read-only after
// LoadPlan and safe for concurrent use; the trace set it was loaded from
// stays open while the plan is in use.
type Plan struct {
	// Sessions are this shard's sessions in trace-set order, each with at
	// least one turn.
	Sessions []*Session
	// Turns counts the turns of all Sessions.
	Turns int
	// NoModel counts the turns whose recorded request names no model (an
	// import from a trace without model names); CheckModel refuses to send
	// them without one.
	NoModel int
	// Shard is the shard this plan was cut for.
	Shard Shard

	ts *schemas.TraceSet // the blob source of every body
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
	// API and Model are the recorded API kind and model ("" when the
	// trace names none).
	API, Model string
	// Params is the recorded canonical params object.
	Params string
	// Prompt lists the prompt's blob ids in order.
	Prompt []int64
	// HashIDs are the trace's chained hashes of the prompt's 512-token
	// blocks (request metadata left out) and LocalInput the trace's local
	// o200k_base count of the prompt they cover: the expected prefix-cache
	// figures are computed from them.
	HashIDs    []int64
	LocalInput int32
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
}

// LoadPlan reads the sessions and requests of ts that belong to the shard
// and orders each session's turns. It reads no prompt text: it checks
// that every blob a turn references is in the trace set (through its id
// index), and the bodies are built from ts per send (Parts), so the
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
	// Recorded API, model and params repeat across a session's turns:
	// keep one copy of each.
	intern := map[string]string{}
	str := func(s string) string {
		if v, ok := intern[s]; ok {
			return v
		}
		v := strings.Clone(s)
		intern[v] = v
		return v
	}
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
		for _, id := range r.Prompt {
			ok, err := ts.HasBlob(id)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("%s: session %s turn %d references blob %d, which is missing from %s; the trace set is damaged: make it again (import, synth or record)", ts.Dir, r.SessionID, r.Turn, id, schemas.BlobsFile)
			}
		}
		t := &Turn{Session: s, Index: r.Turn, API: str(r.API), Model: str(r.Model),
			Params: str(r.Params), Prompt: slices.Clone(r.Prompt),
			HashIDs: slices.Clone(r.HashIDs), LocalInput: r.InputTokens,
			ThinkNS: r.ThinkNS, StartNS: r.StartNS,
			ExpectedInput: r.InputTokens, ExpectedOutput: r.OutputTokens}
		if r.UsageInput != nil && *r.UsageInput > 0 {
			t.ExpectedInput = int32(*r.UsageInput)
		}
		if t.ThinkNS < 0 {
			t.ThinkNS = 0
		}
		if t.Model == "" {
			p.NoModel++
		}
		s.Turns = append(s.Turns, t)
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
	return p, nil
}

// OnlyModel returns the model every turn of the plan names, "" when the
// turns name several or none.
func (p *Plan) OnlyModel() string {
	model := ""
	for _, s := range p.Sessions {
		for _, t := range s.Turns {
			switch {
			case t.Model == "":
				return ""
			case model == "":
				model = t.Model
			case t.Model != model:
				return ""
			}
		}
	}
	return model
}

// ErrNoModel is the error CheckModel wraps when requests would be sent
// without a model name.
var ErrNoModel = errors.New("requests without a model name")

// CheckModel returns an error wrapping ErrNoModel when some turns name no
// model and model, the name sent in every request instead, is empty: a
// target answers such requests with an error, so a run would measure
// nothing.
func (p *Plan) CheckModel(model string) error {
	if model != "" || p.NoModel == 0 {
		return nil
	}
	return fmt.Errorf("%w: %d of the %d requests to replay name no model (the trace set was imported from a format that records none, such as Mooncake), and no model name is set to send instead; give the name of the model the target serves", ErrNoModel, p.NoModel, p.Turns)
}

// Parts returns the prompt pieces of t, appended to dst, from the trace
// set's blob cache (schemas.TraceSet.Parts): a generated piece carries its
// Recipe and no Body, and a stored piece's Body shares the cache's memory,
// so callers read a piece with Part.Bytes and never modify it.
func (p *Plan) Parts(dst []schemas.Part, t *Turn) ([]schemas.Part, error) {
	return p.ts.Parts(dst, t.Prompt)
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
