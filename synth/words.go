package synth

import (
	"math"
	"math/rand/v2"
	"strings"
	"unicode"
)

// Word lists the generators draw identifiers, prose and file names from.
// They are this project's own; nothing here is copied from elsewhere.
var (
	nouns = strings.Fields(`account action adapter alert archive artifact batch bucket budget buffer
		build bundle cache catalog channel chart checkpoint chunk claim client cluster column command
		commit config connection consumer context counter credential cursor dataset deadline delta
		device digest document domain draft entry envelope event export feature filter flag frame
		gateway graph group handler header histogram host image index invoice item job journal key
		label lease ledger limit listener lock manifest mapping member message metric migration
		mirror model module monitor node note offset order owner packet page partition patch payload
		peer period pipeline plan plugin policy pool port preset price probe profile project prompt
		provider queue quota range rate reader receipt record region registry release replica report
		request resource response result retry revision role route rule run sample schedule schema
		scope secret segment selector sequence server service session shard signal snapshot source
		span spec stage state status step store stream subscriber summary table tag target task
		template tenant threshold ticket timer token topic trace tracker transfer trigger upload
		usage user value vendor version view volume watcher webhook window worker workspace writer`)
	verbs = strings.Fields(`accept acquire add allocate apply archive attach build cancel check
		clean clear close collect compact compare compute configure convert copy count create decode
		delete describe detect diff dispatch drain drop emit encode enqueue ensure evict expand export
		extract fetch filter find finish flush format handle hash import index init insert inspect
		list load lookup mark match merge migrate normalize notify open parse patch poll prepare
		process publish prune query read rebuild record refresh register release reload
		remove render replace report reset resolve restore resume retry rotate route run sanitize
		save scan schedule select send serialize set sort split start stop store submit sync
		tokenize track transform trim truncate unlock unmarshal update upload validate verify walk
		watch wrap write`)
	adjectives = strings.Fields(`active async base batched blocking buffered cached canonical
		cold compact concurrent current default deferred dirty durable empty expired external
		fallback global hot idle inactive incoming inline internal invalid latest lazy legacy local
		locked manual missing nested next non-blocking optional orphaned outgoing partial pending
		persistent primary private raw readonly recent remote required reserved retained scoped
		secondary shared sorted stale static strict temporary trimmed unknown unsorted upstream
		valid verbose warm`)
	orgs      = strings.Fields(`acme northwind lumen fieldwork brightpath tidewater corvid helix quarry orbital saltmarsh pinecone`)
	goTypes   = strings.Fields(`string int int64 bool float64 time.Duration []string []byte map[string]string error`)
	pyTypes   = strings.Fields(`str int float bool bytes list[str] dict[str, str] Optional[str] Path`)
	goStdPkgs = strings.Fields(`bufio bytes context encoding/json errors fmt io log/slog net/http os path/filepath sort strconv strings sync time`)
	pyMods    = strings.Fields(`asyncio collections contextlib dataclasses functools hashlib itertools json logging os pathlib re time typing`)
	errWords  = strings.Fields(`timeout closed empty missing invalid duplicate expired unauthorized conflict overflow`)
	people    = strings.Fields(`dev build ci runner`)
	months    = strings.Fields(`Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec`)
)

// gen wraps a seeded random source with the draws the generators need.
type gen struct{ r *rand.Rand }

func newGen(seed, stream uint64) *gen { return &gen{r: rand.New(rand.NewPCG(seed, stream))} }

func (g *gen) intn(n int) int {
	if n <= 0 {
		return 0
	}
	return g.r.IntN(n)
}

// between returns an int in [lo, hi].
func (g *gen) between(lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + g.r.IntN(hi-lo+1)
}

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

func (g *gen) pick(list []string) string { return list[g.r.IntN(len(list))] }

// lognormal draws exp(N(ln median, sigma²)).
func (g *gen) lognormal(median, sigma float64) float64 {
	return median * math.Exp(sigma*g.r.NormFloat64())
}

// hex returns n lowercase hex digits.
func (g *gen) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.r.IntN(16)]
	}
	return string(b)
}

// alnum returns n letters and digits, as in tool call ids.
func (g *gen) alnum(n int) string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = chars[g.r.IntN(len(chars))]
	}
	return string(b)
}

func title(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// camel joins words as lowerCamelCase; exported makes it UpperCamelCase.
func camel(exported bool, words ...string) string {
	var sb strings.Builder
	for i, w := range words {
		w = strings.ReplaceAll(w, "-", "")
		if i == 0 && !exported {
			sb.WriteString(w)
			continue
		}
		sb.WriteString(title(w))
	}
	return sb.String()
}

// snake joins words as snake_case.
func snake(words ...string) string {
	return strings.ReplaceAll(strings.Join(words, "_"), "-", "_")
}
