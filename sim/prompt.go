package sim

import (
	"encoding/binary"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/agentperf/agentperf/tokens"
)

// Chat-template overhead, tokens: every message costs its content plus
// TokensPerMessage, and the reply is primed with TokensReplyPriming (the
// figures OpenAI's cookbook uses for its chat models; docs/sim.md).
const (
	TokensPerMessage   = 3
	TokensReplyPriming = 3
)

// Segment kinds, mixed into segment hashes so equal bytes in different
// roles hash apart.
const (
	segTools byte = iota + 1
	segSystem
	segMessage
	segSalt
)

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// hashBytes hashes kind and b, eight bytes at a time (multiply-xorshift
// mixing); stable across processes and machines, so prefix blocks (and the
// output lengths seeded by them) are reproducible. Not for adversarial
// input: it identifies content, it does not protect it.
func hashBytes(kind byte, b []byte) uint64 {
	h := uint64(fnvOffset) ^ uint64(kind)*0x9E3779B97F4A7C15 ^ uint64(len(b))*0xC2B2AE3D27D4EB4F
	for len(b) >= 8 {
		h = (h ^ binary.LittleEndian.Uint64(b)) * 0xFF51AFD7ED558CCD
		h ^= h >> 29
		b = b[8:]
	}
	var tail uint64
	for i, c := range b {
		tail |= uint64(c) << (8 * i)
	}
	h = (h ^ tail) * 0xC4CEB9FE1A85EC53
	h ^= h >> 32
	h *= 0xFF51AFD7ED558CCD
	h ^= h >> 29
	return h
}

// countCache remembers the token count of every segment (message, system
// prompt, tool) by content hash, so a history resent every turn is
// tokenized once. Shards keep handler goroutines from contending; a shard
// that grows past its bound is emptied (recounting is correct, only slow).
type countCache struct {
	shards [64]countShard
	hits   atomic.Int64
	misses atomic.Int64
	// tokenized is the bytes run through the tokenizer (misses).
	tokenized atomic.Int64
	// histories, when set (a Virtual's cache, used by one goroutine),
	// keeps the messages of editable chat parses (history.go).
	histories *histories
}

type countShard struct {
	mu sync.Mutex
	m  map[uint64]int32
}

const countShardLimit = 1 << 15

func newCountCache() *countCache {
	c := &countCache{}
	for i := range c.shards {
		c.shards[i].m = make(map[uint64]int32)
	}
	return c
}

func (c *countCache) get(h uint64) (int, bool) {
	sh := &c.shards[h&63]
	sh.mu.Lock()
	n, ok := sh.m[h]
	sh.mu.Unlock()
	if ok {
		c.hits.Add(1)
	}
	return int(n), ok
}

func (c *countCache) put(h uint64, n int) {
	c.misses.Add(1)
	sh := &c.shards[h&63]
	sh.mu.Lock()
	if len(sh.m) >= countShardLimit {
		clear(sh.m)
	}
	sh.m[h] = int32(min(n, math.MaxInt32))
	sh.mu.Unlock()
}

// prompt accumulates a request's prompt: its segments in model order, the
// token total and a hash of the whole.
type prompt struct {
	segs   []tokens.Segment
	tokens int
	hash   uint64
	raw    bool // a plain completion prompt: no chat template, no reply priming
	// parsed is every segment added, in order, zero-token ones included,
	// when keep is set: what recounting the prompt with a segment replaced
	// needs (Virtual.AdmitEdited).
	parsed []parsedSeg
	keep   bool
}

// parsedSeg is one segment of a prompt as the parser added it.
type parsedSeg struct {
	hash uint64
	// tokens is the segment's count, overhead included.
	tokens int32
	kind   byte
	// overhead is the chat-template tokens added to the segment's count.
	overhead uint8
	// replaceable is set for a segment whose bytes another JSON value may
	// replace without changing anything but the prompt: a message, input
	// item, system prompt or instructions (not a tool, whose first one
	// names the tool a call uses, nor a completion's token ids).
	replaceable bool
	// fresh validates new content of the segment's place (prompt.add); nil
	// where the parser checked the value is a JSON string before adding it.
	fresh func([]byte) error
}

