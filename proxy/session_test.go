package proxy

import (
	"net/http"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/schemas"
)

func TestSessionFromUserID(t *testing.T) {
	tests := []struct{ in, want string }{
		{"user_4f1a_account_0d1e2f3a-aaaa-bbbb-cccc-123456789abc_session_9b8c7d6e-1111-2222-3333-444455556666", "9b8c7d6e-1111-2222-3333-444455556666"},
		{`{"device_id":"d1","account_uuid":"a1","session_id":"s-42"}`, "s-42"},
		{`{"device_id":"d1"}`, ""},
		{"plain-user", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := sessionFromUserID(tt.in); got != tt.want {
			t.Errorf("sessionFromUserID(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAgentOf(t *testing.T) {
	tests := []struct{ ua, orig, want string }{
		{"claude-cli/2.1.3 (external, cli)", "", "claude-code"},
		{"codex_cli_rs/0.17.0 (Linux)", "codex_cli_rs", "codex"},
		{"", "codex_exec", "codex"},
		{"opencode/0.5 ai-sdk/anthropic", "", "opencode"},
		{"Anthropic/JS 1.10.0", "", "sdk"},
		{"OpenAI/Python 1.99.0", "", "sdk"},
		{"curl/8.5.0", "", "curl"},
		{"", "", "unknown"},
	}
	for _, tt := range tests {
		if got := agentOf(tt.ua, tt.orig); got != tt.want {
			t.Errorf("agentOf(%q, %q) = %q, want %q", tt.ua, tt.orig, got, tt.want)
		}
	}
}

// call is one request for the grouping test.
type call struct {
	header, helicone string
	api, body        string
	respID           string
	wantSession      string // "" = a fresh px- session; "=N" = same as call N
	wantParent       string
}

func TestSessionRules(t *testing.T) {
	anth := func(sys string, msgs ...string) string {
		return `{"model":"m","system":"` + sys + `","messages":[` + strings.Join(msgs, ",") + `]}`
	}
	u1 := `{"role":"user","content":"one"}`
	a1 := `{"role":"assistant","content":"r1"}`
	u2 := `{"role":"user","content":"two"}`
	task := `{"role":"user","content":"sub-task A"}`
	task2 := `{"role":"user","content":"sub-task B"}`
	calls := []call{
		// 0-1: Claude Code session by header; turn 2 extends turn 1.
		{header: "cc-1", api: schemas.APIAnthropic, body: anth("main", u1), wantSession: "cc-1"},
		{header: "cc-1", api: schemas.APIAnthropic, body: anth("main", u1, a1, u2), wantSession: "cc-1"},
		// 2-4: a Task sub-agent (other system prompt) and a second one with
		// the same prompt but another task; the first continues.
		{header: "cc-1", api: schemas.APIAnthropic, body: anth("sub", task), wantSession: "cc-1/1", wantParent: "cc-1"},
		{header: "cc-1", api: schemas.APIAnthropic, body: anth("sub", task2), wantSession: "cc-1/2", wantParent: "cc-1"},
		{header: "cc-1", api: schemas.APIAnthropic, body: anth("sub", task, a1, u2), wantSession: "cc-1/1", wantParent: "cc-1"},
		// 5: the main agent after compaction (history rewritten): same
		// system prompt, no chain → back to the main session.
		{header: "cc-1", api: schemas.APIAnthropic, body: anth("main", `{"role":"user","content":"summary"}`), wantSession: "cc-1"},
		// 6: metadata.user_id (old form) names the session.
		{api: schemas.APIAnthropic, body: `{"model":"m","metadata":{"user_id":"user_ab_account_x_session_uid-7"},"messages":[` + u1 + `]}`, wantSession: "uid-7"},
		// 7-8: no id: prefix chain.
		{api: schemas.APIOpenAIChat, body: `{"model":"m","messages":[{"role":"system","content":"s"},` + u1 + `]}`, wantSession: ""},
		{api: schemas.APIOpenAIChat, body: `{"model":"m","messages":[{"role":"system","content":"s"},` + u1 + `,` + a1 + `,` + u2 + `]}`, wantSession: "=7"},
		// 9: same first message, other system prompt: a new session.
		{api: schemas.APIOpenAIChat, body: `{"model":"m","messages":[{"role":"system","content":"t"},` + u1 + `]}`, wantSession: ""},
		// 10-11: Responses with previous_response_id.
		{api: schemas.APIOpenAIResponses, body: `{"model":"m","input":"hello"}`, respID: "resp_1", wantSession: ""},
		{api: schemas.APIOpenAIResponses, body: `{"model":"m","previous_response_id":"resp_1","input":[{"role":"user","content":"more"}]}`, wantSession: "=10"},
		// 12: Codex: session header; 13: prompt_cache_key only.
		{header: "codex-s", api: schemas.APIOpenAIResponses, body: `{"model":"m","instructions":"i","prompt_cache_key":"codex-s","input":[` + u1 + `]}`, wantSession: "codex-s"},
		{api: schemas.APIOpenAIResponses, body: `{"model":"m","instructions":"i","prompt_cache_key":"pck-9","input":[` + u1 + `]}`, wantSession: "pck-9"},
		// 14: Helicone.
		{helicone: "h-1", api: schemas.APIOpenAIChat, body: `{"model":"m","messages":[` + u1 + `]}`, wantSession: "h-1"},
	}
	s := newSessions()
	got := make([]string, len(calls))
	for i, c := range calls {
		params, parts, _ := schemas.Split(c.api, []byte(c.body))
		x := &exchange{callInfo: callInfo{sessionHeader: c.header, heliconeHeader: c.helicone}}
		k := keysOf(x, c.api, params, parts)
		th, _ := s.assign(k, "a", int64(1000*i))
		s.finish(th, k, int64(1000*i), int64(1000*i+500), c.respID)
		got[i] = th.id
		want := c.wantSession
		switch {
		case want == "":
			if !strings.HasPrefix(th.id, "px-") {
				t.Errorf("call %d: session %q, want a new px- session", i, th.id)
			}
			for j := 0; j < i; j++ {
				if got[j] == th.id {
					t.Errorf("call %d: reused session %q of call %d", i, th.id, j)
				}
			}
		case strings.HasPrefix(want, "="):
			var j int
			for _, ch := range want[1:] {
				j = j*10 + int(ch-'0')
			}
			if th.id != got[j] {
				t.Errorf("call %d: session %q, want call %d's %q", i, th.id, j, got[j])
			}
		default:
			if th.id != want {
				t.Errorf("call %d: session %q, want %q", i, th.id, want)
			}
		}
		if th.parent != c.wantParent {
			t.Errorf("call %d: parent %q, want %q", i, th.parent, c.wantParent)
		}
	}
}

func TestThinkTime(t *testing.T) {
	s := newSessions()
	k := callKeys{group: "g"}
	th, _ := s.assign(k, "a", 100)
	if d := s.finish(th, k, 100, 200, ""); d != 0 {
		t.Errorf("first turn think %d, want 0", d)
	}
	th, _ = s.assign(k, "a", 1200)
	if d := s.finish(th, k, 1200, 1300, ""); d != 1000 {
		t.Errorf("second turn think %d, want 1000", d)
	}
	// Overlapping calls never give negative think time.
	th, _ = s.assign(k, "a", 1250)
	if d := s.finish(th, k, 1250, 1400, ""); d != 0 {
		t.Errorf("overlapping turn think %d, want 0", d)
	}
}

func TestSessionHeaders(t *testing.T) {
	tests := []struct {
		h    http.Header
		want string
	}{
		{http.Header{"X-Claude-Code-Session-Id": {"cc"}}, "cc"},
		{http.Header{"Session-Id": {"codex-new"}}, "codex-new"},
		{http.Header{"Session_id": {"codex-old"}}, "codex-old"}, // Go canonicalizes session_id so
		{http.Header{"session_id": {"codex-raw"}}, "codex-raw"}, // a map built by hand
		{http.Header{"X-Claude-Code-Session-Id": {"cc"}, "Session-Id": {"other"}}, "cc"},
		{http.Header{}, ""},
	}
	for _, tt := range tests {
		if got := firstHeader(tt.h, "X-Claude-Code-Session-Id", "Session-Id", "Session_id"); got != tt.want {
			t.Errorf("firstHeader(%v) = %q, want %q", tt.h, got, tt.want)
		}
	}
}
