package replay

import (
	"sync"

	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/tokens"
)

// Prefix sharing as in production: the expected cache hit rate.
//
// Real users of one agent share its system prompt and tools on the server,
// never each other's conversations. prefixModel computes, from the trace
// set's block hashes (Turn.HashIDs), the prompt tokens a target with an
// unbounded prefix cache of 512-token blocks would serve from it when
// every block before the conversation (the pieces before
// conversationStart: system prompt, tools, instructions, system and
// developer messages) is shared by everyone and every later block is
// private to one user's pass through the sessions at one level — the
// scope of a conversation marker. In timestamp runs, where each recorded
// request is sent once, every block is shared, as recorded.
//
// The model mirrors a prefix-caching engine (vLLM, SGLang, the simulator):
// a request's cached tokens are its longest prefix of full blocks already
// seen, at most all but the last prompt token; its full blocks are then
// cached. Blocks are never evicted, so a target whose cache is smaller
// than the working set reports fewer hits than expected.

// blockTokens is the block size of the expected-hit model, tokens: the
// trace set's block hashes (tokens.BlockSize).
const blockTokens = tokens.BlockSize

// Sharing rules of the expected cache hit rate (schemas.CacheExpectation).
const (
	// RulePrivateConversations: the agent's system prompt and tools are
	// shared, each user's conversation is private.
	RulePrivateConversations = "private-conversations"
	// RuleAsRecorded: every block is shared, as in the recording.
	RuleAsRecorded = "as-recorded"
)

// prefixModel is the expected cache of one run. Safe for concurrent use.
type prefixModel struct {
	// private scopes conversation blocks per user and pass; false shares
	// every block.
	private bool

	mu     sync.Mutex
	shared map[int64]struct{}
	levels map[int]*prefixTally
}

func newPrefixModel(private bool) *prefixModel {
	return &prefixModel{private: private, shared: map[int64]struct{}{}, levels: map[int]*prefixTally{}}
}

// rule names the model's sharing rule.
func (m *prefixModel) rule() string {
	if m.private {
		return RulePrivateConversations
	}
	return RuleAsRecorded
}

// privateBlocks is one user's private cache: the blocks of its current
// conversation scope (level and pass), and the hashes of its last request,
// whose full blocks are all cached: the next turn of a session shares a
// prefix with them, found by comparing slices instead of map lookups.
type privateBlocks struct {
	level, pass int
	blocks      map[int64]struct{}
	last        []int64 // the last request's cached blocks (full blocks)
}

// expectation is one request's expected cache figures: the trace's input
// tokens and the tokens a target would serve from its prefix cache.
type expectation struct {
	ok            bool
	input, cached int64
}

// see records a request of turn t sent in conversation conv, whose first
// shared tokens precede the conversation, and returns its expected
// figures. Its lookups and insertions follow send order, as a target's
// would.
func (m *prefixModel) see(t *Turn, conv conversation, shared int, pb *privateBlocks) expectation {
	in := int(t.LocalInput)
	h := t.HashIDs
	look := min(len(h), max(in-1, 0)/blockTokens) // blocks that may hit
	full := min(len(h), in/blockTokens)           // blocks cached after it
	sharedN := full
	if m.private {
		sharedN = min(shared/blockTokens, full)
		if pb.blocks == nil || pb.level != conv.level || pb.pass != conv.pass {
			*pb = privateBlocks{level: conv.level, pass: conv.pass, blocks: map[int64]struct{}{}}
		}
	} else {
		*pb = privateBlocks{} // no private scope
	}
	// The user's last request: its blocks are cached, in either scope.
	hit := 0
	for hit < look && hit < len(pb.last) && pb.last[hit] == h[hit] {
		hit++
	}
	if hit < sharedN {
		m.mu.Lock()
		for hit < look && hit < sharedN {
			if _, ok := m.shared[h[hit]]; !ok {
				break
			}
			hit++
		}
		// Blocks after the first miss cannot be cached (the hashes are
		// chained): cache them all.
		for k := hit; k < sharedN; k++ {
			m.shared[h[k]] = struct{}{}
		}
		m.mu.Unlock()
	}
	if hit >= sharedN {
		for hit < look {
			if _, ok := pb.blocks[h[hit]]; !ok {
				break
			}
			hit++
		}
	}
	for k := max(hit, sharedN); k < full; k++ {
		pb.blocks[h[k]] = struct{}{}
	}
	if m.private {
		pb.last = h[:full]
	}
	return expectation{ok: true, input: int64(in), cached: int64(hit) * blockTokens}
}

// prefixTally sums one level's expected and target-reported figures over
// its steady window's successful requests.
type prefixTally struct {
	requests, input, cached int64
	// over the requests whose response reported input and cached tokens
	tRequests, tInput, tCached, eInput, eCached int64
}

// tally adds a finished request's row (res, of level) with its expected
// figures; only steady-state successes count, as in analyze's cache hit
// rate.
func (m *prefixModel) tally(level int, exp expectation, res *schemas.Result) {
	if !exp.ok || res.Phase != schemas.PhaseSteady || res.Error != "" || res.Status < 200 || res.Status > 299 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.levels[level]
	if t == nil {
		t = &prefixTally{}
		m.levels[level] = t
	}
	t.requests++
	t.input += exp.input
	t.cached += exp.cached
	if res.InputTokens >= 0 && res.CachedTokens >= 0 {
		t.tRequests++
		t.tInput += int64(res.InputTokens)
		t.tCached += int64(res.CachedTokens)
		t.eInput += exp.input
		t.eCached += exp.cached
	}
}

// level returns a level's expected and target-reported cache figures (nil
// when it had no steady-state success).
func (m *prefixModel) level(level int) *schemas.CacheExpectation {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.levels[level]
	if t == nil {
		return nil
	}
	rate := func(c, in int64) float64 {
		if in <= 0 {
			return 0
		}
		return float64(c) / float64(in)
	}
	return &schemas.CacheExpectation{Rule: m.rule(),
		Requests: t.requests, InputTokens: t.input, CachedTokens: t.cached, HitRate: rate(t.cached, t.input),
		TargetRequests: t.tRequests, TargetInputTokens: t.tInput, TargetCachedTokens: t.tCached,
		TargetHitRate: rate(t.tCached, t.tInput), ExpectedHitRate: rate(t.eCached, t.eInput)}
}
