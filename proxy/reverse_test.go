package proxy

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentperf/agentperf/proxy/internal/fakellm"
	"github.com/agentperf/agentperf/schemas"
)

func post(t testing.TB, url string, hdr map[string]string, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// TestReverseGoClient drives two Anthropic sessions (told apart by the
// Claude Code header) and one header-less chat session through reverse
// mode and checks bytes, sessions, turns, usage and think time.
func TestReverseGoClient(t *testing.T) {
	fake, _ := startFake(t, 6, 0)
	out := filepath.Join(t.TempDir(), "traces")
	run := startRun(t, Config{Front: FrontOptions{Upstream: mustURL(fake.URL)}, Recorder: Options{Out: out}})

	const secret = "sk-ant-SECRET-should-never-be-written"
	msgs := []string{`{"role":"user","content":"list files"}`}
	think := 30 * time.Millisecond
	for turn := 0; turn < 3; turn++ {
		for _, sid := range []string{"sess-A", "sess-B"} {
			body := `{"model":"claude-x","max_tokens":64,"stream":true,"system":"You are ` + sid + `","messages":[` + strings.Join(msgs, ",") + `]}`
			hdr := map[string]string{"X-Claude-Code-Session-Id": sid, "x-api-key": secret, "anthropic-version": "2023-06-01", "User-Agent": "claude-cli/2.1.0 (external, cli)"}
			_, direct := post(t, fake.URL+"/v1/messages", hdr, body)
			status, got := post(t, run.url+"/v1/messages", hdr, body)
			if status != 200 || !bytes.Equal(got, direct) {
				t.Fatalf("turn %d %s: status %d, proxied bytes differ from direct:\n%s\n---\n%s", turn, sid, status, got, direct)
			}
		}
		// The client's next turn: the assistant reply and a tool result.
		msgs = append(msgs, `{"role":"assistant","content":[{"type":"tool_use","id":"t`+string(rune('0'+turn))+`","name":"bash","input":{}}]}`,
			`{"role":"user","content":[{"type":"tool_result","tool_use_id":"t`+string(rune('0'+turn))+`","content":"ok"}]}`)
		time.Sleep(think)
	}
	// A header-less chat conversation: grouped by prefix chain.
	chat := []string{`{"role":"system","content":"sys"}`, `{"role":"user","content":"hi"}`}
	for turn := 0; turn < 2; turn++ {
		body := `{"model":"gpt-x","stream":true,"stream_options":{"include_usage":true},"messages":[` + strings.Join(chat, ",") + `]}`
		if status, _ := post(t, run.url+"/v1/chat/completions", map[string]string{"Authorization": "Bearer " + secret}, body); status != 200 {
			t.Fatalf("chat status %d", status)
		}
		chat = append(chat, `{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"bash","arguments":"{}"}}]}`,
			`{"role":"tool","tool_call_id":"c1","content":"ok"}`)
	}
	run.stop(t)

	tr := readTrace(t, out)
	if len(tr.sessions) != 3 {
		t.Fatalf("sessions %v, want sess-A, sess-B and one chat session", tr.order)
	}
	for _, sid := range []string{"sess-A", "sess-B"} {
		s, ok := tr.sessions[sid]
		if !ok {
			t.Fatalf("no session %s in %v", sid, tr.order)
		}
		if s.Agent != "claude-code" || s.Source != schemas.SourceProxy || s.Turns != 3 {
			t.Errorf("session %s: agent %q source %q turns %d", sid, s.Agent, s.Source, s.Turns)
		}
		for i, r := range tr.requests[sid] {
			n := 1 + 2*i
			u := fakellm.UsageFor(n, 0)
			if r.Turn != int32(i) || r.API != schemas.APIAnthropic || !r.Stream || r.Model != "claude-x" || r.Status != 200 || r.Error != "" {
				t.Errorf("%s turn %d: %+v", sid, i, r)
			}
			if r.UsageInput == nil || *r.UsageInput != u.Input || r.UsageCached == nil || *r.UsageCached != u.Cached ||
				r.UsageCacheWrite == nil || *r.UsageCacheWrite != u.CacheWrite {
				t.Errorf("%s turn %d: usage input %v cached %v write %v, want %d %d %d", sid, i, ptr(r.UsageInput), ptr(r.UsageCached), ptr(r.UsageCacheWrite), u.Input, u.Cached, u.CacheWrite)
			}
			wantOut := int32(6) // a tool result is answered with text
			if i == 0 {
				wantOut = fakellm.ToolOutputTokens // a user message with a tool call
			}
			if r.OutputTokens != wantOut {
				t.Errorf("%s turn %d: output tokens %d, want %d", sid, i, r.OutputTokens, wantOut)
			}
			if !(r.StartNS < r.FirstByteNS && r.FirstByteNS <= r.FirstTokenNS && r.FirstTokenNS <= r.EndNS) {
				t.Errorf("%s turn %d: times start %d first byte %d first token %d end %d out of order", sid, i, r.StartNS, r.FirstByteNS, r.FirstTokenNS, r.EndNS)
			}
			if len(r.ChunkNS) == 0 || len(r.Response) != 1 || len(r.Prompt) != 1+n {
				t.Errorf("%s turn %d: %d chunks, %d response blobs, %d prompt blobs (want system + %d messages)", sid, i, len(r.ChunkNS), len(r.Response), len(r.Prompt), n)
			}
			if i == 0 && r.ThinkNS != 0 {
				t.Errorf("%s turn 0: think %d, want 0", sid, r.ThinkNS)
			}
			if i > 0 {
				prev := tr.requests[sid][i-1]
				if r.ThinkNS != r.StartNS-prev.EndNS || r.ThinkNS < int64(think) {
					t.Errorf("%s turn %d: think %v, want start−previous end = %v ≥ %v", sid, i, time.Duration(r.ThinkNS), time.Duration(r.StartNS-prev.EndNS), think)
				}
			}
		}
	}
	var chatID string
	for _, id := range tr.order {
		if strings.HasPrefix(id, "px-") {
			chatID = id
		}
	}
	if rs := tr.requests[chatID]; len(rs) != 2 || rs[0].API != schemas.APIOpenAIChat || *rs[1].UsageReasoning != 3 {
		t.Errorf("chat session %q: %d turns", chatID, len(rs))
	}
	// The rebuilt body equals the one sent (canonically).
	r0 := tr.requests["sess-A"][0]
	body, err := tr.set.Body(nil, &r0)
	if err != nil {
		t.Fatal(err)
	}
	var got, want any
	json.Unmarshal(body, &got)
	json.Unmarshal([]byte(`{"model":"claude-x","max_tokens":64,"stream":true,"system":"You are sess-A","messages":[{"role":"user","content":"list files"}]}`), &want)
	if !jsonEqual(got, want) {
		t.Errorf("rebuilt body %s", body)
	}
	assertNoSecret(t, filepath.Dir(out), secret)
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func ptr(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestClaudeCodeShape sends Claude Code-shaped traffic (POST
// /v1/messages?beta=true, system blocks with cache_control, the header
// session id, a Task sub-agent with its own system prompt) and checks the
// sessions and the parent link in the trace set.
func TestClaudeCodeShape(t *testing.T) {
	fake, _ := startFake(t, 3, 0)
	out := filepath.Join(t.TempDir(), "traces")
	run := startRun(t, Config{Front: FrontOptions{Upstream: mustURL(fake.URL)}, Recorder: Options{Out: out}})
	hdr := map[string]string{"X-Claude-Code-Session-Id": "0d6c1f0e-cc", "anthropic-version": "2023-06-01",
		"anthropic-beta": "claude-code-20250219", "User-Agent": "claude-cli/2.1.3 (external, cli)", "x-app": "cli"}
	body := func(sys, msgs string) string {
		return `{"model":"claude-sonnet-4-5","max_tokens":64000,"stream":true,"thinking":{"type":"enabled","budget_tokens":31999},` +
			`"metadata":{"user_id":"{\"device_id\":\"d\",\"account_uuid\":\"a\",\"session_id\":\"0d6c1f0e-cc\"}"},` +
			`"system":[{"type":"text","text":"x-anthropic-billing-header: cc"},{"type":"text","text":"` + sys + `","cache_control":{"type":"ephemeral"}}],` +
			`"tools":[{"name":"Task","description":"Launch a sub-agent","input_schema":{"type":"object","properties":{"prompt":{"type":"string"}}}}],"messages":[` + msgs + `]}`
	}
	main1 := `{"role":"user","content":[{"type":"text","text":"fix the bug"}]}`
	sub1 := `{"role":"user","content":[{"type":"text","text":"search the repo for the bug"}]}`
	for _, b := range []string{
		body("You are Claude Code.", main1),
		body("You are a search sub-agent.", sub1),
		body("You are a search sub-agent.", sub1+`,{"role":"assistant","content":[{"type":"text","text":"found"}]},{"role":"user","content":[{"type":"text","text":"more"}]}`),
		body("You are Claude Code.", main1+`,{"role":"assistant","content":[{"type":"text","text":"ok"}]},{"role":"user","content":[{"type":"text","text":"thanks"}]}`),
	} {
		if st, resp := post(t, run.url+"/v1/messages?beta=true", hdr, b); st != 200 {
			t.Fatalf("status %d: %s", st, resp)
		}
	}
	run.stop(t)
	tr := readTrace(t, out)
	main, sub := tr.sessions["0d6c1f0e-cc"], tr.sessions["0d6c1f0e-cc/1"]
	if len(tr.sessions) != 2 || main.Turns != 2 || sub.Turns != 2 || sub.Parent != "0d6c1f0e-cc" || main.Parent != "" ||
		main.Agent != "claude-code" || sub.Agent != "claude-code" {
		t.Errorf("sessions %v: main %+v sub %+v", tr.order, main, sub)
	}
	for _, r := range tr.requests["0d6c1f0e-cc/1"] {
		if r.Model != "claude-sonnet-4-5" || !r.Stream || r.Error != "" || r.UsageInput == nil {
			t.Errorf("sub-agent turn %+v", r)
		}
	}
}
