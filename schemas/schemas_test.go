package schemas

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

var sampleBodies = []struct {
	api  string
	body string
}{
	{APIOpenAIChat, `{"model":"gpt-oss-120b","stream":true,"max_tokens":100,"tools":[{"type":"function","function":{"name":"bash","parameters":{"type":"object"}}}],"messages":[{"role":"system","content":"You are a coding agent."},{"role":"user","content":"List files <b>&amp;</b>"}]}`},
	{APIOpenAIChat, `{"model":"gpt-oss-120b","messages":[]}`},
	{APIAnthropic, `{"model":"claude","max_tokens":64000,"system":[{"type":"text","text":"sys","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"bash","input":{"cmd":"ls -la"}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"a.go\nb.go"}]}],"metadata":{"user_id":"u"},"temperature":1.5e0}`},
	{APIOpenAIResponses, `{"model":"gpt-5","instructions":"be brief","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"hello"}]},{"type":"function_call","call_id":"c","name":"shell","arguments":"{\"cmd\":[\"ls\"]}"}],"prompt_cache_key":"k"}`},
	{APIOpenAIResponses, `{"model":"gpt-5","input":"just a string"}`},
	{APIAnthropic, `{"model":"claude","system":[{"type":"text","text":"x-anthropic-billing-header: cc_version=2.1.120.cf9; cc_entrypoint=cli; cch=543cf;"},{"type":"text","text":"You are Claude Code.","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"hi"}]}`},
	{APIAnthropic, `{"model":"claude","system":[{"text":"x-anthropic-billing-header: cc_version=2.1.1; cc_entrypoint=cli;","type":"text"}],"messages":[{"role":"user","content":"hi"}]}`},
	{APIRaw, `{"anything":[1,2,3]}`},
	{APIAnthropic, `not json at all`},
}

func TestSplitRebuildRoundTrip(t *testing.T) {
	for _, tt := range sampleBodies {
		params, parts, err := Split(tt.api, []byte(tt.body))
		if err != nil {
			t.Fatalf("Split(%s): %v", tt.body, err)
		}
		got := Rebuild(nil, tt.api, params, parts)
		assertSameJSON(t, tt.body, got)
	}
}

func assertSameJSON(t *testing.T, want string, got []byte) {
	t.Helper()
	cw, err := Canonical([]byte(want))
	if err != nil {
		cw = canonicalValue(want)
	}
	cg, err := Canonical(got)
	if err != nil {
		t.Fatalf("rebuilt body is not JSON: %v\n%s", err, got)
	}
	if !bytes.Equal(cw, cg) {
		t.Errorf("rebuilt body differs\n got %s\nwant %s", cg, cw)
	}
}

