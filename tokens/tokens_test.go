package tokens

import (
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestCount(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"", 0},
		{"hello", 1},
		{"hello world", 2},
	}
	for _, tt := range tests {
		if got := Count(tt.in); got != tt.want {
			t.Errorf("Count(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestFillerExactLength(t *testing.T) {
	for _, w := range fillerWords {
		if n := Count(" " + w); n != 1 {
			t.Errorf("filler word %q is %d tokens, want 1", w, n)
		}
	}
	for _, n := range []int{1, 7, 511, 512, 513, 2048} {
		for seed := uint64(0); seed < 3; seed++ {
			s := Filler(seed, n)
			if got := Count(s); got != n {
				t.Errorf("Count(Filler(%d, %d)) = %d", seed, n, got)
			}
		}
	}
	if a, b := Filler(9, 100), Filler(9, 300); !strings.HasPrefix(b, a) {
		t.Error("Filler(9,100) is not a prefix of Filler(9,300)")
	}
	if Filler(1, 50) == Filler(2, 50) {
		t.Error("different seeds gave the same filler")
	}
}

func TestVisibleText(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{`"plain"`, "plain"},
		{`{"role":"user","content":"hi there"}`, "hi there"},
		{`{"role":"assistant","content":[{"type":"text","text":"a"},{"type":"tool_use","id":"x","name":"bash","input":{"cmd":"ls"}}]}`, "a\n{\"cmd\":\"ls\"}\nbash"},
		{`not json`, "not json"},
	}
	for _, tt := range tests {
		if got := VisibleText([]byte(tt.in)); got != tt.want {
			t.Errorf("VisibleText(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestBlockHashes(t *testing.T) {
	a := []Segment{{1, 600}, {2, 100}, {3, 400}}
	b := []Segment{{1, 600}, {2, 100}, {4, 400}}
	c := []Segment{{1, 600}, {2, 100}}
	ha, hb, hc := BlockHashes(a), BlockHashes(b), BlockHashes(c)
	if len(ha) != 3 || len(hc) != 2 {
		t.Fatalf("block counts: %d %d, want 3 2", len(ha), len(hc))
	}
	if ha[0] != hb[0] || ha[0] != hc[0] {
		t.Error("first block differs for equal prefixes")
	}
	if ha[1] == hb[1] {
		t.Error("second block equal though segment 3 vs 4 enters it")
	}
	if hc[1] == ha[1] {
		t.Error("a partial block hashed like a full one")
	}
	// The same blob range gives the same block however the prompt goes on.
	if d := BlockHashes([]Segment{{1, 512}, {9, 88}}); d[0] != ha[0] {
		t.Error("same first 512 tokens of blob 1 hashed differently")
	}
	if d := BlockHashes([]Segment{{5, 512}}); d[0] == ha[0] {
		t.Error("a different blob gave the same first block")
	}
	for _, h := range ha {
		if h < 0 {
			t.Error("negative hash")
		}
	}
	if BlockHashes(nil) != nil {
		t.Error("empty prompt has blocks")
	}
}

var countSeeds = []string{
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
	"\xff\xfe invalid utf8 \xc3 then text",
}

// TestCountMatchesCodec checks the cut-and-cache Count against tokenizing
// whole, twice so the second pass runs from the cache.
func TestCountMatchesCodec(t *testing.T) {
	long := strings.Repeat("word ", 100) + strings.Repeat("x", 1000) + " tail"
	for pass := 0; pass < 2; pass++ {
		for _, s := range append(countSeeds, long) {
			if got, want := Count(s), CountExact(s); got != want {
				t.Errorf("pass %d: Count(%q) = %d, codec %d", pass, s, got, want)
			}
		}
	}
}

// TestCountCutsRandom compares Count with the codec on random strings of
// the characters the cut rules look at (letters, digits, spaces, tabs,
// newlines, punctuation, a non-ASCII letter and a no-break space), where a
// wrong cut would show.
func TestCountCutsRandom(t *testing.T) {
	alphabet := []string{"a", "B", "s", "'", "1", "2", " ", " ", "\t", "\n", "\n", "\r", "{", "/", ".", "é", "\u00a0", "東"}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 3000; i++ {
		var sb strings.Builder
		for n := rng.IntN(40); n > 0; n-- {
			sb.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		s := sb.String()
		if got, want := Count(s), CountExact(s); got != want {
			t.Fatalf("Count(%q) = %d, codec %d", s, got, want)
		}
	}
}

func FuzzCount(f *testing.F) {
	for _, s := range countSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Count(s), CountExact(s); got != want {
			t.Errorf("Count(%q) = %d, codec %d", s, got, want)
		}
	})
}

func BenchmarkCount(b *testing.B) {
	text := strings.Repeat("func (s *Server) handle(w http.ResponseWriter, r *http.Request) {\n\tif err := json.NewDecoder(r.Body).Decode(&req); err != nil {\n\t\treturn\n\t}\n}\nThe handler returns early when the body is not valid JSON.\n", 200)
	for _, bc := range []struct {
		name string
		fn   func(string) int
	}{{"cached", Count}, {"codec", CountExact}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for i := 0; i < b.N; i++ {
				bc.fn(text)
			}
		})
	}
}

// TestFillerFrozen pins filler version 1 byte for byte: trace sets store
// generated blobs as recipes naming the version and rebuild them on read,
// so the bytes (and the blob ids hashed from them) must never change. If
// this fails, the generator changed: restore it and add a new version.
func TestFillerFrozen(t *testing.T) {
	if len(fillerWords) != fillerWordCount {
		t.Fatalf("%d filler words, fillerWordCount says %d", len(fillerWords), fillerWordCount)
	}
	h := sha256.New()
	var buf []byte
	for seed := uint64(0); seed < 64; seed++ {
		buf = AppendFiller(buf[:0], seed*0x1234567, int(seed)*37)
		h.Write(buf)
		if s := Filler(seed*0x1234567, int(seed)*37); s != string(buf) {
			t.Fatalf("Filler and AppendFiller differ at seed %d", seed)
		}
	}
	for _, seed := range []uint64{0, 1, 1<<63 - 1, 1 << 63, ^uint64(0)} {
		h.Write(AppendFiller(nil, seed, 512))
	}
	const want = "4edca9ef240d5f9a67ae9a88ecc16986c31384d26def1ac8b2d6c0496804b3e1"
	if got := hex.EncodeToString(h.Sum(nil)); got != want || FillerVersion != 1 {
		t.Errorf("filler version %d hashes to %s, want version 1 hashing to %s", FillerVersion, got, want)
	}
	if got := Filler(5, 6); got != " up any off since get in" {
		t.Errorf("Filler(5, 6) = %q", got)
	}
}

// BenchmarkAppendFiller generates 512-token blocks, the size of a Mooncake
// block; MB/s is of text.
func BenchmarkAppendFiller(b *testing.B) {
	buf := AppendFiller(nil, 1, 512)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = AppendFiller(buf[:0], uint64(i), 512)
	}
}
