package convert

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"

	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/tokens"
)

// addFixtureLines seeds a fuzz corpus with every line of the files.
func addFixtureLines(f *testing.F, paths ...string) {
	for _, p := range paths {
		fh, err := os.Open(p)
		if err != nil {
			f.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			f.Add(append([]byte(nil), sc.Bytes()...))
		}
		fh.Close()
	}
}

// FuzzMooncakeLine checks that any line either fails to parse or yields
// blocks summing to its input length, and can be grouped and turned into
// block messages without panicking.
func FuzzMooncakeLine(f *testing.F) {
	addFixtureLines(f, "testdata/mooncake/head.jsonl")
	f.Add([]byte(`{"timestamp": 1e300, "input_length": 1, "output_length": 0, "hash_ids": [-5]}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := parseMooncakeLine(line)
		if err != nil {
			return
		}
		sum := 0
		for i := range r.HashIDs {
			k := blockTokens(i, len(r.HashIDs), r.Input)
			if k < 1 || k > tokens.BlockSize {
				t.Fatalf("block %d of %d tokens", i, k)
			}
			sum += k
		}
		if sum != r.Input {
			t.Fatalf("blocks sum to %d, input %d", sum, r.Input)
		}
		var s mooncakeSessions
		s.assign(r, 1)
		s.assign(r, 2)
		if len(r.HashIDs) > 0 {
			p := mooncakeBlock(r.HashIDs[0], min(r.Input, 3))
			if !json.Valid(p.Bytes()) {
				t.Fatalf("block body %s is not JSON", p.Bytes())
			}
		}
	})
}

// FuzzAAJSONLLine parses a line and pairs it with itself as its successor.
func FuzzAAJSONLLine(f *testing.F) {
	addFixtureLines(f, aaFixture)
	f.Add([]byte(`{"conversation_id":"c","conversation_idx":0,"messages":[{"role":"assistant"}],"tools":[{}]}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		a, err := parseAALine(line, nil)
		if err != nil {
			return
		}
		// Parsing again against the first parse reuses its canonical
		// messages; the result must be the same.
		b, err := parseAALine(line, func(string) *aaTurn { return a })
		if err != nil || len(b.parts) != len(a.parts) {
			t.Fatalf("second parse: %v, %d parts, want %d", err, len(b.parts), len(a.parts))
		}
		for i := range a.parts {
			if string(a.parts[i].Body) != string(b.parts[i].Body) {
				t.Fatalf("part %d differs on reuse", i)
			}
		}
		if len(a.msgs) == 0 || a.idx < 0 {
			t.Fatalf("accepted line without messages or with negative index: %+v", a)
		}
		aaResponse(a, a)
		if _, err := toChat(schemas.APIOpenAIChat, schemas.Rebuild(nil, schemas.APIOpenAIChat, a.params, a.parts)); err != nil {
			t.Fatalf("rebuilt AA body does not translate: %v", err)
		}
	})
}

// FuzzClaudeCodeLine feeds a line into a transcript after the fixture's
// lines and rebuilds the calls.
func FuzzClaudeCodeLine(f *testing.F) {
	path := "testdata/claude-code/projects/-home-dev-shop/" + ccSession + ".jsonl"
	addFixtureLines(f, path)
	f.Add([]byte(`{"type":"user","uuid":"x","parentUuid":"x","message":{"content":[{}]}}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		l, err := parseClaudeLine(line)
		if err != nil {
			return
		}
		cf := newCCFile("fuzz.jsonl")
		if err := cf.add(l); err != nil {
			return
		}
		// A second copy exercises the repeated-line path.
		cf.add(l)
		calls, err := cf.calls(map[[2]string]bool{})
		if err != nil {
			return
		}
		for _, c := range calls {
			toChat(schemas.APIAnthropic, schemas.Rebuild(nil, schemas.APIAnthropic, []byte(`{}`), messageParts(c.messages)))
		}
	})
}

func messageParts(msgs [][]byte) []schemas.Part {
	parts := make([]schemas.Part, len(msgs))
	for i, m := range msgs {
		parts[i] = schemas.Part{Kind: schemas.KindMessage, Body: m, Tokens: -1}
	}
	return parts
}

// FuzzCodexLine applies a line to a rollout state and builds the bodies of
// the calls that result.
func FuzzCodexLine(f *testing.F) {
	addFixtureLines(f, fixtureFiles[FormatCodex].path)
	f.Fuzz(func(t *testing.T, line []byte) {
		e, err := parseCodexLine(line)
		if err != nil {
			return
		}
		s := newCodexState()
		seed, _ := parseCodexLine([]byte(`{"timestamp":"2025-01-01T00:00:00Z","type":"response_item","payload":{"type":"message","role":"user","content":[]}}`))
		s.apply(seed)
		s.apply(e)
		s.apply(e)
		s.finish()
		for _, c := range s.calls {
			params, parts := c.body()
			body := schemas.Rebuild(nil, schemas.APIOpenAIResponses, params, parts)
			if _, err := schemas.Canonical(body); err != nil {
				t.Fatalf("rebuilt body is not JSON: %v\n%s", err, body)
			}
			toChat(schemas.APIOpenAIResponses, body)
		}
	})
}

// FuzzToChat translates arbitrary bodies of each API.
func FuzzToChat(f *testing.F) {
	for _, api := range []string{schemas.APIOpenAIChat, schemas.APIAnthropic, schemas.APIOpenAIResponses} {
		a := agentSet{api: api}
		f.Add(uint8(len(api)), a.body(0, 1))
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		apis := []string{schemas.APIOpenAIChat, schemas.APIAnthropic, schemas.APIOpenAIResponses, schemas.APIRaw}
		c, err := toChat(apis[int(which)%len(apis)], body)
		if err != nil {
			return
		}
		for _, m := range c.Messages {
			if _, err := schemas.Canonical(m); err != nil {
				t.Fatalf("message is not JSON: %s", m)
			}
		}
	})
}
