package tokens

import (
	"slices"
	"strings"
)

// fillerWords are words that o200k_base encodes as exactly one token each
// when preceded by a space, and that never merge with a neighbour. The test
// checks both properties. The list is part of filler version 1: changing a
// word or its position changes every generated body (see FillerVersion).
var fillerWords = strings.Fields(`the of and to in is that for it as with was on be by at this from or an are not which but have had all were can one has more their when will there if so no what up out about into than them its only other new some could time these two may then first any like now my such make over our even most after also made many before must through back years where much your way well down should because each just those people how too little state good very world still own see men work long here get both between life being under never same another know while last might us great old year off come since against go came right used take three`)

// fillerWordCount is len(fillerWords) as a constant, so the word index is a
// multiplication rather than a division (TestFillerFrozen checks the two
// agree).
const fillerWordCount = 130

// FillerVersion is the version of the filler generator (Filler,
// AppendFiller). Trace sets store generated blobs as a recipe naming this
// version and rebuild their bytes on read, so a version's output never
// changes: version 1 is pinned byte for byte by TestFillerFrozen. A
// different generator gets a new version and keeps this one.
const FillerVersion = 1

// Filler returns text of exactly n o200k_base tokens, deterministic in seed:
// the same seed gives the same words, so Filler(s, a) is a prefix of
// Filler(s, b) for a ≤ b. The text is n words of lowercase ASCII letters,
// each preceded by one space; "" for n ≤ 0.
func Filler(seed uint64, n int) string {
	if n <= 0 {
		return ""
	}
	return string(AppendFiller(make([]byte, 0, n*8), seed, n))
}

// AppendFiller appends Filler(seed, n) to dst and returns it, allocating
// only when dst lacks capacity for 8 bytes a word.
func AppendFiller(dst []byte, seed uint64, n int) []byte {
	if n <= 0 {
		return dst
	}
	start := len(dst)
	dst = slices.Grow(dst, n*8)
	// Each word is copied as a whole 8-byte slot (space, letters, padding)
	// and the end advanced by its length: no per-word bounds or growth
	// checks, about 4× faster than appending each word.
	out := dst[start : start+n*8]
	off := 0
	x := seed*0x9E3779B97F4A7C15 + 1
	for i := 0; i < n; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		w := &fillerSlots[x%fillerWordCount]
		*(*[8]byte)(out[off : off+8 : off+8]) = w.b
		off += int(w.n)
	}
	return dst[:start+off]
}

// fillerSlot is a filler word with its leading space, padded to 8 bytes.
type fillerSlot struct {
	b [8]byte
	n uint8
}

var fillerSlots = func() (s [fillerWordCount]fillerSlot) {
	for i, w := range fillerWords {
		s[i].n = uint8(copy(s[i].b[1:], w) + 1)
		s[i].b[0] = ' '
	}
	return s
}()
