package tokens

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

var visibleSeeds = []string{
	`"plain"`, `""`, `null`, `1`, `-0.5e+3`, `true`, `[]`, `{}`, `["", "a"]`, `["a", "", "b"]`,
	`{"role":"user","content":"hi there"}`,
	`{"content":"fix \"it\"\n\tnow \u00e9\u003c\u2028 \/ \\","role":"tool","tool_call_id":"call_1"}`,
	`{"content":null,"role":"assistant","tool_calls":[{"function":{"arguments":"{\"cmd\":\"ls\"}","name":"bash"},"id":"c1","type":"function"}]}`,
	`{"role":"assistant","content":[{"type":"text","text":"a"},{"type":"tool_use","id":"x","name":"bash","input":{"cmd":"ls"}}]}`,
	`{"b":1,"a":2}`, `{"a":1,"a":2}`, `{"a\u0062":"x"}`, `{"é":"x"}`, `"\ud83d\ude00"`, `"\ud83d"`, "\"\xff\"", `{"a":"x"} tail`,
	`{"data":"AAAA","text":"t","type":"image"}`, `{"arguments":"s","input":["i"],"parameters":[1,{"x":"y"}]}`,
	` {"a" : [ "x" , {"b":"y"} ] } `, `[1,2`, `{"a":}`, `"\x"`, `"a` + "\x01" + `"`,
}

// checkVisible compares appendVisible with VisibleText on b: when the
// scanner reads b, it must give VisibleText's text.
func checkVisible(t *testing.T, b []byte) bool {
	t.Helper()
	got, ok := appendVisible([]byte("prefix"), b)
	if !ok {
		return false
	}
	if want := VisibleText(b); string(got) != "prefix"+want {
		t.Fatalf("appendVisible(%s) = %q, VisibleText %q", b, got[len("prefix"):], want)
	}
	return true
}

func TestAppendVisible(t *testing.T) {
	read := 0
	for _, s := range visibleSeeds {
		if checkVisible(t, []byte(s)) {
			read++
		}
	}
	if read < len(visibleSeeds)/2 {
		t.Errorf("the scanner read %d of %d seeds", read, len(visibleSeeds))
	}
	// Canonical messages (sorted keys, as encoding/json writes them) with
	// random text: the scanner reads every one.
	rng := rand.New(rand.NewPCG(7, 8))
	pieces := []string{"a", "Z", " ", "\n", "\t", "\"", "\\", "/", "<", ">", "&", "é", "東", "😀", "\u2028", "\x7f", "\x01", "{", "}", "[", "]", ":", ","}
	for i := 0; i < 3000; i++ {
		var sb strings.Builder
		for n := rng.IntN(30); n > 0; n-- {
			sb.WriteString(pieces[rng.IntN(len(pieces))])
		}
		text := sb.String()
		msgs := []any{
			map[string]any{"role": "user", "content": text},
			map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{map[string]any{"id": "c", "type": "function",
				"function": map[string]any{"name": "bash", "arguments": text}}}},
			map[string]any{"role": "user", "content": []any{map[string]any{"type": "text", "text": text}, map[string]any{"type": "text", "text": ""}}},
			text,
		}
		for _, m := range msgs {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(i%2 == 0)
			if err := enc.Encode(m); err != nil {
				t.Fatal(err)
			}
			b := bytes.TrimSpace(buf.Bytes())
			if !checkVisible(t, b) {
				t.Fatalf("the scanner did not read %s", b)
			}
		}
	}
}

func TestCountJSONMatchesVisibleText(t *testing.T) {
	for _, s := range visibleSeeds {
		if got, want := CountJSON([]byte(s)), Count(VisibleText([]byte(s))); got != want {
			t.Errorf("CountJSON(%s) = %d, want %d", s, got, want)
		}
	}
}

func FuzzAppendVisible(f *testing.F) {
	for _, s := range visibleSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkVisible(t, b) })
}
