package tokens

// ASCII text is split into o200k_base's pre-tokens here, without the
// codec's regular expression, and each pre-token's byte-pair count is
// looked up in a cache: byte-pair merges never cross pre-token boundaries,
// so a text's count is the sum of its pre-tokens' counts, and agent
// traffic is made of few distinct pre-tokens (words, identifiers,
// indentation, punctuation runs, 1–3 digit numbers).
//
// On ASCII input the pre-tokenizer's pattern (alternatives tried in order,
// the first that matches at a position wins) reduces to:
//
//  1. an optional prefix (any character but \r, \n, a letter or a digit)
//     and a run of letters, upper case then lower case
//     ([A-Z]*[a-z]+ or [A-Z]+[a-z]*), then an optional contraction ('s,
//     't, 're, 've, 'm, 'll, 'd in any case);
//  2. one to three digits;
//  3. an optional space, a run of characters that are neither space,
//     letter nor digit, then a run of \r, \n and '/';
//  4. a run of whitespace (\t, \n, \v, \f, \r, space) up to and including
//     its last \r or \n, when it holds one;
//  5. a run of whitespace that ends the text, or the run but its last
//     character (which then starts the next pre-token);
//  6. a single whitespace character.
//
// Non-ASCII text, and text with DEL (0x7f), which the codec's pattern
// matches in no alternative, keep the codec's own pre-tokenizer (Count
// sends such a piece to CountExact). TestASCIIPreTokensMatchCodec,
// TestASCIIPreTokensTraceText and FuzzCount compare the two on random and
// trace-like text.

// Character classes of ASCII bytes for the pre-tokenizer.
const (
	clsOther   uint8 = iota // neither space, letter nor digit
	clsUpper                // A-Z
	clsLower                // a-z
	clsDigit                // 0-9
	clsSpace                // \t, \v, \f, space
	clsNewline              // \r, \n
)

var asciiClass = func() (c [128]uint8) {
	for b := range c {
		switch {
		case b >= 'A' && b <= 'Z':
			c[b] = clsUpper
		case b >= 'a' && b <= 'z':
			c[b] = clsLower
		case b >= '0' && b <= '9':
			c[b] = clsDigit
		case b == '\r' || b == '\n':
			c[b] = clsNewline
		case b == '\t' || b == '\v' || b == '\f' || b == ' ':
			c[b] = clsSpace
		}
	}
	return c
}()

// isASCII reports whether s holds only ASCII bytes other than DEL (0x7f),
// which the codec's pattern leaves out of every pre-token.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// nextPreToken returns the end of the pre-token that starts at i in s, an
// ASCII string (i < len(s)).
func nextPreToken(s string, i int) int {
	n := len(s)
	c := asciiClass[s[i]]
	// Letters, with the optional prefix.
	j := i
	if c != clsUpper && c != clsLower && c != clsDigit && c != clsNewline && i+1 < n {
		if d := asciiClass[s[i+1]]; d == clsUpper || d == clsLower {
			j = i + 1
		}
	}
	if d := asciiClass[s[j]]; d == clsUpper || d == clsLower {
		for j < n && asciiClass[s[j]] == clsUpper {
			j++
		}
		for j < n && asciiClass[s[j]] == clsLower {
			j++
		}
		return j + contraction(s[j:])
	}
	switch c {
	case clsDigit:
		j = i + 1
		for j < n && j < i+3 && asciiClass[s[j]] == clsDigit {
			j++
		}
		return j
	case clsOther:
		return punctRun(s, i)
	}
	if s[i] == ' ' && i+1 < n && asciiClass[s[i+1]] == clsOther {
		return punctRun(s, i+1)
	}
	// Whitespace.
	j = i
	lastNL := -1
	for j < n {
		d := asciiClass[s[j]]
		if d == clsNewline {
			lastNL = j
		} else if d != clsSpace {
			break
		}
		j++
	}
	switch {
	case lastNL >= 0:
		return lastNL + 1
	case j == n || j-i == 1:
		return j
	}
	return j - 1
}

// punctRun returns the end of a run of characters that are neither space,
// letter nor digit starting at i, and of the run of \r, \n and '/' after it.
func punctRun(s string, i int) int {
	j := i + 1
	for j < len(s) && asciiClass[s[j]] == clsOther {
		j++
	}
	for j < len(s) && (s[j] == '\r' || s[j] == '\n' || s[j] == '/') {
		j++
	}
	return j
}

// contraction returns the length of the contraction ('s, 't, 're, 've,
// 'm, 'll, 'd, in any case) that s starts with, 0 for none.
func contraction(s string) int {
	if len(s) < 2 || s[0] != '\'' {
		return 0
	}
	switch s[1] | 0x20 {
	case 's', 't', 'm', 'd':
		return 2
	case 'r', 'v':
		if len(s) > 2 && s[2]|0x20 == 'e' {
			return 3
		}
	case 'l':
		if len(s) > 2 && s[2]|0x20 == 'l' {
			return 3
		}
	}
	return 0
}

// countASCII returns the o200k_base token count of s, an ASCII string: the
// sum of its pre-tokens' counts.
func countASCII(s string) int {
	n := 0
	for i := 0; i < len(s); {
		j := nextPreToken(s, i)
		n += countPreToken(s[i:j])
		i = j
	}
	return n
}

// preTokenCache holds the byte-pair count of each pre-token seen, bounded
// as the piece cache is.
var preTokenCache countCache

// countPreToken returns the token count of one pre-token.
func countPreToken(s string) int { return preTokenCache.count(s, CountExact) }