// add counts one segment. fresh, when non-nil, is called for content not
// seen before (to validate it); its error rejects the request. overhead is
// added to the segment's count (chat-template tokens).
func (p *prompt) add(c *countCache, kind byte, raw []byte, overhead int, fresh func([]byte) error) error {
	return p.addChecked(c, kind, raw, overhead, fresh, true)
}

// addLazy is add for raw not known to be valid JSON: an element of an
// array splitLazy split. New content is validated as an array element
// (depth 2) first, and refused with errLazy when invalid. Content the
// count cache holds was valid: the cache holds only segments added after
// they were validated, each either an array element (depth 2) or a string
// (whose validity does not depend on its depth).
func (p *prompt) addLazy(c *countCache, kind byte, raw []byte, overhead int, fresh func([]byte) error) error {
	return p.addChecked(c, kind, raw, overhead, fresh, false)
}

// addChecked is add, for raw validated as JSON when valid is set, and
// addLazy otherwise.
func (p *prompt) addChecked(c *countCache, kind byte, raw []byte, overhead int, fresh func([]byte) error, valid bool) error {
	h := hashBytes(kind, raw)
	n, ok := c.get(h)
	if !ok {
		if !valid {
			if end, err := skipValueDepth(raw, 0, 2); err != nil || end != len(raw) {
				return errLazy
			}
		}
		if fresh != nil {
			if err := fresh(raw); err != nil {
				return err
			}
		}
		n = tokens.CountJSON(raw) + overhead
		c.tokenized.Add(int64(len(raw)))
		c.put(h, n)
	}
	if p.keep {
		p.parsed = append(p.parsed, parsedSeg{hash: h, tokens: int32(min(n, math.MaxInt32)), kind: kind, overhead: uint8(overhead),
			replaceable: kind != segTools, fresh: fresh})
	}
	p.addHashed(h, n)
	return nil
}

// addParsed adds a segment as an earlier parse added it (a history's).
func (p *prompt) addParsed(s parsedSeg) {
	if p.keep {
		p.parsed = append(p.parsed, s)
	}
	p.addHashed(s.hash, int(s.tokens))
}

// grow makes room for n more segments.
func (p *prompt) grow(n int) {
	p.segs = slices.Grow(p.segs, n)
	if p.keep {
		p.parsed = slices.Grow(p.parsed, n)
	}
}

// addIDs adds a segment of n token ids whose bytes hash to h.
func (p *prompt) addIDs(h uint64, n int) {
	if p.keep {
		p.parsed = append(p.parsed, parsedSeg{hash: h, tokens: int32(min(n, math.MaxInt32)), kind: segMessage})
	}
	p.addHashed(h, n)
}

func (p *prompt) addHashed(h uint64, n int) {
	if p.hash == 0 {
		p.hash = fnvOffset
	}
	p.hash = (p.hash ^ h) * fnvPrime
	if n > 0 {
		p.segs = append(p.segs, tokens.Segment{ID: int64(h &^ (1 << 63)), Tokens: n})
		p.tokens += n
	}
}

// salt mixes a cache salt (vLLM's cache_salt) in front of the prompt so
// its blocks share nothing with unsalted prompts.
func (p *prompt) salt(s string) {
	if s == "" {
		return
	}
	h := hashBytes(segSalt, []byte(s))
	p.hash = (p.hash ^ h) * fnvPrime
	p.segs = append([]tokens.Segment{{ID: int64(h &^ (1 << 63)), Tokens: 0}}, p.segs...)
}

// finish adds the reply priming and returns the block hashes.
func (p *prompt) finish() []int64 {
	segs := p.segs
	if !p.raw {
		p.tokens += TokensReplyPriming
		segs = append(segs, tokens.Segment{ID: 1, Tokens: TokensReplyPriming})
	}
	if len(segs) > 0 && segs[0].Tokens == 0 {
		// A salt: fold it into the first real segment's identity.
		salt := segs[0].ID
		segs = segs[1:]
		if len(segs) > 0 {
			segs = append([]tokens.Segment(nil), segs...)
			segs[0].ID = int64(((uint64(segs[0].ID) ^ uint64(salt)) * fnvPrime) &^ (1 << 63))
		}
	}
	return tokens.BlockHashes(segs)
}
