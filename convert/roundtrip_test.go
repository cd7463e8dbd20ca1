package convert

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/tokens"
)

// agentSet describes a constructed trace set: sessions of growing agent
// conversations in one API, with think times and optionally send times.
type agentSet struct {
	api      string
	sessions int
	turns    int
	// timed gives requests start and end times (durations of 0.8 s).
	timed bool
}

func (a agentSet) thinkMS(s, k int) int64 {
	if k == 0 {
		return 0
	}
	return int64(250 + 700*k + 13*s)
}

func text(seed, n int) string { return strings.TrimSpace(tokens.Filler(uint64(seed), n)) }

// body returns the request body of turn k of session s.
func (a agentSet) body(s, k int) []byte {
	sys := text(1000, 300)
	first := text(2000+s, 400)
	var b map[string]any
	switch a.api {
	case schemas.APIOpenAIChat:
		msgs := []any{map[string]any{"role": "system", "content": sys}, map[string]any{"role": "user", "content": first}}
		for j := 0; j < k; j++ {
			id := fmt.Sprintf("call_%d_%d", s, j)
			msgs = append(msgs,
				map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{map[string]any{"id": id, "type": "function",
					"function": map[string]any{"name": "bash", "arguments": `{"command":"ls"}`}}}},
				map[string]any{"role": "tool", "tool_call_id": id, "content": text(3000+100*s+j, 150+20*j)})
		}
		b = map[string]any{"model": "m", "max_tokens": 1000, "stream": true, "messages": msgs,
			"tools": []any{map[string]any{"type": "function", "function": map[string]any{"name": "bash", "description": "run a command",
				"parameters": map[string]any{"type": "object", "properties": map[string]any{"command": map[string]any{"type": "string"}}}}}}}
	case schemas.APIAnthropic:
		msgs := []any{map[string]any{"role": "user", "content": first}}
		for j := 0; j < k; j++ {
			id := fmt.Sprintf("toolu_%d_%d", s, j)
			msgs = append(msgs,
				map[string]any{"role": "assistant", "content": []any{
					map[string]any{"type": "thinking", "thinking": "hmm", "signature": "sig"},
					map[string]any{"type": "text", "text": "Running it."},
					map[string]any{"type": "tool_use", "id": id, "name": "bash", "input": map[string]any{"command": "ls"}}}},
				map[string]any{"role": "user", "content": []any{
					map[string]any{"type": "tool_result", "tool_use_id": id, "content": text(3000+100*s+j, 150+20*j)}}})
		}
		b = map[string]any{"model": "claude", "max_tokens": 2000, "stream": true, "system": []any{map[string]any{"type": "text", "text": sys, "cache_control": map[string]any{"type": "ephemeral"}}},
			"messages": msgs, "tools": []any{map[string]any{"name": "bash", "description": "run a command",
				"input_schema": map[string]any{"type": "object", "properties": map[string]any{"command": map[string]any{"type": "string"}}}}}}
	case schemas.APIOpenAIResponses:
		items := []any{map[string]any{"type": "message", "role": "developer", "content": []any{map[string]any{"type": "input_text", "text": "be brief"}}},
			map[string]any{"type": "message", "role": "user", "content": []any{map[string]any{"type": "input_text", "text": first}}}}
		for j := 0; j < k; j++ {
			id := fmt.Sprintf("call_%d_%d", s, j)
			items = append(items,
				map[string]any{"type": "reasoning", "summary": []any{}, "encrypted_content": "xyz"},
				map[string]any{"type": "function_call", "name": "shell", "arguments": `{"command":["ls"]}`, "call_id": id},
				map[string]any{"type": "function_call_output", "call_id": id, "output": text(3000+100*s+j, 150+20*j)})
		}
		b = map[string]any{"model": "gpt", "instructions": sys, "input": items, "stream": true, "max_output_tokens": 3000,
			"tools": []any{map[string]any{"type": "function", "name": "shell", "parameters": map[string]any{"type": "object"}},
				map[string]any{"type": "web_search"}}}
	}
	return mustMarshal(b)
}

