package proxy

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentperf/agentperf/schemas"
)

// claudeCodeRequest fills the Claude Code request template (what Claude
// Code 2.1 sends to api.anthropic.com: the billing block first in system,
// Task/Bash/Read tools, thinking, metadata.user_id with the session).
func claudeCodeRequest(t *testing.T, session, cch string, msgs ...string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/claude_code_request.json.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	r := strings.NewReplacer("SESSION", session, "CCH", cch, "MESSAGES", "["+strings.Join(msgs, ",")+"]")
	return r.Replace(string(b))
}

// postStream sends an Anthropic call through fe and reads the whole
// response.
func postStream(t *testing.T, fe *frontEnd, hdr map[string]string, body string) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, strings.Replace(fe.base, "api.openai.com", "api.anthropic.com", 1)+"/v1/messages?beta=true", strings.NewReader(body))
	req.Header.Set("Anthropic-Version", "2023-06-01")
	req.Header.Set("User-Agent", "claude-cli/2.1.120 (external, cli)")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := fe.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	return b
}

// TestClaudeCodeBillingHeader sends two calls of one Claude Code session
// whose billing block differs per call (cch), as Claude Code does against
// api.anthropic.com, through both modes (MITM with real TLS): one session,
// two turns, think time > 0; the block is kept (the body rebuilds as sent)
// but as its own request_meta blob, outside input_tokens and hash_ids, so
// the two prompts share their system blob and every block of the prefix.
func TestClaudeCodeBillingHeader(t *testing.T) {
	fake, _ := startFake(t, 5, 0)
	eachMode(t, fake.URL, FrontOptions{}, func(t *testing.T, fe *frontEnd) {
		const sid = "8c1f0e2a-1111-2222-3333-444455556666"
		hdr := map[string]string{"X-Claude-Code-Session-Id": sid, "x-app": "cli"}
		u1 := `{"role":"user","content":[{"type":"text","text":"Why does TestCheckout fail?"}]}`
		b1 := claudeCodeRequest(t, sid, "543cf", u1)
		postStream(t, fe, hdr, b1)
		time.Sleep(40 * time.Millisecond) // the tool runs
		b2 := claudeCodeRequest(t, sid, "a09e1", u1,
			`{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"Bash","input":{"command":"go test ./checkout/"}}]}`,
			`{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"FAIL: TestCheckout"}]}`)
		postStream(t, fe, hdr, b2)
		fe.run.stop(t)

		tr := readTrace(t, fe.out)
		rs := tr.requests[sid]
		if len(tr.sessions) != 1 || len(rs) != 2 {
			t.Fatalf("sessions %v; want one session %s with 2 turns", tr.order, sid)
		}
		if rs[1].ThinkNS < int64(40*time.Millisecond) || rs[1].Error != "" {
			t.Errorf("turn 1: think %v error %q, want ≥ 40ms", time.Duration(rs[1].ThinkNS), rs[1].Error)
		}
		kinds := func(r schemas.Request) []string {
			var k []string
			for _, id := range r.Prompt {
				b, err := tr.set.Blob(id)
				if err != nil {
					t.Fatal(err)
				}
				k = append(k, b.Kind)
			}
			return k
		}
		if k := kinds(rs[0]); len(k) < 3 || k[0] != schemas.KindRequestMeta || k[1] != schemas.KindSystem {
			t.Errorf("turn 0 prompt kinds %v, want request_meta, system, tools, …", k)
		}
		if rs[0].Prompt[0] == rs[1].Prompt[0] || !slices.Equal(rs[0].Prompt[1:], rs[1].Prompt[1:len(rs[0].Prompt)]) {
			t.Errorf("prompts %v / %v: want different meta blobs and a shared rest", rs[0].Prompt, rs[1].Prompt)
		}
		if n := len(rs[0].HashIDs); n < 2 || !slices.Equal(rs[0].HashIDs[:n-1], rs[1].HashIDs[:n-1]) {
			t.Errorf("hash_ids %v / %v: the full blocks of turn 0 must recur in turn 1", rs[0].HashIDs, rs[1].HashIDs)
		}
		for i, want := range []string{b1, b2} {
			got, err := tr.set.Body(nil, &rs[i])
			if err != nil {
				t.Fatal(err)
			}
			cg, _ := schemas.Canonical(got)
			cw, _ := schemas.Canonical([]byte(want))
			if string(cg) != string(cw) {
				t.Errorf("turn %d: rebuilt body differs from the one sent", i)
			}
		}
	})
}

