package tokens

import (
	"strings"
)

// fillerWords are words that o200k_base encodes as exactly one token each
// when preceded by a space, and that never merge with a neighbour. The test
// checks both properties.
var fillerWords = strings.Fields(`the of and to in is that for it as with was on be by at this from or an are not which but have had all were can one has more their when will there if so no what up out about into than them its only other new some could time these two may then first any like now my such make over our even most after also made many before must through back years where much your way well down should because each just those people how too little state good very world still own see men work long here get both between life being under never same another know while last might us great old year off come since against go came right used take three`)

// Filler returns text of exactly n o200k_base tokens, deterministic in seed:
// the same seed gives the same words, so Filler(s, a) is a prefix of
// Filler(s, b) for a ≤ b.
func Filler(seed uint64, n int) string {
	if n <= 0 {
		return ""
	}
	var sb strings.Builder
	sb.Grow(n * 6)
	x := seed*0x9E3779B97F4A7C15 + 1
	for i := 0; i < n; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		sb.WriteByte(' ')
		sb.WriteString(fillerWords[x%uint64(len(fillerWords))])
	}
	return sb.String()
}
