package convert

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/schemas"
)

const (
	codexMain = "019a4e6b-2c7d-7f10-9a3e-5b8c1d2e3f40"
	codexSub  = "019a4e6d-8e21-7c02-b4f6-0a1b2c3d4e5f"
)

// itemTypes lists the types of Responses items (role for messages).
func itemTypes(items []map[string]any) string {
	var ts []string
	for _, it := range items {
		s, _ := it["type"].(string)
		if s == "message" {
			s = it["role"].(string)
		}
		ts = append(ts, s)
	}
	return strings.Join(ts, ",")
}

func TestImportCodexFixture(t *testing.T) {
	out := filepath.Join(t.TempDir(), "set")
	st, err := Import(context.Background(), "testdata/codex/sessions", out, ImportOptions{Format: FormatCodex})
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != 2 || st.Sessions != 2 || st.Requests != 5 || st.Skipped != 0 {
		t.Errorf("stats %+v, want 2 files, 2 sessions, 5 requests", st)
	}
	for _, s := range readSessions(t, out) {
		wantParent := map[string]string{codexMain: "", codexSub: codexMain}
		if p, ok := wantParent[s.ID]; !ok || s.Parent != p || s.Agent != AgentCodex || s.API != schemas.APIOpenAIResponses {
			t.Errorf("session %+v", s)
		}
	}
	reqs := readDecoded(t, out)
	type want struct {
		session  string
		input    string
		output   string
		in, out  int64
		cached   int64
		reason   int64
		start    string
		end      string
		thinkMS  int64
		model    string
		effort   string
		instruct bool
	}
	wants := []want{
		{codexMain, "developer,user,user", "reasoning,function_call", 5230, 180, 4096, 128,
			"2025-11-04T10:02:14.021Z", "2025-11-04T10:02:17.990Z", 0, "gpt-5-codex", "medium", true},
		{codexMain, "developer,user,user,reasoning,function_call,function_call_output", "reasoning,custom_tool_call", 5602, 412, 5248, 64,
			"2025-11-04T10:02:18.310Z", "2025-11-04T10:02:25.950Z", 320, "gpt-5-codex", "medium", true},
		{codexMain, "developer,user,user,reasoning,function_call,function_call_output,reasoning,custom_tool_call,custom_tool_call_output", "assistant", 6101, 57, 5888, 0,
			"2025-11-04T10:02:26.402Z", "2025-11-04T10:02:29.200Z", 452, "gpt-5-codex", "medium", true},
		{codexMain, "user,user,user,user", "assistant", 2210, 95, 0, 32,
			"2025-11-04T10:05:41.501Z", "2025-11-04T10:05:44.300Z", 192301, "gpt-5-codex", "medium", true},
		{codexSub, "user", "assistant", 950, 12, 0, 0,
			"2025-11-04T10:02:20.011Z", "2025-11-04T10:02:21.550Z", 0, "gpt-5-codex-mini", "low", false},
	}
	if len(reqs) != len(wants) {
		t.Fatalf("%d requests, want %d", len(reqs), len(wants))
	}
	for i, r := range reqs {
		w := wants[i]
		reasoning, _ := r.Body["reasoning"].(map[string]any)
		_, hasInstr := r.Body["instructions"].(string)
		got := []any{r.SessionID, itemTypes(r.Messages), *r.UsageInput, *r.UsageOutput, *r.UsageCached, *r.UsageReasoning,
			int64(r.OutputTokens), r.StartNS, r.EndNS, r.ThinkNS / 1e6, r.Model, reasoning["effort"], hasInstr, r.Body["stream"], r.Body["store"]}
		exp := []any{w.session, w.input, w.in, w.out, w.cached, w.reason,
			w.out, ms(w.start), ms(w.end), w.thinkMS, w.model, w.effort, w.instruct, true, false}
		for j := range got {
			if got[j] != exp[j] {
				t.Errorf("request %d field %d: got %v, want %v", i, j, got[j], exp[j])
			}
		}
	}
	// Responses: read the response blobs' types.
	resp := readResponseTypes(t, out)
	for i, w := range wants {
		if resp[i] != w.output {
			t.Errorf("request %d: response items %s, want %s", i, resp[i], w.output)
		}
	}
}