// anthropicSSE streams one assistant message with the given content
// blocks (text or tool_use JSON).
func anthropicSSE(w http.ResponseWriter, id string, blocks ...string) {
	w.Header().Set("Content-Type", "text/event-stream")
	fmt.Fprintf(w, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":%q,\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"usage\":{\"input_tokens\":50,\"output_tokens\":1}}}\n\n", id)
	for i, b := range blocks {
		fmt.Fprintf(w, "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":%d,\"content_block\":%s}\n\n", i, b)
		fmt.Fprintf(w, "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":%d}\n\n", i)
	}
	io.WriteString(w, "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":12}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
}

// TestSubAgentLinkWithoutSessionID plays a header-less Claude Code-like
// agent (no session header, no metadata.user_id) whose second call answers
// with two parallel Task tool calls; each sub-agent's first call carries
// its task's prompt. The sub-agents are linked to the parent session, the
// spawning turn and their start offset after it, in both modes.
func TestSubAgentLinkWithoutSessionID(t *testing.T) {
	prompts := []string{"Find where the cart total is computed and report the file.", "Run the checkout tests and summarise the failures."}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var req struct {
			Messages []json.RawMessage `json:"messages"`
		}
		json.Unmarshal(b, &req)
		last := string(req.Messages[len(req.Messages)-1])
		if strings.Contains(last, "delegate") {
			var blocks []string
			for i, p := range prompts {
				in, _ := json.Marshal(map[string]string{"description": "sub", "prompt": p, "subagent_type": "general-purpose"})
				blocks = append(blocks, fmt.Sprintf(`{"type":"tool_use","id":"toolu_%d","name":"Task","input":%s}`, i, in))
			}
			anthropicSSE(w, "msg_spawn", blocks...)
			return
		}
		anthropicSSE(w, fmt.Sprintf("msg_%d", len(b)), `{"type":"text","text":"done"}`)
	}))
	defer up.Close()
	eachMode(t, up.URL, FrontOptions{}, func(t *testing.T, fe *frontEnd) {
		main := func(msgs ...string) string {
			return `{"model":"claude-x","max_tokens":1000,"stream":true,"system":[{"type":"text","text":"You are the main agent."}],"messages":[` + strings.Join(msgs, ",") + `]}`
		}
		u1 := `{"role":"user","content":"fix checkout"}`
		a1 := `{"role":"assistant","content":[{"type":"text","text":"done"}]}`
		u2 := `{"role":"user","content":"delegate the investigation"}`
		postStream(t, fe, nil, main(u1))
		postStream(t, fe, nil, main(u1, a1, u2))
		time.Sleep(20 * time.Millisecond)
		for _, p := range prompts {
			pj, _ := json.Marshal(p)
			postStream(t, fe, nil, `{"model":"claude-x","max_tokens":1000,"stream":true,"system":[{"type":"text","text":"You are a sub-agent."}],"messages":[{"role":"user","content":[{"type":"text","text":`+string(pj)+`}]}]}`)
		}
		fe.run.stop(t)

		tr := readTrace(t, fe.out)
		if len(tr.sessions) != 3 {
			t.Fatalf("sessions %v, want the main agent and two sub-agents", tr.order)
		}
		var mainID string
		for id, rs := range tr.requests {
			if len(rs) == 2 {
				mainID = id
			}
		}
		spawnEnd := tr.requests[mainID][1].EndNS
		subs := 0
		for id, s := range tr.sessions {
			if id == mainID {
				if s.Parent != "" || s.ParentTurn != nil {
					t.Errorf("main session %+v has a parent", s)
				}
				continue
			}
			subs++
			start := tr.requests[id][0].StartNS
			if s.Parent != mainID || s.ParentTurn == nil || *s.ParentTurn != 1 || s.ParentOffsetNS != start-spawnEnd || s.ParentOffsetNS < int64(20*time.Millisecond) {
				t.Errorf("sub-agent %s: parent %q turn %v offset %v; want %s, turn 1, %v", id, s.Parent, s.ParentTurn, time.Duration(s.ParentOffsetNS), mainID, time.Duration(start-spawnEnd))
			}
		}
		if subs != 2 {
			t.Errorf("%d sub-agents", subs)
		}
	})
}