func TestCanonical(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"b":1,"a":[true,null,"x<y"]}`, `{"a":[true,null,"x<y"],"b":1}`},
		{` { "n" : 1.50 } `, `{"n":1.50}`},
		{`"tab\there\u0001"`, `"tab\there\u0001"`},
	}
	for _, tt := range tests {
		got, err := Canonical([]byte(tt.in))
		if err != nil || string(got) != tt.want {
			t.Errorf("Canonical(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	if _, err := Canonical([]byte(`{"a":1} x`)); err == nil {
		t.Error("trailing data accepted")
	}
}

func writeSample(t testing.TB, dir string) {
	t.Helper()
	w, err := CreateTraceSet(dir, TraceWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, tt := range sampleBodies {
		sid := "s" + string(rune('a'+i%3))
		w.SetSession(Session{ID: sid, Source: SourceSynth, Agent: "test"})
		_, err := w.WriteTurn(&Turn{SessionID: sid, API: tt.api, Body: []byte(tt.body),
			Response: [][]byte{[]byte(`{"role":"assistant","content":"ok"}`)},
			StartNS:  int64(i) * 1e9, EndNS: int64(i)*1e9 + 5e8, ThinkNS: 1e8, Status: 200,
			Usage: Usage{Output: Int64(7)}})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestTraceSetRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "set")
	writeSample(t, dir)
	ts, err := OpenTraceSet(dir, TraceSetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	if n := ts.NumRequests(); n != int64(len(sampleBodies)) {
		t.Fatalf("requests = %d, want %d", n, len(sampleBodies))
	}
	i := 0
	turns := map[string]int32{}
	err = ts.Requests(func(r *Request) error {
		body, err := ts.Body(nil, r)
		if err != nil {
			return err
		}
		assertSameJSON(t, sampleBodies[i].body, body)
		if r.Turn != turns[r.SessionID] {
			t.Errorf("request %d: turn %d, want %d", i, r.Turn, turns[r.SessionID])
		}
		turns[r.SessionID]++
		if r.OutputTokens != 7 {
			t.Errorf("output tokens %d, want 7 (usage)", r.OutputTokens)
		}
		if r.InputTokens > 0 && len(r.HashIDs) == 0 {
			t.Errorf("request %d: no hash ids", i)
		}
		i++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var sessions int
	err = ts.Sessions(func(s *Session) error {
		sessions++
		if s.Turns != turns[s.ID] || s.Source != SourceSynth {
			t.Errorf("session %+v: turns want %d", s, turns[s.ID])
		}
		return nil
	})
	if err != nil || sessions != 3 {
		t.Fatalf("sessions = %d, %v", sessions, err)
	}
	if _, err := CreateTraceSet(dir, TraceWriterOptions{}); !errors.Is(err, ErrExists) {
		t.Errorf("creating over an existing set: %v, want ErrExists", err)
	}
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), ".set.partial-*"))
	if len(matches) != 0 {
		t.Errorf("partial directories left behind: %v", matches)
	}
}

func TestBadFiles(t *testing.T) {
	base := t.TempDir()
	good := filepath.Join(base, "good")
	writeSample(t, good)
	copySet := func(name string) string {
		d := filepath.Join(base, name)
		os.MkdirAll(d, 0o755)
		for _, f := range []string{SessionsFile, RequestsFile, BlobsFile} {
			b, _ := os.ReadFile(filepath.Join(good, f))
			os.WriteFile(filepath.Join(d, f), b, 0o644)
		}
		return d
	}
	tests := []struct {
		name    string
		mutate  func(dir string)
		wantMsg string
	}{
		{"truncated", func(d string) {
			p := filepath.Join(d, RequestsFile)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)/2], 0o644)
		}, "requests.parquet: invalid agentperf file: not a readable Parquet file"},
		{"foreign", func(d string) {
			type other struct {
				X int64 `parquet:"x"`
			}
			f, _ := os.Create(filepath.Join(d, BlobsFile))
			w := parquet.NewGenericWriter[other](f)
			w.Write([]other{{1}})
			w.Close()
			f.Close()
		}, "blobs.parquet: invalid agentperf file: a Parquet file, but not one agentperf wrote"},
		{"future major", func(d string) {
			f, _ := os.Create(filepath.Join(d, SessionsFile))
			w := parquet.NewGenericWriter[Session](f, parquet.KeyValueMetadata(MetaVersion, "2.0"), parquet.KeyValueMetadata(MetaKind, FileSessions))
			w.Close()
			f.Close()
		}, "schema version 2.0 is not supported"},
		{"wrong kind", func(d string) {
			b, _ := os.ReadFile(filepath.Join(d, SessionsFile))
			os.WriteFile(filepath.Join(d, BlobsFile), b, 0o644)
		}, `holds "sessions" rows, expected "blobs"`},
		{"missing file", func(d string) { os.Remove(filepath.Join(d, BlobsFile)) }, "blobs.parquet: missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := copySet(strings.ReplaceAll(tt.name, " ", "_"))
			tt.mutate(d)
			_, err := OpenTraceSet(d, TraceSetOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("OpenTraceSet: %v, want message containing %q", err, tt.wantMsg)
			}
		})
	}
}

func TestResultsRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "r.parquet")
	w, err := CreateResults(p, false)
	if err != nil {
		t.Fatal(err)
	}
	w.SetRunMeta(&RunMeta{RunID: "r", Target: "sim", Levels: []LevelMeta{{Index: 0, Users: 7, SessionsByAgent: map[string]int{"claude code": 3}, Client: &ClientHealth{OK: true, Reasons: []string{}}}}})
	for i := 0; i < 5000; i++ {
		if err := w.Write(&Result{RunID: "r", User: int32(i % 7), SessionID: "s", Turn: int32(i), SentNS: int64(i), ChunkOffsetsUS: []int32{1, 2, 3}, Status: 200}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(p); err == nil {
		t.Error("results file visible before Close")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	rf, err := OpenResults(p)
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	if m := rf.RunMeta(); m.Target != "sim" || m.Level(0) == nil || m.Level(0).SessionsByAgent["claude code"] != 3 {
		t.Errorf("meta = %+v", m)
	}
	n := 0
	err = rf.Each(func(r *Result) error {
		if r.Turn != int32(n) || len(r.ChunkOffsetsUS) != 3 {
			t.Fatalf("row %d = %+v", n, r)
		}
		n++
		return nil
	})
	if err != nil || n != 5000 {
		t.Fatalf("read %d rows, %v", n, err)
	}
}
