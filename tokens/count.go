package tokens

import (
	"hash/maphash"
	"strings"
	"sync"
)

// Count splits ASCII text into its o200k_base pre-tokens (pretoken.go) and
// other text at positions where the o200k_base pre-tokenizer always starts
// a new piece, counts each pre-token or piece once (an ASCII piece by its
// pre-tokens, another with the codec) and remembers the count in a
// bounded, sharded cache. Agent traffic repeats its pieces
// (words, identifiers, code fragments, whole lines), so most are cache hits
// and counting runs at memory speed instead of the codec's few MB/s.
//
// A cut before position p is exact because byte-pair merges never cross
// pre-token boundaries, and no pre-token spans p when either
//
//   - s[p] is a space, s[p+1] an ASCII letter and s[p-1] a printable ASCII
//     character other than space: no pre-token pattern holds a space except
//     as its first character or inside a run of whitespace, so a piece ends
//     at p-1 and " letter…" starts a word at p; or
//   - s[p] is an ASCII letter and s[p-1] is '\n': no word pattern starts
//     with a newline, and newline runs end before a letter.
//
// The pattern's only look-ahead ((?!\S) after whitespace) never looks past
// such a cut. FuzzCount checks Count against the codec on arbitrary text.

const (
	cacheShards = 64
	// shardLimit bounds each shard; a full shard is cleared.
	shardLimit = 1 << 12
	// maxCachedPiece is the longest piece kept in the cache, bytes.
	maxCachedPiece = 256
)

type pieceShard struct {
	mu sync.Mutex
	m  map[string]int32
}

// countCache holds token counts by text, in shards each bounded by
// shardLimit; texts longer than maxCachedPiece are not kept.
type countCache [cacheShards]pieceShard

// count returns s's count from the cache, or counts it with uncached and
// keeps it.
func (cc *countCache) count(s string, uncached func(string) int) int {
	if len(s) > maxCachedPiece {
		return uncached(s)
	}
	sh := &cc[maphash.String(pieceSeed, s)%cacheShards]
	sh.mu.Lock()
	n, ok := sh.m[s]
	sh.mu.Unlock()
	if ok {
		return int(n)
	}
	c := uncached(s)
	sh.mu.Lock()
	if sh.m == nil || len(sh.m) >= shardLimit {
		sh.m = make(map[string]int32, 256)
	}
	sh.m[strings.Clone(s)] = int32(c)
	sh.mu.Unlock()
	return c
}

var (
	pieceSeed = maphash.MakeSeed()
	// pieceCache holds the counts of the pieces Count cuts text into.
	pieceCache countCache
)

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// Count returns the number of o200k_base tokens in s. Invalid UTF-8 is
// tokenized byte-wise, as tiktoken does. Safe for concurrent use.
func Count(s string) int {
	if isASCII(s) {
		return countASCII(s)
	}
	n, start := 0, 0
	for p := 1; p < len(s)-1; p++ {
		cut := false
		switch b := s[p]; {
		case b == ' ':
			prev := s[p-1]
			cut = prev > ' ' && prev < 0x7f && isLetter(s[p+1])
		case isLetter(b):
			cut = s[p-1] == '\n'
		}
		if cut {
			n += countPiece(s[start:p])
			start = p
		}
	}
	return n + countPiece(s[start:])
}

func countPiece(s string) int {
	if s == "" {
		return 0
	}
	return pieceCache.count(s, countUncached)
}

// countUncached counts a piece the piece cache does not hold: by its
// pre-tokens when it is ASCII, with the codec otherwise.
func countUncached(s string) int {
	if isASCII(s) {
		return countASCII(s)
	}
	return CountExact(s)
}

// CountExact returns the o200k_base token count of s, tokenizing it whole
// with the codec (no cache); Count must always agree with it.
func CountExact(s string) int {
	if s == "" {
		return 0
	}
	n, err := enc().Count(s)
	if err != nil {
		return len(s) / 4
	}
	return n
}
