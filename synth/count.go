package synth

import (
	"strings"

	"github.com/agentperf/agentperf/tokens"
)

// counter counts o200k_base tokens exactly, but much faster than
// tokenizing every text whole: it cuts the text at positions where the
// o200k_base pre-tokenizer always starts a new piece, counts each piece once
// with tokens.Count and remembers the count. Generated text repeats its
// pieces (words, identifiers, code fragments) so most are cache hits.
//
// A cut at p is exact because byte-pair merges never cross pre-token
// boundaries, and the pre-tokenizer's pieces never span p when either
//
//   - s[p] is a space, s[p+1] an ASCII letter and s[p-1] a printable ASCII
//     character other than space: no pre-token pattern can carry a space
//     except as its first character or inside a run of whitespace, so a
//     piece ends at p-1 and " letter…" starts a word at p; or
//   - s[p] is an ASCII letter and s[p-1] is '\n': no word pattern may start
//     with a newline, and newline runs end before a letter.
//
// The only look-ahead in the pattern ((?!\S) after whitespace) never looks
// past such a cut. FuzzCounter checks the result against tokens.Count.
// A counter is not safe for concurrent use.
type counter struct {
	cache map[string]int
}

// counterCacheLimit bounds a counter's memory: the cache is dropped when it
// holds this many pieces.
const counterCacheLimit = 1 << 18

func newCounter() *counter { return &counter{cache: make(map[string]int, 1<<14)} }

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// count returns tokens.Count(s).
func (c *counter) count(s string) int {
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
			n += c.piece(s[start:p])
			start = p
		}
	}
	return n + c.piece(s[start:])
}

func (c *counter) piece(s string) int {
	if n, ok := c.cache[s]; ok {
		return n
	}
	n := tokens.Count(s)
	if len(c.cache) >= counterCacheLimit {
		clear(c.cache)
	}
	c.cache[strings.Clone(s)] = n
	return n
}

// countJSON returns tokens.CountJSON(body).
func (c *counter) countJSON(body []byte) int { return c.count(tokens.VisibleText(body)) }
