package convert

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentperf/agentperf/schemas"
)

const ccSession = "7f3c2a91-5d0e-4b8a-9c61-2e4f8d0b7a13"

// ccRequest is an imported request with its decoded body and response.
type ccRequest struct {
	schemas.Request
	Body     map[string]any
	Messages []map[string]any
	Response map[string]any
}

func readDecoded(t *testing.T, dir string) []ccRequest {
	t.Helper()
	ts, err := schemas.OpenTraceSet(dir, schemas.TraceSetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	var out []ccRequest
	err = ts.Requests(func(r *schemas.Request) error {
		body, err := ts.Body(nil, r)
		if err != nil {
			return err
		}
		c := ccRequest{Request: *r}
		c.Prompt, c.Response, c.HashIDs = nil, nil, nil
		if err := json.Unmarshal(body, &c.Body); err != nil {
			t.Fatalf("body of %s/%d: %v", r.SessionID, r.Turn, err)
		}
		msgs, _ := c.Body[listKey(r.API)].([]any)
		for _, m := range msgs {
			c.Messages = append(c.Messages, m.(map[string]any))
		}
		for _, id := range r.Response {
			b, err := ts.Blob(id)
			if err != nil {
				return err
			}
			json.Unmarshal([]byte(b.Body), &c.Response)
		}
		out = append(out, c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func listKey(api string) string {
	if api == schemas.APIOpenAIResponses {
		return "input"
	}
	return "messages"
}

func ms(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UnixNano()
}

// blockTypes lists the content block types of an Anthropic message.
func blockTypes(m map[string]any) string {
	c, ok := m["content"].([]any)
	if !ok {
		return "string"
	}
	var ts []string
	for _, b := range c {
		ts = append(ts, b.(map[string]any)["type"].(string))
	}
	return strings.Join(ts, ",")
}

func TestImportClaudeCodeFixture(t *testing.T) {
	out := filepath.Join(t.TempDir(), "set")
	st, err := Import(context.Background(), "testdata/claude-code/projects", out, ImportOptions{Format: FormatClaudeCode})
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != 2 || st.Sessions != 2 || st.Requests != 6 || st.Skipped != 0 {
		t.Errorf("stats %+v, want 2 files, 2 sessions, 6 requests", st)
	}
	sessions := readSessions(t, out)
	sub := ccSession + "/agent-a4c9e21"
	wantParent := map[string]string{ccSession: "", sub: ccSession}
	for _, s := range sessions {
		p, ok := wantParent[s.ID]
		if !ok || s.Parent != p || s.Agent != AgentClaudeCode || s.API != schemas.APIAnthropic {
			t.Errorf("session %+v", s)
		}
		// The sub-agent's first prompt is the main session's Task prompt:
		// it is linked to the turn that called Task (turn 1), and starts
		// 0.3 s after that turn's end (the transcript's timestamps).
		if s.ID == sub && (s.ParentTurn == nil || *s.ParentTurn != 1 || s.ParentOffsetNS != 3e8) {
			t.Errorf("sub-agent link: parent turn %v, offset %d; want turn 1, 0.3 s", deref(s.ParentTurn), s.ParentOffsetNS)
		}
	}
	reqs := readDecoded(t, out)
	type want struct {
		session   string
		roles     string // roles of the prompt messages
		lastTypes string // block types of the last prompt message
		respTypes string
		usageIn   int64
		cached    int64
		out       int32
		start     string
		end       string
		thinkMS   int64
		model     string
	}
	sonnet, haiku := "claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001"
	wants := []want{
		{ccSession, "user", "string", "thinking,text,tool_use", 3 + 14210 + 1822, 14210, 87, "2025-11-03T09:14:02.120Z", "2025-11-03T09:14:06.300Z", 0, sonnet},
		{ccSession, "user,assistant,user", "tool_result", "text,tool_use", 6 + 16032 + 310, 16032, 141, "2025-11-03T09:14:09.810Z", "2025-11-03T09:14:12.700Z", 3510, sonnet},
		{ccSession, "user,assistant,user,assistant,user", "tool_result", "text", 4 + 16400 + 120, 16400, 35, "2025-11-03T09:14:31.500Z", "2025-11-03T09:14:40.250Z", 18800, sonnet},
		{ccSession, "user,assistant,user,assistant,user,assistant,user", "string", "text", 5 + 16520 + 48, 16520, 22, "2025-11-03T09:15:20.250Z", "2025-11-03T09:15:24.000Z", 40000, sonnet},
		{sub, "user", "string", "tool_use", 8 + 5120, 0, 64, "2025-11-03T09:14:13.000Z", "2025-11-03T09:14:15.100Z", 0, haiku},
		{sub, "user,assistant,user", "tool_result", "text", 6 + 5120 + 160, 5120, 41, "2025-11-03T09:14:15.600Z", "2025-11-03T09:14:30.900Z", 500, haiku},
	}
	if len(reqs) != len(wants) {
		t.Fatalf("%d requests, want %d", len(reqs), len(wants))
	}
	for i, r := range reqs {
		w := wants[i]
		var roles []string
		for _, m := range r.Messages {
			roles = append(roles, m["role"].(string))
		}
		got := []any{r.SessionID, strings.Join(roles, ","), blockTypes(r.Messages[len(r.Messages)-1]), blockTypes(r.Response),
			*r.UsageInput, *r.UsageCached, r.OutputTokens, r.StartNS, r.EndNS, r.ThinkNS / 1e6, r.Model, r.API}
		exp := []any{w.session, w.roles, w.lastTypes, w.respTypes, w.usageIn, w.cached, w.out, ms(w.start), ms(w.end), w.thinkMS, w.model, schemas.APIAnthropic}
		for j := range got {
			if got[j] != exp[j] {
				t.Errorf("request %d field %d: got %v, want %v", i, j, got[j], exp[j])
			}
		}
		if r.Body["max_tokens"] != float64(ClaudeCodeMaxTokens) || r.Body["stream"] != true {
			t.Errorf("request %d params: %v", i, r.Body)
		}
	}
	// The assistant message in later prompts is the whole merged message,
	// with the verbatim-repeated streaming line counted once.
	if a := reqs[1].Messages[1]; blockTypes(a) != "thinking,text,tool_use" {
		t.Errorf("history assistant message has blocks %s", blockTypes(a))
	}
	// The API error message is not in any prompt.
	for _, r := range reqs {
		for _, m := range r.Messages {
			if strings.Contains(mustJSON(m), "529 Overloaded") {
				t.Errorf("%s/%d: synthetic error message in the prompt", r.SessionID, r.Turn)
			}
		}
	}
}

func mustJSON(v any) string { return string(mustMarshal(v)) }

// TestImportClaudeCodeSingleFile imports one sub-agent file alone: its
// session keeps the parent link from the lines.
func TestImportClaudeCodeSingleFile(t *testing.T) {
	in := "testdata/claude-code/projects/-home-dev-shop/" + ccSession + "/subagents/agent-a4c9e21.jsonl"
	out := filepath.Join(t.TempDir(), "set")
	st, err := Import(context.Background(), in, out, ImportOptions{Format: FormatClaudeCode})
	if err != nil {
		t.Fatal(err)
	}
	if st.Requests != 2 || st.Sessions != 1 {
		t.Errorf("stats %+v", st)
	}
	s := readSessions(t, out)
	if len(s) != 1 || s[0].ID != ccSession+"/agent-a4c9e21" || s[0].Parent != ccSession {
		t.Errorf("sessions %+v", s)
	}
}

func TestParseClaudeLine(t *testing.T) {
	tests := []struct {
		line    string
		wantErr string
	}{
		{`{"type":"summary","summary":"x","leafUuid":"u"}`, ""},
		{`{"type":"user","uuid":"u1","message":{"role":"user","content":"hi"}}`, ""},
		{`{"type":"assistant","uuid":"u2","message":{"id":"m","role":"assistant","content":[{"type":"text","text":"a"}]}}`, ""},
		{`{"type":"user","message":{"role":"user","content":"hi"}}`, "user line without a uuid"},
		{`{"type":"assistant","uuid":"u2"}`, "assistant line without a message"},
		{`{"type":"user","uuid":"u1","message":{"role":"user","content":5}}`, "neither a string nor a list"},
		{`{"type":"user","uuid":"u1","message":{"role":"user"}}`, "user message without content"},
		{`{"input_length":5}`, "not a Claude Code transcript line"},
		{`{"timestamp":0,"input_length":5}`, "timestamp: expected string, got JSON number"},
		{`{"type":"user","uuid":"u1","message":{"content":"hi"`, "invalid JSON: unexpected end of JSON input"},
	}
	for _, tt := range tests {
		_, err := parseClaudeLine([]byte(tt.line))
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("parse(%s): %v", tt.line, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("parse(%s) = %v, want error containing %q", tt.line, err, tt.wantErr)
		}
	}
}

// TestClaudeCodeCompaction checks that a compaction boundary (a root line)
// ends the history: the call after it sees only the summary.
func TestClaudeCodeCompaction(t *testing.T) {
	lines := []string{
		`{"type":"user","uuid":"u1","parentUuid":null,"sessionId":"s","timestamp":"2025-01-01T00:00:00Z","message":{"role":"user","content":"long task"}}`,
		`{"type":"assistant","uuid":"a1","parentUuid":"u1","sessionId":"s","timestamp":"2025-01-01T00:00:05Z","requestId":"r1","message":{"id":"m1","role":"assistant","model":"x","content":[{"type":"text","text":"working"}],"usage":{"input_tokens":100,"output_tokens":9}}}`,
		`{"type":"system","subtype":"compact_boundary","uuid":"b1","parentUuid":null,"logicalParentUuid":"a1","sessionId":"s","timestamp":"2025-01-01T00:01:00Z","content":"Conversation compacted"}`,
		`{"type":"user","uuid":"u2","parentUuid":"b1","isCompactSummary":true,"sessionId":"s","timestamp":"2025-01-01T00:01:01Z","message":{"role":"user","content":"Summary of the earlier conversation: long task, working."}}`,
		`{"type":"assistant","uuid":"a2","parentUuid":"u2","sessionId":"s","timestamp":"2025-01-01T00:01:04Z","requestId":"r2","message":{"id":"m2","role":"assistant","model":"x","content":[{"type":"text","text":"continuing"}],"usage":{"input_tokens":40,"output_tokens":3}}}`,
	}
	f := newCCFile("s.jsonl")
	for _, l := range lines {
		p, err := parseClaudeLine([]byte(l))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.add(p); err != nil {
			t.Fatal(err)
		}
	}
	calls, err := f.calls(map[[2]string]bool{})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 || len(calls[0].messages) != 1 || len(calls[1].messages) != 1 ||
		!strings.Contains(string(calls[1].messages[0]), "Summary of the earlier") {
		t.Fatalf("calls: %d, prompts %d and %d messages", len(calls), len(calls[0].messages), len(calls[len(calls)-1].messages))
	}
	if calls[1].startNS != ms("2025-01-01T00:01:01Z") {
		t.Errorf("start %d", calls[1].startNS)
	}
}

func deref(p *int32) any {
	if p == nil {
		return nil
	}
	return *p
}
