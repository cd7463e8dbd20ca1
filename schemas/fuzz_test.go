package schemas

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzSplitRebuild checks that any body, of any API, rebuilds from its
// split parts to the same canonical JSON, and never panics.
func FuzzSplitRebuild(f *testing.F) {
	for _, s := range sampleBodies {
		f.Add(s.api, []byte(s.body))
	}
	f.Add(APIOpenAIResponses, []byte(`{"input":[],"tools":null}`))
	f.Fuzz(func(t *testing.T, api string, body []byte) {
		params, parts, err := Split(api, body)
		if err != nil {
			return
		}
		got := Rebuild(nil, api, params, parts)
		want, err := Canonical(body)
		if err != nil {
			// Not JSON: kept as one JSON string part.
			if len(parts) != 1 || parts[0].Kind != KindBody {
				t.Fatalf("non-JSON body split into %d parts", len(parts))
			}
			return
		}
		cg, err := Canonical(got)
		if err != nil {
			t.Fatalf("rebuilt body is not JSON: %v\n%s", err, got)
		}
		if !bytes.Equal(cg, want) {
			t.Fatalf("rebuilt %s\nwant    %s", cg, want)
		}
	})
}

// FuzzOpenCorruptTraceSet flips bytes of a valid blobs file and checks that
// opening and reading the set reports errors instead of panicking.
func FuzzOpenCorruptTraceSet(f *testing.F) {
	dir := filepath.Join(f.TempDir(), "set")
	writeSample(f, dir)
	good, err := os.ReadFile(filepath.Join(dir, BlobsFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(uint32(0), byte(0xff))
	f.Add(uint32(len(good)/2), byte(1))
	f.Add(uint32(len(good)-9), byte(0x80))
	f.Fuzz(func(t *testing.T, at uint32, x byte) {
		b := bytes.Clone(good)
		b[int(at)%len(b)] ^= x
		d := t.TempDir()
		for _, name := range []string{SessionsFile, RequestsFile} {
			src, _ := os.ReadFile(filepath.Join(dir, name))
			os.WriteFile(filepath.Join(d, name), src, 0o644)
		}
		os.WriteFile(filepath.Join(d, BlobsFile), b, 0o644)
		ts, err := OpenTraceSet(d, TraceSetOptions{})
		if err != nil {
			return
		}
		defer ts.Close()
		_ = ts.Requests(func(r *Request) error {
			_, err := ts.Body(nil, r)
			return err
		})
		_ = ts.Blobs(func(*Blob) error { return nil })
	})
}

// FuzzSpawnPrompts checks that reading sub-agent calls out of any response
// item never panics and returns only trimmed, non-empty prompts.
func FuzzSpawnPrompts(f *testing.F) {
	f.Add([]byte(`{"role":"assistant","content":[{"type":"tool_use","name":"Task","input":{"prompt":" x "}}]}`))
	f.Add([]byte(`{"type":"function_call","name":"task","arguments":"{\"prompt\":\"y\"}"}`))
	f.Add([]byte(`{"tool_calls":[{"function":{"name":"Agent","arguments":{"prompt":"z"}}}]}`))
	f.Fuzz(func(t *testing.T, item []byte) {
		for _, p := range SpawnPrompts(item) {
			if p == "" || p != strings.TrimSpace(p) {
				t.Fatalf("prompt %q", p)
			}
		}
	})
}

// FuzzParseRecipe checks that the recipe decoder never panics, accepts only
// the form String writes (so each recipe has one text), and that an
// accepted recipe's body is canonical JSON.
func FuzzParseRecipe(f *testing.F) {
	for _, s := range []string{"", "filler/1 user 17 512", "filler/1 user 0 0", "filler/2 user 1 1", "filler/1 user 18446744073709551615 2097152", "filler/1 user 01 2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRecipe(s)
		if err != nil {
			return
		}
		if got := r.String(); got != s {
			t.Fatalf("ParseRecipe(%q).String() = %q", s, got)
		}
		if r.IsZero() || r.Tokens > 4096 {
			return
		}
		body := r.AppendBody(nil)
		if c, err := Canonical(body); err != nil || !bytes.Equal(c, body) {
			t.Fatalf("recipe %q: body is not canonical JSON (%v)", s, err)
		}
	})
}
