package anonymize

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/schemas"
)

const secret = "launch codes 0000 for Project Nightingale"

// makeSet writes a small trace set: an Anthropic session with tool calls
// (two turns sharing a prefix), a sub-agent, and an OpenAI chat session.
func makeSet(t *testing.T, dir string) {
	t.Helper()
	w, err := schemas.CreateTraceSet(dir, schemas.TraceWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.SetSession(schemas.Session{ID: "sess-1", Source: schemas.SourceProxy, Agent: "claude-code"})
	w.SetSession(schemas.Session{ID: "sess-1/1", Source: schemas.SourceProxy, Agent: "claude-code", Parent: "sess-1"})
	tools := `[{"name":"bash","description":"Run a command","input_schema":{"type":"object","properties":{"command":{"type":"string","description":"the command"}},"required":["command"]}}]`
	sys := `[{"type":"text","text":"You are a coding agent. ` + secret + `","cache_control":{"type":"ephemeral"}}]`
	m1 := `{"role":"user","content":"Please read ` + secret + `"}`
	a1 := `{"role":"assistant","content":[{"type":"thinking","thinking":"I should run bash","signature":"c2lnbmF0dXJl"},{"type":"tool_use","id":"toolu_1","name":"bash","input":{"command":"cat /etc/` + secret + `"}}]}`
	r1 := `{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"` + secret + ` file contents"}]}`
	turns := []*schemas.Turn{
		{SessionID: "sess-1", API: schemas.APIAnthropic, Body: []byte(`{"model":"claude-x","max_tokens":100,"stream":true,"metadata":{"user_id":"user_abc_account_1_session_2"},"system":` + sys + `,"tools":` + tools + `,"messages":[` + m1 + `]}`),
			Response: [][]byte{[]byte(a1)}, StartNS: 100, FirstTokenNS: 150, EndNS: 200, Usage: schemas.Usage{Input: schemas.Int64(1200), Output: schemas.Int64(30)}, Status: 200, ChunkNS: []int64{10, 20}},
		{SessionID: "sess-1", API: schemas.APIAnthropic, Body: []byte(`{"model":"claude-x","max_tokens":100,"stream":true,"system":` + sys + `,"tools":` + tools + `,"messages":[` + m1 + `,` + a1 + `,` + r1 + `]}`),
			Response: [][]byte{[]byte(`{"role":"assistant","content":[{"type":"text","text":"Done: ` + secret + `"}]}`)}, StartNS: 1200, EndNS: 1300, ThinkNS: 1000, Status: 200},
		{SessionID: "sess-1/1", API: schemas.APIAnthropic, Body: []byte(`{"model":"claude-haiku","max_tokens":10,"system":"Sub-agent: ` + secret + `","messages":[{"role":"user","content":"summarize"}]}`),
			Response: [][]byte{[]byte(`{"role":"assistant","content":[{"type":"text","text":"ok"}]}`)}, StartNS: 1250, EndNS: 1260, Status: 200},
		{SessionID: "px-1", API: schemas.APIOpenAIChat, Body: []byte(`{"model":"gpt-x","prompt_cache_key":"conv-123","messages":[{"role":"system","content":"sys ` + secret + `"},{"role":"user","content":"hi"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"bash","arguments":"{\"command\":\"echo ` + secret + `\"}"}}]},{"role":"tool","tool_call_id":"c1","content":"` + secret + `"}]}`),
			Response: [][]byte{[]byte(`{"role":"assistant","content":"fine"}`)}, StartNS: 5, EndNS: 9, Status: 200},
	}
	for _, tt := range turns {
		if _, err := w.WriteTurn(tt); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

type flat struct {
	sessions []schemas.Session
	requests []schemas.Request
	blobs    map[int64]schemas.Blob
}

func load(t *testing.T, dir string) *flat {
	t.Helper()
	ts, err := schemas.OpenTraceSet(dir, schemas.TraceSetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	f := &flat{blobs: map[int64]schemas.Blob{}}
	ts.Sessions(func(s *schemas.Session) error { f.sessions = append(f.sessions, *s); return nil })
	ts.Requests(func(r *schemas.Request) error {
		c := *r
		c.Prompt = append([]int64(nil), r.Prompt...)
		c.Response = append([]int64(nil), r.Response...)
		c.HashIDs = append([]int64(nil), r.HashIDs...)
		c.ChunkNS = append([]int64(nil), r.ChunkNS...)
		f.requests = append(f.requests, c)
		return nil
	})
	ts.Blobs(func(b *schemas.Blob) error { f.blobs[b.ID] = *b; return nil })
	return f
}

// shape replaces every string with "s" so two JSON values compare by
// structure.
func shape(t *testing.T, body string) any {
	var v any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("blob is not JSON: %v: %s", err, body)
	}
	var walk func(any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case string:
			return "s"
		case []any:
			for i := range x {
				x[i] = walk(x[i])
			}
		case map[string]any:
			for k := range x {
				x[k] = walk(x[k])
			}
		}
		return v
	}
	return walk(v)
}

func TestAnonymize(t *testing.T) {
	dir := t.TempDir()
	in, out, out2 := filepath.Join(dir, "in"), filepath.Join(dir, "out"), filepath.Join(dir, "out2")
	makeSet(t, in)
	st, err := TraceSet(in, out, Options{Salt: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := TraceSet(in, out2, Options{Salt: "s1"}); err != nil {
		t.Fatal(err)
	}
	a, b, again := load(t, in), load(t, out), load(t, out2)
	if st.Requests != 4 || st.Sessions != 3 || len(b.requests) != len(a.requests) || len(b.sessions) != len(a.sessions) || len(b.blobs) != len(a.blobs) {
		t.Fatalf("stats %+v: requests %d→%d sessions %d→%d blobs %d→%d", st, len(a.requests), len(b.requests), len(a.sessions), len(b.sessions), len(a.blobs), len(b.blobs))
	}
	for _, bl := range b.blobs {
		if strings.Contains(bl.Body, "Nightingale") || strings.Contains(bl.Body, "launch codes") {
			t.Errorf("content survived: %s", bl.Body)
		}
	}
	idMap := map[int64]int64{}
	for i := range a.requests {
		x, y := a.requests[i], b.requests[i]
		if strings.Contains(y.Params, "user_abc") || strings.Contains(y.Params, "conv-123") {
			t.Errorf("params kept an identifier: %s", y.Params)
		}
		if x.Turn != y.Turn || x.API != y.API || x.Model != y.Model || x.Stream != y.Stream || x.InputTokens != y.InputTokens ||
			x.OutputTokens != y.OutputTokens || x.StartNS != y.StartNS || x.EndNS != y.EndNS || x.ThinkNS != y.ThinkNS ||
			x.FirstTokenNS != y.FirstTokenNS || !reflect.DeepEqual(x.ChunkNS, y.ChunkNS) || !reflect.DeepEqual(x.UsageInput, y.UsageInput) ||
			!reflect.DeepEqual(x.UsageOutput, y.UsageOutput) || x.Status != y.Status || len(x.HashIDs) != len(y.HashIDs) {
			t.Errorf("request %d changed beyond content:\n in %+v\nout %+v", i, x, y)
		}
		if len(x.Prompt) != len(y.Prompt) || len(x.Response) != len(y.Response) {
			t.Fatalf("request %d: prompt/response lengths changed", i)
		}
		for j, id := range append(append([]int64(nil), x.Prompt...), x.Response...) {
			nid := append(append([]int64(nil), y.Prompt...), y.Response...)[j]
			if prev, ok := idMap[id]; ok && prev != nid {
				t.Errorf("blob %d mapped to two blobs: equal blobs must stay equal", id)
			}
			idMap[id] = nid
			ob, nb := a.blobs[id], b.blobs[nid]
			if ob.Tokens != nb.Tokens || ob.Kind != nb.Kind {
				t.Errorf("blob %s: tokens %d→%d", ob.Kind, ob.Tokens, nb.Tokens)
			}
			if !reflect.DeepEqual(shape(t, ob.Body), shape(t, nb.Body)) {
				t.Errorf("blob structure changed:\n%s\n%s", ob.Body, nb.Body)
			}
		}
	}
	// Prefix sharing: turn 1 of sess-1 extends turn 0 in both sets.
	for _, f := range []*flat{a, b} {
		p0, p1 := f.requests[0].Prompt, f.requests[1].Prompt
		if !reflect.DeepEqual(p1[:len(p0)], p0) {
			t.Error("prefix sharing lost")
		}
	}
	// Block hashes keep their pattern of equality across requests.
	for i := range a.requests {
		for j := range a.requests {
			for k := range a.requests[i].HashIDs {
				if k >= len(a.requests[j].HashIDs) {
					continue
				}
				ea := a.requests[i].HashIDs[k] == a.requests[j].HashIDs[k]
				eb := b.requests[i].HashIDs[k] == b.requests[j].HashIDs[k]
				if ea != eb {
					t.Errorf("requests %d,%d block %d: equal %v before, %v after", i, j, k, ea, eb)
				}
			}
		}
	}
	// Parent links survive under new ids.
	parents := 0
	for _, s := range b.sessions {
		if s.Parent != "" {
			parents++
			if strings.Contains(s.Parent, "sess-1") {
				t.Errorf("session id kept: %s", s.Parent)
			}
		}
	}
	if parents != 1 {
		t.Errorf("%d parent links, want 1", parents)
	}
	// Tool names stay consistent between the tool list and the calls.
	var toolsBlob, callBlob string
	for _, bl := range b.blobs {
		if bl.Kind == schemas.KindTools {
			toolsBlob = bl.Body
		}
		if strings.Contains(bl.Body, `"tool_use"`) {
			callBlob = bl.Body
		}
	}
	var tools []struct {
		Name string `json:"name"`
	}
	json.Unmarshal([]byte(toolsBlob), &tools)
	if len(tools) != 1 || !strings.HasPrefix(tools[0].Name, "tool_") || !strings.Contains(callBlob, `"name":"`+tools[0].Name+`"`) {
		t.Errorf("tool name not consistent: tools %s, call %s", toolsBlob, callBlob)
	}
	if !strings.Contains(toolsBlob, `"required":["command"]`) {
		t.Errorf("tool schema structure changed: %s", toolsBlob)
	}
	// Deterministic.
	if !reflect.DeepEqual(b.blobs, again.blobs) {
		t.Error("two runs with the same salt differ")
	}
	// Bodies rebuild as JSON.
	ts, _ := schemas.OpenTraceSet(out, schemas.TraceSetOptions{})
	defer ts.Close()
	for i := range b.requests {
		body, err := ts.Body(nil, &b.requests[i])
		if err != nil || !json.Valid(body) {
			t.Errorf("request %d rebuilds as invalid JSON (%v): %s", i, err, body)
		}
	}
}

// TestAnonymizeSchema12Columns covers what trace sets gained after
// anonymize was written: context_items and the sub-agent link are copied,
// request-metadata blobs stay metadata (filler of the same token count),
// generated blobs stay recipes under a new seed, and extras are dropped.
func TestAnonymizeSchema12Columns(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	w, err := schemas.CreateTraceSet(in, schemas.TraceWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const billing = "x-anthropic-billing-header: cc_version=2.1.120.cf9; cc_entrypoint=cli; cch=543cf;"
	w.SetSession(schemas.Session{ID: "root", Source: schemas.SourceProxy, Agent: "claude-code"})
	w.SetSession(schemas.Session{ID: "child", Source: schemas.SourceProxy, Agent: "claude-code", Parent: "root",
		ParentTurn: schemas.Int32(0), ParentOffsetNS: 7_000})
	extras := `{"aa":{"keys":["task_id","source"],"fields":{"task_id":"acme/` + secret + `#12","source":"github.com/acme/` + secret + `"}},"transport":"websocket"}`
	gen := schemas.FillerMessage(42, 300)
	turns := []*schemas.Turn{
		{SessionID: "root", API: schemas.APIAnthropic, Body: []byte(`{"model":"claude-x","max_tokens":10,"system":[{"type":"text","text":"` + billing + `"},{"type":"text","text":"You are ` + secret + `"}],"messages":[{"role":"user","content":"go"}]}`),
			Response: [][]byte{[]byte(`{"role":"assistant","content":[{"type":"text","text":"ok"}]}`)}, StartNS: 1_000, EndNS: 2_000, Status: 200, Extras: []byte(extras)},
		{SessionID: "child", API: schemas.APIOpenAIResponses, Params: []byte(`{"model":"gpt-x"}`),
			Parts:    []schemas.Part{{Kind: schemas.KindMessage, Recipe: gen, Tokens: -1}, {Kind: schemas.KindMessage, Body: []byte(`{"content":"` + secret + `","role":"user"}`), Tokens: -1}},
			Response: [][]byte{[]byte(`{"content":[{"text":"done","type":"output_text"}],"role":"assistant","type":"message"}`)}, StartNS: 9_000, EndNS: 9_500, Status: 200,
			ContextItems: 1, Extras: []byte(`{"previous_response_id":"resp_` + secret + `"}`)},
	}
	for _, tt := range turns {
		if _, err := w.WriteTurn(tt); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	outs := map[string]*flat{}
	for _, salt := range []string{"a", "b"} {
		out := filepath.Join(dir, "out-"+salt)
		if _, err := TraceSet(in, out, Options{Salt: salt}); err != nil {
			t.Fatal(err)
		}
		assertNoSecretIn(t, out)
		outs[salt] = load(t, out)
	}
	a, b := load(t, in), outs["a"]

	// context_items and extras.
	for i := range a.requests {
		x, y := a.requests[i], b.requests[i]
		if y.ContextItems != x.ContextItems || y.Extras != "" {
			t.Errorf("request %d: context_items %d→%d, extras %q, want %d and none", i, x.ContextItems, y.ContextItems, y.Extras, x.ContextItems)
		}
		if x.InputTokens != y.InputTokens || len(x.HashIDs) != len(y.HashIDs) {
			t.Errorf("request %d: input tokens %d→%d, %d→%d blocks", i, x.InputTokens, y.InputTokens, len(x.HashIDs), len(y.HashIDs))
		}
	}
	if a.requests[1].ContextItems != 1 || a.requests[0].Extras == "" {
		t.Fatalf("input set lacks what the test is about: %+v", a.requests)
	}

	// The sub-agent link, under the parent's new id.
	byID := map[string]schemas.Session{}
	for _, s := range b.sessions {
		byID[s.ID] = s
	}
	var child schemas.Session
	for _, s := range b.sessions {
		if s.Parent != "" {
			child = s
		}
	}
	if _, ok := byID[child.Parent]; !ok || child.ParentTurn == nil || *child.ParentTurn != 0 || child.ParentOffsetNS != 7_000 {
		t.Errorf("sub-agent link: parent %q (known %v), turn %v, offset %d; want the root's new id, 0, 7000", child.Parent, ok, child.ParentTurn, child.ParentOffsetNS)
	}

	// The request-metadata blob: still metadata, same tokens, no header.
	kinds := func(f *flat, r schemas.Request) []schemas.Blob {
		var out []schemas.Blob
		for _, id := range r.Prompt {
			out = append(out, f.blobs[id])
		}
		return out
	}
	orig, anon := kinds(a, a.requests[0]), kinds(b, b.requests[0])
	if orig[0].Kind != schemas.KindRequestMeta || anon[0].Kind != schemas.KindRequestMeta || anon[0].Tokens != orig[0].Tokens {
		t.Errorf("request metadata: %s (%d tokens) → %s (%d tokens)", orig[0].Kind, orig[0].Tokens, anon[0].Kind, anon[0].Tokens)
	}
	if strings.Contains(anon[0].Body, "cc_version") || strings.Contains(anon[0].Body, "543cf") {
		t.Errorf("request metadata kept its content: %s", anon[0].Body)
	}

	// The generated blob: still a recipe of the same tokens, another seed
	// per salt.
	gotRecipe := func(f *flat) schemas.Recipe {
		bl := f.blobs[f.requests[1].Prompt[0]]
		r, err := schemas.ParseRecipe(bl.Recipe)
		if err != nil || r.IsZero() {
			t.Fatalf("generated blob is stored as %q (%v), want a recipe", bl.Recipe, err)
		}
		return r
	}
	ra, rb := gotRecipe(b), gotRecipe(outs["b"])
	if ra.Tokens != gen.Tokens || ra.Version != gen.Version || ra.Seed == gen.Seed || ra.Seed == rb.Seed {
		t.Errorf("recipe %+v → %+v (salt a), %+v (salt b); want the same tokens and version, new seeds", gen, ra, rb)
	}
}

// assertNoSecretIn fails when a session, request or blob of the trace set
// at dir holds the secret's distinctive word.
func assertNoSecretIn(t *testing.T, dir string) {
	t.Helper()
	f := load(t, dir)
	for _, s := range f.sessions {
		if strings.Contains(fmt.Sprint(s), "Nightingale") {
			t.Errorf("session holds the secret: %+v", s)
		}
	}
	for _, r := range f.requests {
		if strings.Contains(r.Params+r.Extras+r.Error, "Nightingale") {
			t.Errorf("request %s/%d holds the secret: %s %s", r.SessionID, r.Turn, r.Params, r.Extras)
		}
	}
	for _, bl := range f.blobs {
		if strings.Contains(bl.Body, "Nightingale") {
			t.Errorf("blob holds the secret: %s", bl.Body)
		}
	}
}

// TestEveryColumnDecided fails when schemas gains a trace-set column that
// anonymize has not decided about: a new field must be copied, rewritten
// or dropped on purpose in TraceSet, then listed here.
func TestEveryColumnDecided(t *testing.T) {
	decided := map[string][]string{
		"Request": {"SessionID", "Turn", "API", "Model", "Stream", "Params", "Prompt", "Response", "HashIDs",
			"StartNS", "FirstTokenNS", "EndNS", "FirstByteNS", "ChunkNS", "ThinkNS", "InputTokens", "OutputTokens",
			"UsageInput", "UsageCached", "UsageCacheWrite", "UsageOutput", "UsageReasoning", "Status", "Error",
			"ContextItems", "Extras"},
		"Session": {"ID", "Source", "Agent", "Model", "API", "Parent", "ParentTurn", "ParentOffsetNS", "Turns",
			"InputTokens", "OutputTokens", "StartNS", "EndNS"},
		"Blob": {"ID", "Kind", "Tokens", "Body", "Recipe"},
	}
	for _, typ := range []reflect.Type{reflect.TypeOf(schemas.Request{}), reflect.TypeOf(schemas.Session{}), reflect.TypeOf(schemas.Blob{})} {
		known := map[string]bool{}
		for _, f := range decided[typ.Name()] {
			known[f] = true
		}
		for i := range typ.NumField() {
			if f := typ.Field(i); f.IsExported() && !known[f.Name] {
				t.Errorf("schemas.%s.%s is new: decide in anonymize.TraceSet whether to copy, rewrite or drop it, then list it here", typ.Name(), f.Name)
			}
		}
	}
}