// write builds the set at dir.
func (a agentSet) write(t testing.TB, dir string) []schemas.Request {
	t.Helper()
	w, err := schemas.CreateTraceSet(dir, schemas.TraceWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const epoch = int64(1_750_000_000_000_000_000)
	// Interleave sessions turn by turn, as a recording of concurrent
	// agents would.
	clock := make([]int64, a.sessions)
	for s := range clock {
		clock[s] = epoch + int64(s)*3_000_000_000
	}
	for k := 0; k < a.turns; k++ {
		for s := 0; s < a.sessions; s++ {
			id := fmt.Sprintf("sess-%d", s)
			if k == 0 {
				w.SetSession(schemas.Session{ID: id, Source: schemas.SourceSynth, Agent: "test"})
			}
			think := a.thinkMS(s, k) * 1e6
			tn := schemas.Turn{SessionID: id, API: a.api, Body: a.body(s, k), ThinkNS: think,
				OutputTokens: 40 + 10*k + s, Usage: schemas.Usage{Input: schemas.Int64(int64(5000 + k)), Output: schemas.Int64(int64(40 + 10*k + s))}}
			if a.timed {
				clock[s] += think
				tn.StartNS, tn.EndNS = clock[s], clock[s]+800_000_000
				clock[s] = tn.EndNS
			}
			if _, err := w.WriteTurn(&tn); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return readRequests(t, dir)
}

// bySession groups requests by session in turn order.
func bySession(reqs []schemas.Request) map[string][]schemas.Request {
	m := map[string][]schemas.Request{}
	for _, r := range reqs {
		m[r.SessionID] = append(m[r.SessionID], r)
	}
	for _, rs := range m {
		for i := range rs {
			if int(rs[i].Turn) != i {
				panic("turns out of order")
			}
		}
	}
	return m
}

func roundTrip(t *testing.T, set, format string) []schemas.Request {
	t.Helper()
	dir := filepath.Dir(set)
	file := filepath.Join(dir, "export-"+format+".jsonl")
	if _, err := Export(context.Background(), set, file, nil, ExportOptions{Format: format}); err != nil {
		t.Fatal(err)
	}
	back := filepath.Join(dir, "back-"+format)
	if _, err := Import(context.Background(), file, back, ImportOptions{Format: format}); err != nil {
		t.Fatal(err)
	}
	return readRequests(t, back)
}

// TestAARoundTrip checks import(export(x)) for AA JSONL: sessions, turn
// order, output tokens, usage and think times are kept for every API; for
// an OpenAI chat set the prompts, hence input tokens, are kept exactly.
func TestAARoundTrip(t *testing.T) {
	for _, api := range []string{schemas.APIOpenAIChat, schemas.APIAnthropic, schemas.APIOpenAIResponses} {
		t.Run(api, func(t *testing.T) {
			a := agentSet{api: api, sessions: 3, turns: 4, timed: true}
			set := filepath.Join(t.TempDir(), "x")
			orig := bySession(a.write(t, set))
			back := bySession(roundTrip(t, set, FormatAAJSONL))
			if len(back) != len(orig) {
				t.Fatalf("%d sessions, want %d", len(back), len(orig))
			}
			for id, rs := range orig {
				bs := back[id]
				if len(bs) != len(rs) {
					t.Fatalf("session %s: %d turns, want %d", id, len(bs), len(rs))
				}
				for k := range rs {
					o, b := rs[k], bs[k]
					if b.OutputTokens != o.OutputTokens || b.ThinkNS != o.ThinkNS || *b.UsageInput != *o.UsageInput || *b.UsageOutput != *o.UsageOutput {
						t.Errorf("%s/%d: out %d think %d usage %d/%d, want %d %d %d/%d", id, k, b.OutputTokens, b.ThinkNS, *b.UsageInput, *b.UsageOutput,
							o.OutputTokens, o.ThinkNS, *o.UsageInput, *o.UsageOutput)
					}
					if api == schemas.APIOpenAIChat && b.InputTokens != o.InputTokens {
						t.Errorf("%s/%d: input tokens %d, want %d", id, k, b.InputTokens, o.InputTokens)
					}
					if b.API != schemas.APIOpenAIChat {
						t.Errorf("%s/%d: api %s", id, k, b.API)
					}
					// Each turn's prompt extends the previous one.
					if k > 0 && b.InputTokens <= bs[k-1].InputTokens {
						t.Errorf("%s/%d: input %d does not grow from %d", id, k, b.InputTokens, bs[k-1].InputTokens)
					}
				}
			}
		})
	}
}

// TestMooncakeRoundTrip checks import(export(x)) for Mooncake: sessions
// are found again by prefix chain, input and output tokens are exact, and
// think times are exact (to the ms) for a set without send times; with
// send times, the re-imported think time is the arrival gap, i.e. the
// original think time plus the previous turn's duration.
func TestMooncakeRoundTrip(t *testing.T) {
	for _, timed := range []bool{false, true} {
		t.Run(fmt.Sprintf("timed=%v", timed), func(t *testing.T) {
			a := agentSet{api: schemas.APIOpenAIChat, sessions: 3, turns: 5, timed: timed}
			set := filepath.Join(t.TempDir(), "x")
			origReqs := a.write(t, set)
			orig := bySession(origReqs)
			back := bySession(roundTrip(t, set, FormatMooncake))
			if len(back) != len(orig) {
				t.Fatalf("%d sessions, want %d", len(back), len(orig))
			}
			// Match sessions by their first turn's output length, which the
			// set makes unique per session.
			firstOut := map[int32]string{}
			for id, rs := range orig {
				firstOut[rs[0].OutputTokens] = id
			}
			for bid, bs := range back {
				id, ok := firstOut[bs[0].OutputTokens]
				if !ok {
					t.Fatalf("re-imported session %s matches no original", bid)
				}
				rs := orig[id]
				if len(bs) != len(rs) {
					t.Fatalf("session %s: %d turns, want %d", id, len(bs), len(rs))
				}
				for k := range rs {
					o, b := rs[k], bs[k]
					wantThink := o.ThinkNS
					if timed && k > 0 {
						wantThink = o.StartNS - rs[k-1].StartNS
					}
					if b.InputTokens != o.InputTokens || b.OutputTokens != o.OutputTokens || b.ThinkNS != wantThink {
						t.Errorf("%s/%d: in %d out %d think %d, want %d %d %d", id, k, b.InputTokens, b.OutputTokens, b.ThinkNS,
							o.InputTokens, o.OutputTokens, wantThink)
					}
					if len(b.HashIDs) != len(o.HashIDs) {
						t.Errorf("%s/%d: %d blocks, want %d", id, k, len(b.HashIDs), len(o.HashIDs))
					}
				}
			}
		})
	}
}

func TestToChat(t *testing.T) {
	a := agentSet{api: schemas.APIAnthropic}
	c, err := toChat(schemas.APIAnthropic, a.body(0, 2))
	if err != nil {
		t.Fatal(err)
	}
	roles := func(c chatRequest) string {
		var rs []string
		for _, m := range c.Messages {
			rs = append(rs, chatMessageRole(m))
		}
		return strings.Join(rs, ",")
	}
	if got, want := roles(c), "system,user,assistant,tool,assistant,tool"; got != want || c.MaxTokens != 2000 || len(c.Tools) != 1 || !c.Translated {
		t.Errorf("anthropic: roles %s (want %s), max %d, %d tools", got, want, c.MaxTokens, len(c.Tools))
	}
	var asst struct {
		Content   string
		ToolCalls []struct {
			ID       string
			Function struct{ Name, Arguments string }
		} `json:"tool_calls"`
	}
	json.Unmarshal(c.Messages[2], &asst)
	if asst.Content != "Running it." || len(asst.ToolCalls) != 1 || asst.ToolCalls[0].ID != "toolu_0_0" || asst.ToolCalls[0].Function.Arguments != `{"command":"ls"}` {
		t.Errorf("assistant message %s", c.Messages[2])
	}
	if !strings.Contains(string(c.Tools[0]), `"parameters":{"properties"`) {
		t.Errorf("tool %s", c.Tools[0])
	}

	r := agentSet{api: schemas.APIOpenAIResponses}
	c, err = toChat(schemas.APIOpenAIResponses, r.body(0, 2))
	if err != nil {
		t.Fatal(err)
	}
	// instructions and the developer message make one system message
	if got, want := roles(c), "system,user,assistant,tool,assistant,tool"; got != want || c.MaxTokens != 3000 || len(c.Tools) != 1 {
		t.Errorf("responses: roles %s (want %s), max %d, %d tools (web_search must be dropped)", got, want, c.MaxTokens, len(c.Tools))
	}
	if !strings.Contains(string(c.Messages[0]), "be brief") {
		t.Errorf("system message %s lost the developer message", c.Messages[0])
	}

	o := agentSet{api: schemas.APIOpenAIChat}
	c, err = toChat(schemas.APIOpenAIChat, o.body(0, 1))
	if err != nil || c.Translated || len(c.Messages) != 4 || c.MaxTokens != 1000 {
		t.Errorf("chat: %v %+v", err, c)
	}
	if _, err := toChat(schemas.APIRaw, []byte(`{}`)); err == nil {
		t.Error("raw body translated")
	}
	if _, err := toChat(schemas.APIAnthropic, []byte(`{"messages":[]}`)); err == nil {
		t.Error("empty request translated")
	}
}
