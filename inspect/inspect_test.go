package inspect

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/agentperf/agentperf/internal/hist"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/synth"
	"github.com/agentperf/agentperf/tokens"
	"github.com/parquet-go/parquet-go"
)

// msg returns a canonical chat message and a made-up token count.
func msg(role, text string, ntok int) schemas.Part {
	b, _ := json.Marshal(map[string]string{"role": role, "content": text})
	c, _ := schemas.Canonical(b)
	return schemas.Part{Kind: schemas.KindMessage, Body: c, Tokens: ntok}
}

// handSet writes a small set with known token counts: session "a" has
// prompts [A B], [A B C], [A D]; session "b" one request [A].
func handSet(t *testing.T, dir string) {
	t.Helper()
	A, B, C, D := msg("system", "sys", 600), msg("user", "task", 50), msg("assistant", "ok", 30), msg("user", "other", 20)
	w, err := schemas.CreateTraceSet(dir, schemas.TraceWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	params := []byte(`{"model":"m","stream":true}`)
	resp := [][]byte{[]byte(`{"content":"done","role":"assistant"}`)}
	turns := []struct {
		sid   string
		parts []schemas.Part
		think int64
	}{
		{"a", []schemas.Part{A, B}, 0},
		{"a", []schemas.Part{A, B, C}, 1e9},
		{"b", []schemas.Part{A}, 0},
		{"a", []schemas.Part{A, D}, 3e9},
	}
	now := int64(1e18)
	for _, tt := range turns {
		w.SetSession(schemas.Session{ID: tt.sid, Source: schemas.SourceImport, Agent: "test"})
		now += tt.think
		_, err := w.WriteTurn(&schemas.Turn{SessionID: tt.sid, API: schemas.APIOpenAIChat, Params: params, Parts: tt.parts,
			Response: resp, StartNS: now, FirstTokenNS: now + 1e8, EndNS: now + 5e8, ThinkNS: tt.think, OutputTokens: 40, Status: 200})
		if err != nil {
			t.Fatal(err)
		}
		now += 5e8
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func open(t *testing.T, dir string) *schemas.TraceSet {
	t.Helper()
	ts, err := schemas.OpenTraceSet(dir, schemas.TraceSetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ts.Close() })
	return ts
}

func TestInspectHandSet(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "set")
	handSet(t, dir)
	ts := open(t, dir)
	st, err := Inspect(ts, Options{Check: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Problems) != 0 {
		t.Fatalf("problems in a good set: %v", st.Problems)
	}
	// Inputs: 650, 680, 600, 620 = 2550. Reused: 650 (a1 after a0) + 600
	// (a2 shares A) = 1250. Blocks: a1 and a2 each share A's first
	// 512-token block with the previous request of a.
	var naive int64
	ts.Requests(func(r *schemas.Request) error {
		b, err := ts.Body(nil, r)
		naive += int64(len(b)) + 1
		return err
	})
	tests := []struct {
		name      string
		got, want float64
	}{
		{"sessions", float64(st.Sessions), 2},
		{"requests", float64(st.Requests), 4},
		{"blobs", float64(st.Blobs), 5},
		{"total input", float64(st.TotalInputTokens), 2550},
		{"total output", float64(st.TotalOutputTokens), 160},
		{"prefix reuse", st.PrefixReuse, 1250.0 / 2550},
		{"block reuse", st.BlockReuse, 1024.0 / 2550},
		{"input max", st.InputTokens.Max, 680},
		{"input min", st.InputTokens.Min, 600},
		{"input p50", st.InputTokens.P50, 620},
		{"turns p50", st.TurnsPerSession.P50, 1},
		{"turns max", st.TurnsPerSession.Max, 3},
		{"think count", float64(st.ThinkSeconds.Count), 2},
		{"think max", st.ThinkSeconds.Max, 3},
		{"think min", st.ThinkSeconds.Min, 1},
		{"jsonl bytes", float64(st.JSONLBytes), float64(naive)},
		{"failed", float64(st.FailedRequests), 0},
	}
	for _, tt := range tests {
		if math.Abs(tt.got-tt.want) > 1e-9 {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	if st.DiskBytes <= 0 || st.JSONLRatio != float64(st.JSONLBytes)/float64(st.DiskBytes) {
		t.Errorf("disk %d, ratio %v", st.DiskBytes, st.JSONLRatio)
	}
	if st.Sources[schemas.SourceImport] != 2 || st.APIs[schemas.APIOpenAIChat] != 4 || st.Models["m"] != 4 {
		t.Errorf("counts: sources %v apis %v models %v", st.Sources, st.APIs, st.Models)
	}
	// Without --check, Problems is null; with it, [].
	var buf bytes.Buffer
	st2, _ := Inspect(ts, Options{SkipJSONL: true})
	WriteJSON(&buf, st2)
	if !strings.Contains(buf.String(), `"problems": null`) || !strings.Contains(buf.String(), `"jsonl_bytes": 0`) {
		t.Errorf("unchecked JSON should have null problems and no jsonl size:\n%s", buf.String())
	}
	buf.Reset()
	WriteJSON(&buf, st)
	if !strings.Contains(buf.String(), `"problems": []`) {
		t.Errorf("checked JSON should have empty problems:\n%s", buf.String())
	}
	buf.Reset()
	if err := WriteTable(&buf, st); err != nil || !strings.Contains(buf.String(), "check: OK") || !strings.Contains(buf.String(), "49.0 %") {
		t.Errorf("table: %v\n%s", err, buf.String())
	}
}

// TestInspectGeneratedBlobs inspects a set whose blocks are stored as
// recipes and the same set with the bytes stored: the same figures (sizes
// of rebuilt JSON included), the generated blobs counted, no problems.
func TestInspectGeneratedBlobs(t *testing.T) {
	base := t.TempDir()
	sys := msg("system", "be brief", -1)
	block := func(seed uint64, n int) schemas.Part {
		return schemas.Part{Kind: schemas.KindMessage, Recipe: schemas.FillerMessage(seed, n), Tokens: n}
	}
	prompts := [][]schemas.Part{{sys, block(1, 512), block(2, 40)}, {sys, block(1, 512), block(2, 512), block(3, 9)}}
	var stats []*Stats
	for _, stored := range []bool{false, true} {
		dir := filepath.Join(base, fmt.Sprint(stored))
		w, err := schemas.CreateTraceSet(dir, schemas.TraceWriterOptions{StoreGenerated: stored})
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range prompts {
			if _, err := w.WriteTurn(&schemas.Turn{SessionID: "s", API: schemas.APIOpenAIChat, Params: []byte(`{"stream":true}`), Parts: p, StartNS: int64(i+1) * 1e9}); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		st, err := Inspect(open(t, dir), Options{Check: true, Recount: true})
		if err != nil || len(st.Problems) != 0 {
			t.Fatalf("stored %v: %v %v", stored, err, st.Problems)
		}
		stats = append(stats, st)
	}
	r, s := stats[0], stats[1]
	if r.GeneratedBlobs != 4 || s.GeneratedBlobs != 0 || r.Blobs != 5 || s.Blobs != 5 {
		t.Errorf("generated blobs %d of %d and %d of %d, want 4 of 5 and 0 of 5", r.GeneratedBlobs, r.Blobs, s.GeneratedBlobs, s.Blobs)
	}
	if r.JSONLBytes != s.JSONLBytes || r.BlobBytes[schemas.KindMessage] != s.BlobBytes[schemas.KindMessage] || r.TotalInputTokens != s.TotalInputTokens || r.BlockReuse != s.BlockReuse {
		t.Errorf("recipe set %+v\nstored set %+v", r, s)
	}
	if r.DiskBytes >= s.DiskBytes {
		t.Errorf("recipe set %d bytes on disk, stored %d: want smaller", r.DiskBytes, s.DiskBytes)
	}
	var buf bytes.Buffer
	WriteTable(&buf, r)
	if !strings.Contains(buf.String(), "generated  4") {
		t.Errorf("table lacks the generated blobs:\n%s", buf.String())
	}
	buf.Reset()
	WriteJSON(&buf, r)
	if !strings.Contains(buf.String(), `"generated_blobs": 4`) {
		t.Errorf("JSON lacks generated_blobs:\n%s", buf.String())
	}
}

// rows holds a whole (small) trace set in memory.
type rows struct {
	blobs    []schemas.Blob
	requests []schemas.Request
	sessions []schemas.Session
}

func readRows(t *testing.T, dir string) *rows {
	ts := open(t, dir)
	r := &rows{}
	ts.Blobs(func(b *schemas.Blob) error { r.blobs = append(r.blobs, *b); return nil })
	ts.Requests(func(q *schemas.Request) error {
		c := *q
		c.Prompt, c.Response, c.HashIDs = slices.Clone(q.Prompt), slices.Clone(q.Response), slices.Clone(q.HashIDs)
		r.requests = append(r.requests, c)
		return nil
	})
	ts.Sessions(func(s *schemas.Session) error { r.sessions = append(r.sessions, *s); return nil })
	return r
}

func writeRows[T any](t *testing.T, path, kind string, rows []T) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[T](f, parquet.KeyValueMetadata(schemas.MetaVersion, schemas.Version), parquet.KeyValueMetadata(schemas.MetaKind, kind))
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func (r *rows) write(t *testing.T, dir string) {
	t.Helper()
	os.MkdirAll(dir, 0o755)
	writeRows(t, filepath.Join(dir, schemas.BlobsFile), schemas.FileBlobs, r.blobs)
	writeRows(t, filepath.Join(dir, schemas.RequestsFile), schemas.FileRequests, r.requests)
	writeRows(t, filepath.Join(dir, schemas.SessionsFile), schemas.FileSessions, r.sessions)
}

func (r *rows) blobIndex(id int64) int {
	return slices.IndexFunc(r.blobs, func(b schemas.Blob) bool { return b.ID == id })
}

// TestCheckFindsCorruption corrupts a good set in one way per case and
// checks that Check names the file and the problem.
func TestCheckFindsCorruption(t *testing.T) {
	base := t.TempDir()
	good := filepath.Join(base, "good")
	handSet(t, good)
	if ps, err := Check(open(t, good), Options{Recount: false}); err != nil || len(ps) != 0 {
		t.Fatalf("good set: %v %v", ps, err)
	}
	// Request 1 is session a turn 1 (prompt A B C); request 3 is a turn 2.
	tests := []struct {
		name     string
		mutate   func(r *rows)
		file     string
		contains string
	}{
		{"prompt blob missing", func(r *rows) {
			i := r.blobIndex(r.requests[1].Prompt[2])
			r.blobs = slices.Delete(r.blobs, i, i+1)
		}, schemas.RequestsFile, `session "a" turn 1: prompt blob`},
		{"response blob missing", func(r *rows) {
			i := r.blobIndex(r.requests[0].Response[0])
			r.blobs = slices.Delete(r.blobs, i, i+1)
		}, schemas.RequestsFile, "response blob"},
		{"blob id does not match content", func(r *rows) {
			r.blobs[0].Body = strings.Replace(r.blobs[0].Body, `"role"`, `"role" `, 1)
		}, schemas.BlobsFile, "id does not match its content"},
		{"generated blob rebuilds to other bytes", func(r *rows) {
			// A recipe whose generator output changed: its id no longer
			// matches what it rebuilds.
			r.blobs[0].Body, r.blobs[0].Recipe = "", schemas.FillerMessage(1, 600).String()
		}, schemas.BlobsFile, "id does not match its content"},
		{"blob body not JSON", func(r *rows) {
			r.blobs[0].Body = `{"role":"user","content":"x"`
			r.blobs[0].ID = schemas.BlobID(r.blobs[0].Kind, []byte(r.blobs[0].Body))
		}, schemas.BlobsFile, "not valid JSON"},
		{"blob body not canonical", func(r *rows) {
			r.blobs[0].Body = `{"role":"user", "content":"x"}`
			r.blobs[0].ID = schemas.BlobID(r.blobs[0].Kind, []byte(r.blobs[0].Body))
		}, schemas.BlobsFile, "not canonical"},
		{"duplicate blob", func(r *rows) { r.blobs = append(r.blobs, r.blobs[0]) }, schemas.BlobsFile, "appears twice"},
		{"unknown blob kind", func(r *rows) {
			r.blobs[0].Kind = "picture"
			r.blobs[0].ID = schemas.BlobID("picture", []byte(r.blobs[0].Body))
		}, schemas.BlobsFile, `unknown kind "picture"`},
		{"turn gap", func(r *rows) { r.requests = slices.Delete(r.requests, 1, 2) }, schemas.RequestsFile, `session "a" turn 2: turns of a session must run 0, 1, 2`},
		{"turns out of order", func(r *rows) { r.requests[1], r.requests[3] = r.requests[3], r.requests[1] }, schemas.RequestsFile, "expected turn 1"},
		{"session turn count", func(r *rows) { r.sessions[0].Turns = 7 }, schemas.SessionsFile, `session "a": turns 7, but requests.parquet holds 3`},
		{"session totals", func(r *rows) { r.sessions[1].InputTokens++ }, schemas.SessionsFile, `session "b": token totals`},
		{"session times", func(r *rows) { r.sessions[1].EndNS-- }, schemas.SessionsFile, `session "b": start_ns/end_ns`},
		{"session row missing", func(r *rows) { r.sessions = r.sessions[:1] }, schemas.SessionsFile, `session "b" has requests but no row`},
		{"duplicate session row", func(r *rows) { r.sessions = append(r.sessions, r.sessions[0]) }, schemas.SessionsFile, "appears twice"},
		{"hash ids", func(r *rows) { r.requests[1].HashIDs[0]++ }, schemas.RequestsFile, "hash_ids do not match"},
		{"input tokens", func(r *rows) { r.requests[2].InputTokens = 1 }, schemas.RequestsFile, `session "b" turn 0: input_tokens 1, but its prompt blobs hold 600`},
		{"blob tokens changed", func(r *rows) { r.blobs[r.blobIndex(r.requests[1].Prompt[2])].Tokens = 31 }, schemas.RequestsFile, "input_tokens 680, but its prompt blobs hold 681"},
		{"params not an object", func(r *rows) { r.requests[0].Params = `[1]` }, schemas.RequestsFile, "params is not a JSON object"},
		{"unknown api", func(r *rows) { r.requests[0].API = "smoke-signals" }, schemas.RequestsFile, `unknown api "smoke-signals"`},
		{"end before start", func(r *rows) { r.requests[0].EndNS = r.requests[0].StartNS - 1 }, schemas.RequestsFile, "before start_ns"},
		{"first token outside", func(r *rows) { r.requests[0].FirstTokenNS = r.requests[0].EndNS + 1 }, schemas.RequestsFile, "first_token_ns"},
		{"negative think", func(r *rows) { r.requests[1].ThinkNS = -5 }, schemas.RequestsFile, "negative think_ns"},
		{"params repeat the message list", func(r *rows) { r.requests[0].Params = `{"messages":[],"model":"m"}` }, schemas.RequestsFile, `params sets "messages"`},
		{"raw body beside other parts", func(r *rows) {
			raw := schemas.Blob{Kind: schemas.KindBody, Body: `"x"`, Tokens: 1}
			raw.ID = schemas.BlobID(raw.Kind, []byte(raw.Body))
			r.blobs = append(r.blobs, raw)
			r.requests[0].Prompt = append(r.requests[0].Prompt, raw.ID)
		}, schemas.RequestsFile, "a raw body blob must be the whole prompt"},
		{"two tools blobs", func(r *rows) {
			tools := schemas.Blob{Kind: schemas.KindTools, Body: `[]`}
			tools.ID = schemas.BlobID(tools.Kind, []byte(tools.Body))
			r.blobs = append(r.blobs, tools)
			r.requests[2].Prompt = append([]int64{tools.ID, tools.ID}, r.requests[2].Prompt...)
		}, schemas.RequestsFile, `the prompt has 2 "tools" blobs`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := readRows(t, good)
			tt.mutate(r)
			dir := filepath.Join(base, strings.ReplaceAll(tt.name, " ", "_"))
			r.write(t, dir)
			ps, err := Check(open(t, dir), Options{})
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			found := false
			for _, p := range ps {
				if p.File == tt.file && strings.Contains(p.Message, tt.contains) {
					found = true
				}
			}
			if !found {
				t.Errorf("problems %v, want one in %s containing %q", ps, tt.file, tt.contains)
			}
		})
	}
}

func TestCheckRecount(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "set")
	handSet(t, dir) // made-up token counts: the tokenizer disagrees
	ps, err := Check(open(t, dir), Options{Recount: true})
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("tokens 600, the tokenizer counts %d", tokens.CountJSON([]byte(`{"content":"sys","role":"system"}`)))
	if !slices.ContainsFunc(ps, func(p Problem) bool { return strings.Contains(p.Message, want) }) {
		t.Errorf("problems %v, want one containing %q", ps, want)
	}
}

func TestCheckMaxProblems(t *testing.T) {
	base := t.TempDir()
	good := filepath.Join(base, "good")
	handSet(t, good)
	r := readRows(t, good)
	for i := range r.requests {
		r.requests[i].Params = "x"
	}
	bad := filepath.Join(base, "bad")
	r.write(t, bad)
	st, err := Inspect(open(t, bad), Options{Check: true, MaxProblems: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Problems) != 2 || st.ProblemsTruncated < 2 {
		t.Errorf("problems %d listed, %d truncated; want 2 and ≥ 2", len(st.Problems), st.ProblemsTruncated)
	}
}

// TestSynthSetChecksClean runs the full check, token recount included, on
// a small synthetic set.
func TestSynthSetChecksClean(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "set")
	if _, err := synth.Write(context.Background(), dir, synth.Options{Sessions: 2, MinTurns: 20, MaxTurns: 24, Seed: 5}, synth.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	st, err := Inspect(open(t, dir), Options{Check: true, Recount: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Problems) != 0 {
		t.Fatalf("synthetic set has problems: %v", st.Problems)
	}
	if st.PrefixReuse < 0.8 || st.JSONLRatio < 2 {
		t.Errorf("prefix reuse %.2f, JSONL ratio %.1f: expected a growing shared prefix", st.PrefixReuse, st.JSONLRatio)
	}
}

func TestHistogram(t *testing.T) {
	var h histogram
	for i := 1; i <= 100; i++ {
		h.add(float64(i))
	}
	d := h.dist(1)
	if d.P50 != 50 || d.P95 != 95 || d.P99 != 99 || d.Min != 1 || d.Max != 100 || d.Mean != 50.5 || d.Count != 100 {
		t.Errorf("1..100: %+v", d)
	}
	var big histogram
	n := hist.ExactValues + 1000
	for i := 1; i <= n; i++ {
		big.add(float64(i))
	}
	if big.h.Exact() {
		t.Error("histogram kept more than hist.ExactValues values")
	}
	for _, q := range []float64{0.5, 0.95} {
		want := q * float64(n)
		if p := big.h.Quantile(q); math.Abs(p-want)/want > 0.001 {
			t.Errorf("q%.2f of 1..%d = %v, want within 0.1%% of %v", q, n, p, want)
		}
	}
	var zero histogram
	if zero.dist(1) != (Dist{}) {
		t.Error("empty histogram not zero")
	}
	var z histogram
	z.add(0)
	z.add(0)
	z.add(7)
	if z.h.Quantile(0.5) != 0 || z.h.Quantile(1) != 7 {
		t.Errorf("zeros: p50 %v p100 %v", z.h.Quantile(0.5), z.h.Quantile(1))
	}
}

// TestInspectCaptureMarkers writes two Claude Code turns whose billing
// block differs (cch), a materialized Responses turn, one with an
// unresolved previous_response_id, and a linked sub-agent: the reuse
// figures ignore the billing block (the second prompt reuses the whole
// first), the counts are right, and the set checks clean.
func TestInspectCaptureMarkers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "set")
	w, err := schemas.CreateTraceSet(dir, schemas.TraceWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sys := strings.Repeat("You are Claude Code. Follow the conventions. ", 200)
	cc := func(cch, msgs string) []byte {
		return []byte(`{"model":"claude","stream":true,"system":[{"type":"text","text":"x-anthropic-billing-header: cc_version=2.1.1; cc_entrypoint=cli; cch=` + cch + `;"},{"type":"text","text":"` + sys + `"}],"messages":[` + msgs + `]}`)
	}
	u := `{"role":"user","content":"fix it"}`
	task := []byte(`{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"Task","input":{"prompt":"Search the code"}}]}`)
	turns := []schemas.Turn{
		{SessionID: "cc", API: schemas.APIAnthropic, Body: cc("aaaaa", u), Response: [][]byte{task}, StartNS: 1e9, EndNS: 2e9, Status: 200},
		{SessionID: "cc", API: schemas.APIAnthropic, Body: cc("bbbbb", u+`,{"role":"assistant","content":"ok"},{"role":"user","content":"go on"}`), StartNS: 3e9, EndNS: 4e9, ThinkNS: 1e9, Status: 200},
		{SessionID: "sub", API: schemas.APIAnthropic, Body: []byte(`{"model":"claude","messages":[{"role":"user","content":"Search the code"}]}`), StartNS: 2e9 + 5, EndNS: 25e8, Status: 200},
		{SessionID: "rs", API: schemas.APIOpenAIResponses, Body: []byte(`{"model":"g","input":[{"role":"user","content":"a"},{"role":"assistant","content":"b"},{"role":"user","content":"c"}]}`), ContextItems: 2, Extras: []byte(`{"previous_response_id":"resp_1"}`), Status: 200},
		{SessionID: "rs2", API: schemas.APIOpenAIResponses, Body: []byte(`{"model":"g","previous_response_id":"resp_x","input":"d"}`), Status: 200},
	}
	for i := range turns {
		if _, err := w.WriteTurn(&turns[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := Inspect(open(t, dir), Options{Check: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Problems) != 0 {
		t.Errorf("problems: %v", st.Problems)
	}
	if st.RequestMetadataRequests != 2 || st.MaterializedRequests != 1 || st.UnresolvedPreviousResponse != 1 || st.LinkedSubAgents != 1 {
		t.Errorf("request metadata %d, materialized %d, unresolved %d, linked %d; want 2, 1, 1, 1",
			st.RequestMetadataRequests, st.MaterializedRequests, st.UnresolvedPreviousResponse, st.LinkedSubAgents)
	}
	// The second cc turn reuses all of the first prompt (system + u).
	var first, second int64
	open(t, dir).Requests(func(r *schemas.Request) error {
		if r.SessionID == "cc" && r.Turn == 0 {
			first = int64(r.InputTokens)
		}
		if r.SessionID == "cc" && r.Turn == 1 {
			second = int64(r.InputTokens)
		}
		return nil
	})
	if want := float64(first) / float64(st.TotalInputTokens); math.Abs(st.PrefixReuse-want) > 1e-9 || first == 0 || second <= first {
		t.Errorf("prefix reuse %.4f, want %.4f (the first prompt of %d tokens reused whole)", st.PrefixReuse, want, first)
	}
	if st.BlockReuse <= 0 {
		t.Errorf("block reuse %v: the billing block leaked into hash_ids", st.BlockReuse)
	}
	var out bytes.Buffer
	if err := WriteTable(&out, st); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"previous_response_id", "1 unresolved", "request metadata", "sub-agents"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}
