package tokens

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestASCIIPreTokensMatchCodec compares countASCII, the pre-tokenizer
// without the codec's pattern, with the codec tokenizing whole, on random
// ASCII strings: every byte below 0x80, with the classes the pattern tells
// apart (upper and lower case, digits, the contractions' quote, spaces,
// tabs, vertical tabs, form feeds, \r, \n, '/', other punctuation, control
// characters) drawn more often. A string with DEL goes to the codec.
func TestASCIIPreTokensMatchCodec(t *testing.T) {
	common := []string{"a", "e", "s", "t", "l", "r", "v", "d", "m", "B", "S", "T", "L", "R", "'", "1", "2", "0",
		" ", " ", " ", "\t", "\n", "\n", "\r", "\v", "\f", "{", "(", ")", "/", ".", "_", "-", "\x00", "\x1c", "\x7f", "  ", "\r\n"}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 30000; i++ {
		var sb strings.Builder
		for n := 1 + rng.IntN(30); n > 0; n-- {
			if rng.IntN(4) == 0 {
				sb.WriteByte(byte(rng.IntN(128)))
			} else {
				sb.WriteString(common[rng.IntN(len(common))])
			}
		}
		s := sb.String()
		if !isASCII(s) {
			if got, want := Count(s), CountExact(s); got != want {
				t.Fatalf("Count(%q) = %d, codec %d", s, got, want)
			}
			continue
		}
		if got, want := countASCII(s), CountExact(s); got != want {
			t.Fatalf("countASCII(%q) = %d, codec %d", s, got, want)
		}
	}
}

// TestASCIIPreTokensTraceText compares countASCII with the codec on
// text shaped like agent traffic: code with indentation and line numbers,
// test output, paths, diffs and prose, cut at random places.
func TestASCIIPreTokensTraceText(t *testing.T) {
	lines := []string{
		"func (s *Store) Load(ctx context.Context, key string) (int, error) {",
		"\tif err != nil {\n\t\treturn 0, fmt.Errorf(\"load: %w\", err)\n\t}",
		"    12\tdef load_entry(self, entry: str) -> int:",
		"    13\t    \"\"\"Load it.\"\"\"",
		"ok  \tgithub.com/acme/ledger/internal/store\t0.012s",
		"--- FAIL: TestLoad (0.00s)\n    store_test.go:42: got 3, want 4",
		"@@ -10,7 +10,8 @@ func main() {\n-\told := 1\n+\tnew := 2",
		"Traceback (most recent call last):\n  File \"/app/ledger/store.py\", line 118, in load",
		"I'll read the file; it's the cache's fault, isn't it? We've SEEN IT'S DONE.",
		"{\"cmd\":\"go test ./...\",\"timeout\":120000}",
		"// Comment with URL https://example.com/a/b?c=d&e=f#g\r\n",
		"x = [1, 22, 333, 4444, 55555]  # numbers\n\n\n",
		"    ",
		"",
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 5000; i++ {
		var sb strings.Builder
		for n := 1 + rng.IntN(6); n > 0; n-- {
			sb.WriteString(lines[rng.IntN(len(lines))])
			sb.WriteString([]string{"\n", "\n\n", " ", "", "\n    ", "\t"}[rng.IntN(6)])
		}
		s := sb.String()
		a := rng.IntN(len(s) + 1)
		b := a + rng.IntN(len(s)-a+1)
		for _, s := range []string{s, s[a:b]} {
			if got, want := countASCII(s), CountExact(s); got != want {
				t.Fatalf("countASCII(%q) = %d, codec %d", s, got, want)
			}
		}
	}
}
