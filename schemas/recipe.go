package schemas

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/agentperf/agentperf/tokens"
)

// Recipe is how a generated blob body is rebuilt instead of stored. An
// import with no text (Mooncake's hash_ids) makes each prompt block a user
// message of filler text of an exact token count; storing the seed and
// count instead of the text makes such a set about 20× smaller, and
// readers rebuild the same bytes. A Recipe with Version 0 (the zero
// Recipe) means "no recipe: the body is stored".
//
// The body of a Recipe is the canonical JSON message
// {"content":"<tokens.Filler(Seed, Tokens)>","role":"user"}: the filler is
// lowercase words and spaces, so it needs no escaping. Its token count
// (model-visible text, tokens.VisibleText) is exactly Tokens.
type Recipe struct {
	// Seed selects the filler words.
	Seed uint64
	// Tokens is the filler's length, o200k_base tokens (0..MaxRecipeTokens).
	Tokens int32
	// Version is the filler generator version (tokens.FillerVersion) the
	// text comes from; 0 only in the zero Recipe.
	Version uint8
}

// MaxRecipeTokens bounds Recipe.Tokens: a reader rebuilds the body in
// memory, so a corrupt recipe must not ask for gigabytes. 2M tokens is
// more than any model's context window.
const MaxRecipeTokens = 1 << 21

// Recipe text: "filler/<version> user <seed> <tokens>", e.g.
// "filler/1 user 17 512"; the form stored in blobs.parquet's recipe column.
const (
	recipeGenerator = "filler/"
	recipeUser      = "user"
)

// FillerMessage returns the recipe of a user message holding n tokens of
// filler text of the given seed, from the current generator version.
func FillerMessage(seed uint64, n int) Recipe {
	return Recipe{Seed: seed, Tokens: int32(n), Version: tokens.FillerVersion}
}

// IsZero reports whether r is no recipe (Version 0: the body is stored).
func (r Recipe) IsZero() bool { return r.Version == 0 }

// String returns r's text form as stored ("filler/1 user 17 512"), or ""
// when r.IsZero(). ParseRecipe reads it back.
func (r Recipe) String() string {
	if r.IsZero() {
		return ""
	}
	b := make([]byte, 0, 32)
	b = append(b, recipeGenerator...)
	b = strconv.AppendUint(b, uint64(r.Version), 10)
	b = append(b, ' ')
	b = append(b, recipeUser...)
	b = append(b, ' ')
	b = strconv.AppendUint(b, r.Seed, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(r.Tokens), 10)
	return string(b)
}

// ParseRecipe reads a recipe's text form. "" is the zero Recipe. Only the
// exact form String writes is accepted: a known generator version, the
// shape "user", decimal numbers without sign or leading zeros, and at most
// MaxRecipeTokens tokens.
func ParseRecipe(s string) (Recipe, error) {
	if s == "" {
		return Recipe{}, nil
	}
	f := strings.Split(s, " ")
	if len(f) != 4 || !strings.HasPrefix(f[0], recipeGenerator) {
		return Recipe{}, fmt.Errorf("recipe %q: want \"filler/<version> user <seed> <tokens>\"", s)
	}
	v, err := canonicalUint(strings.TrimPrefix(f[0], recipeGenerator), 8)
	switch {
	case err != nil || v == 0:
		return Recipe{}, fmt.Errorf("recipe %q: bad generator version", s)
	case v > tokens.FillerVersion:
		return Recipe{}, fmt.Errorf("recipe %q: filler generator version %d is newer than this agentperf, which knows up to %d; use a newer agentperf", s, v, tokens.FillerVersion)
	}
	if f[1] != recipeUser {
		return Recipe{}, fmt.Errorf("recipe %q: unknown shape %q (want %q)", s, f[1], recipeUser)
	}
	seed, err := canonicalUint(f[2], 64)
	if err != nil {
		return Recipe{}, fmt.Errorf("recipe %q: bad seed", s)
	}
	n, err := canonicalUint(f[3], 32)
	if err != nil || n > MaxRecipeTokens {
		return Recipe{}, fmt.Errorf("recipe %q: token count must be a decimal number from 0 to %d", s, MaxRecipeTokens)
	}
	return Recipe{Seed: seed, Tokens: int32(n), Version: uint8(v)}, nil
}

// canonicalUint parses a decimal number without sign or leading zeros.
func canonicalUint(s string, bits int) (uint64, error) {
	v, err := strconv.ParseUint(s, 10, bits)
	if err != nil {
		return 0, err
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("leading zero")
	}
	return v, nil
}

// AppendBody appends the body r stands for to dst: a canonical user
// message (see Recipe). It appends nothing when r.IsZero().
func (r Recipe) AppendBody(dst []byte) []byte {
	if r.IsZero() {
		return dst
	}
	dst = append(dst, `{"content":"`...)
	dst = tokens.AppendFiller(dst, r.Seed, int(r.Tokens))
	return append(dst, `","role":"user"}`...)
}

// AppendBody appends the part's body to dst: Body, or when Body is empty
// and the part has a Recipe, the bytes the recipe rebuilds.
func (p *Part) AppendBody(dst []byte) []byte {
	if len(p.Body) == 0 && !p.Recipe.IsZero() {
		return p.Recipe.AppendBody(dst)
	}
	return append(dst, p.Body...)
}

// Bytes returns the part's body: Body itself, or the recipe's bytes in a
// new slice.
func (p *Part) Bytes() []byte {
	if len(p.Body) == 0 && !p.Recipe.IsZero() {
		return p.Recipe.AppendBody(nil)
	}
	return p.Body
}