// readResponseTypes returns, per request, the item types of its response.
func readResponseTypes(t *testing.T, dir string) []string {
	t.Helper()
	ts, err := schemas.OpenTraceSet(dir, schemas.TraceSetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	var out []string
	err = ts.Requests(func(r *schemas.Request) error {
		var items []map[string]any
		for _, id := range r.Response {
			b, err := ts.Blob(id)
			if err != nil {
				return err
			}
			var m map[string]any
			if err := decodeJSON([]byte(b.Body), &m); err != nil {
				return err
			}
			items = append(items, m)
		}
		out = append(out, itemTypes(items))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestParseCodexLine(t *testing.T) {
	tests := []struct {
		line    string
		wantErr string
		check   func(*codexEntry) bool
	}{
		{`{"timestamp":"2025-01-01T00:00:00Z","type":"event_msg","payload":{"type":"token_count","info":null,"input_tokens":10,"cached_input_tokens":2,"output_tokens":3,"reasoning_output_tokens":1}}`, "",
			func(e *codexEntry) bool { return e.usage != nil && *e.usage.Input == 10 && *e.usage.Reasoning == 1 }},
		{`{"timestamp":"2025-01-01T00:00:00Z","type":"event_msg","payload":{"type":"token_count","info":null,"rate_limits":{}}}`, "",
			func(e *codexEntry) bool { return e.usage == nil }},
		{`{"timestamp":"x","type":"response_item","payload":{"type":"message","role":"assistant","content":[]}}`, "",
			func(e *codexEntry) bool { return e.output && e.ts == 0 }},
		{`{"timestamp":"x","type":"response_item","payload":{"type":"function_call_output","call_id":"c","output":"ok"}}`, "",
			func(e *codexEntry) bool { return !e.output }},
		{`{"timestamp":"x","type":"session_meta","payload":{"id":"a","instructions":"old style","source":"exec"}}`, "",
			func(e *codexEntry) bool { return e.instructions == "old style" && e.parent == "" }},
		{`{"timestamp":"x","type":"compacted","payload":{"message":"sum"}}`, "",
			func(e *codexEntry) bool { return len(e.history) == 1 && strings.Contains(string(e.history[0]), "sum") }},
		{`{"timestamp":"x","type":"response_item","payload":{}}`, "response_item without a type", nil},
		{`{"timestamp":"x","type":"response_item","payload":[1]}`, "payload is not a JSON object", nil},
		{`{"type":"user","uuid":"u","message":{"content":"hi"}}`, "not a Codex rollout line", nil},
		{`{"timestamp":"x","type":"turn_context","payload":{"model":5}}`, "turn_context: model: expected string", nil},
	}
	for _, tt := range tests {
		e, err := parseCodexLine([]byte(tt.line))
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("parse(%s): %v", tt.line, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("parse(%s) = %v, want error containing %q", tt.line, err, tt.wantErr)
		case tt.check != nil && !tt.check(e):
			t.Errorf("parse(%s) = %+v: check failed", tt.line, e)
		}
	}
}

// TestCodexCallWithoutTokenCount checks that output followed by the next
// input ends a call even when no token_count event came.
func TestCodexCallWithoutTokenCount(t *testing.T) {
	s := newCodexState()
	for _, l := range []string{
		`{"timestamp":"2025-01-01T00:00:00Z","type":"response_item","payload":{"type":"message","role":"user","content":[{"type":"input_text","text":"a"}]}}`,
		`{"timestamp":"2025-01-01T00:00:01Z","type":"response_item","payload":{"type":"function_call","name":"shell","arguments":"{}","call_id":"c1"}}`,
		`{"timestamp":"2025-01-01T00:00:02Z","type":"response_item","payload":{"type":"function_call_output","call_id":"c1","output":"ok"}}`,
		`{"timestamp":"2025-01-01T00:00:03Z","type":"response_item","payload":{"type":"message","role":"assistant","content":[{"type":"output_text","text":"done"}]}}`,
	} {
		e, err := parseCodexLine([]byte(l))
		if err != nil {
			t.Fatal(err)
		}
		s.apply(e)
	}
	s.finish()
	if len(s.calls) != 2 || len(s.calls[0].input) != 1 || len(s.calls[1].input) != 3 || s.calls[0].usage != nil {
		t.Fatalf("calls %+v", s.calls)
	}
	if s.calls[1].thinkNS != 1e9 {
		t.Errorf("think %d, want 1 s", s.calls[1].thinkNS)
	}
}
