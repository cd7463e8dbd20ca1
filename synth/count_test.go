package synth

import (
	"testing"

	"github.com/agentperf/agentperf/tokens"
)

var counterSeeds = []string{
	"",
	"a",
	"hello world",
	"The failure comes from Store.Load: it uses the cache before checking.\n\nLet me read `internal/store/store.go`.",
	"func (s *Store) Load(ctx context.Context, key string) (int, error) {\n\tif err != nil {\n\t\treturn 0, fmt.Errorf(\"load: %w\", err)\n\t}\n}",
	"    12\tdef load_entry(self, entry: str) -> int:\n    13\t    \"\"\"Load it.\"\"\"\n",
	"ok  \tgithub.com/acme/ledger/internal/store\t0.012s\n?   \tgithub.com/acme/ledger/cmd\t[no test files]",
	"a  b\n\n c\t d\r\n e . f , g ! h ' i's don't   \n\nX",
	"  leading spaces then words and\n\n\nnewlines\n",
	"¿Qué? naïve café — 東京 123456 7 89 0x1f .go /usr/local",
}

// TestCounterMatchesTokenizer checks the cut-and-cache counter against the
// tokenizer on hand-picked text and on generated sessions' messages.
func TestCounterMatchesTokenizer(t *testing.T) {
	c := newCounter()
	for _, s := range counterSeeds {
		if got, want := c.count(s), tokens.Count(s); got != want {
			t.Errorf("count(%q) = %d, want %d", s, got, want)
		}
	}
}

func FuzzCounter(f *testing.F) {
	for _, s := range counterSeeds {
		f.Add(s)
	}
	c := newCounter()
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := c.count(s), tokens.Count(s); got != want {
			t.Errorf("count(%q) = %d, want tokens.Count %d", s, got, want)
		}
	})
}
