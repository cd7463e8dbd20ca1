package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentperf/agentperf/replay/internal/fake"
	"github.com/agentperf/agentperf/schemas"
)

// writeClaudeCodeTraces writes one Claude Code session as captured from
// api.anthropic.com: every call's system list opens with the billing
// header block, whose cch changes per call.
func writeClaudeCodeTraces(t *testing.T, turns int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "cc")
	w, err := schemas.CreateTraceSet(dir, schemas.TraceWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.SetSession(schemas.Session{ID: "cc1", Source: schemas.SourceSynth, Agent: "claude-code"})
	var msgs []any
	for k := 0; k < turns; k++ {
		msgs = append(msgs, map[string]any{"role": "user", "content": fmt.Sprintf("session cc1 turn %d: fix the bug", k)})
		body, _ := json.Marshal(map[string]any{"model": "claude-sonnet-4-5", "max_tokens": 32000, "stream": true,
			"system": []any{
				map[string]any{"type": "text", "text": fmt.Sprintf("x-anthropic-billing-header: cc_version=2.1.120.cf9; cc_entrypoint=cli; cch=%05x;", 0x543cf+k*7919)},
				map[string]any{"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude.", "cache_control": map[string]any{"type": "ephemeral"}},
			},
			"tools":    []any{map[string]any{"name": "Bash", "description": "run", "input_schema": map[string]any{"type": "object"}}},
			"messages": msgs})
		out := int64(12)
		if _, err := w.WriteTurn(&schemas.Turn{SessionID: "cc1", API: schemas.APIAnthropic, Body: body,
			Response: [][]byte{[]byte(`{"role":"assistant","content":[{"type":"text","text":"done"}]}`)},
			ThinkNS:  int64(k) * int64(time.Millisecond), Status: 200, Usage: schemas.Usage{Output: &out}}); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, map[string]any{"role": "assistant", "content": []any{map[string]any{"type": "text", "text": "done"}}})
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestRequestMetadataDropped replays a captured Claude Code session whose
// billing header block varies per call: by default no replayed body
// carries the block (it would defeat the target's prefix cache); with
// KeepRequestMetadata every body carries its recorded block, first in the
// system list.
func TestRequestMetadataDropped(t *testing.T) {
	dir := writeClaudeCodeTraces(t, 3)
	for _, keep := range []bool{false, true} {
		srv := &fake.Server{TTFT: time.Millisecond, ITL: time.Millisecond, Record: true}
		cfg := Config{Plan: loadPlan(t, dir, PlanOptions{}), Target: startFake(t, srv), Users: 1,
			Steady: time.Minute, KeepRequestMetadata: keep, ThinkScale: 0.001}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			for len(srv.Arrivals()) < 3 {
				time.Sleep(5 * time.Millisecond)
			}
			cancel()
		}()
		_, meta, _ := runToFile(t, ctx, cfg)
		cancel()
		arr := srv.Arrivals()
		if len(arr) < 3 {
			t.Fatalf("keep %v: %d requests, want 3", keep, len(arr))
		}
		for _, a := range arr[:3] {
			var body struct {
				System []struct {
					Text string `json:"text"`
				} `json:"system"`
			}
			if err := json.Unmarshal(a.Body, &body); err != nil {
				t.Fatalf("body is not JSON: %v\n%s", err, a.Body)
			}
			has := strings.Contains(string(a.Body), "x-anthropic-billing-header")
			if has != keep {
				t.Errorf("keep %v: body carries the billing block: %v\n%.300s", keep, has, a.Body)
			}
			first := ""
			if len(body.System) > 0 {
				first = body.System[0].Text
			}
			wantFirst := "You are Claude Code"
			if keep {
				wantFirst = "x-anthropic-billing-header: cc_version=2.1.120.cf9"
			}
			if !strings.HasPrefix(first, wantFirst) || (keep && len(body.System) != 2) || (!keep && len(body.System) != 1) {
				t.Errorf("keep %v: system list %+v; want %d blocks, the first starting %q", keep, body.System, map[bool]int{false: 1, true: 2}[keep], wantFirst)
			}
		}
		if meta.KeepRequestMetadata != keep {
			t.Errorf("metadata keep_request_metadata = %v, want %v", meta.KeepRequestMetadata, keep)
		}
	}
}

// TestConversationMarker builds bodies of every API and a generated
// (Mooncake-shaped) trace: the marker sits at the start of the first
// conversation message, after the system prompt, tools, instructions and
// system messages, which stay as recorded; it is one per user and pass,
// the same for all turns of a session; with a cache salt on the same
// piece the salt comes first; with the marker off the body is as recorded.
func TestConversationMarker(t *testing.T) {
	sys := systemText(0)
	for _, tc := range []struct {
		name, dir string
		// before must precede the marker (shared prefix), after follow it
		before []string
	}{
		{"openai-chat", writeTraces(t, traceSpec{sessions: 1, turns: 2, api: schemas.APIOpenAIChat}), []string{`"tools":`, sys}},
		{"anthropic", writeTraces(t, traceSpec{sessions: 1, turns: 2, api: schemas.APIAnthropic}), []string{`"tools":`, sys}},
		{"openai-responses", writeTraces(t, traceSpec{sessions: 1, turns: 2, api: schemas.APIOpenAIResponses}), []string{`"tools":`, `"instructions":"` + sys}},
		{"generated", writeRecipeTraces(t, 2, 50), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := loadPlan(t, tc.dir, PlanOptions{})
			on, err := newBuilder(Config{Plan: plan, ConversationMarker: MarkerOn, Shaping: Shaping{Model: "m"}})
			if err != nil {
				t.Fatal(err)
			}
			off, err := newBuilder(Config{Plan: plan, Shaping: Shaping{Model: "m"}})
			if err != nil {
				t.Fatal(err)
			}
			s := plan.Sessions[0]
			build := func(b *builder, t0 *Turn, conv conversation) string {
				var sc saltCache
				body, _, _, err := b.build(nil, t0, conv, &sc, nil)
				if err != nil {
					t.Fatal(err)
				}
				if !json.Valid(body) {
					t.Fatalf("invalid JSON: %s", body)
				}
				return string(body)
			}
			u3 := on.conversation(0, 3, 0)
			mark := strings.TrimSuffix(u3.marker, "\n")
			for _, tr := range s.Turns {
				got := build(on, tr, u3)
				at := strings.Index(got, mark)
				if at < 0 || strings.Count(got, "[conversation ") != 1 {
					t.Fatalf("turn %d: marker %q not found once in\n%s", tr.Index, mark, got)
				}
				for _, b := range tc.before {
					if i := strings.Index(got, b); i < 0 || i > at {
						t.Errorf("turn %d: %q at %d, want before the marker at %d", tr.Index, b, i, at)
					}
				}
				// The marker opens the first conversation message's text.
				if rest := got[at+len(mark):]; !strings.HasPrefix(rest, `\n`) {
					t.Errorf("turn %d: marker not followed by a newline: %.60s", tr.Index, rest)
				}
				// Without the marker the body is the recorded one.
				plain := build(off, tr, off.conversation(0, 3, 0))
				if strings.Replace(got, mark+`\n`, "", 1) != plain {
					t.Errorf("turn %d: marked body minus the marker differs from the unmarked body\n%s\n%s", tr.Index, got, plain)
				}
			}
			// Other users and passes get other markers; the same ones agree.
			seen := map[string]bool{}
			for _, c := range []conversation{on.conversation(0, 3, 0), on.conversation(0, 4, 0), on.conversation(0, 3, 1), on.conversation(1, 3, 0)} {
				if seen[c.marker] {
					t.Errorf("marker %q repeats for user %d pass %d level %d", c.marker, c.user, c.pass, c.level)
				}
				seen[c.marker] = true
			}
			if on.conversation(0, 3, 0).marker != u3.marker {
				t.Error("the same user, pass and level got two markers")
			}
		})
	}
	// A salt on the first message (no system prompt): salt, then marker.
	plan := loadPlan(t, writeRecipeTraces(t, 1, 50), PlanOptions{})
	b, err := newBuilder(Config{Plan: plan, ConversationMarker: MarkerOn, CacheSalt: "run7", Shaping: Shaping{Model: "m"}})
	if err != nil {
		t.Fatal(err)
	}
	conv := b.conversation(0, 1, 0)
	var sc saltCache
	body, _, _, err := b.build(nil, plan.Sessions[0].Turns[0], conv, &sc, nil)
	want := `"content":"[cache-salt run7]\n` + strings.ReplaceAll(conv.marker, "\n", `\n`)
	if err != nil || !strings.Contains(string(body), want) {
		t.Errorf("salted and marked body %.200s, %v; want it to contain %s", body, err, want)
	}
}

// TestRunMarkers: with RunMarkers the run id is in every marker, so two
// runs against one server share no conversation, and the same run id sends
// the same markers again; without it (a virtual-time run) the markers are
// those of earlier versions, which keeps a seed's rows the same.
func TestRunMarkers(t *testing.T) {
	plan := loadPlan(t, writeRecipeTraces(t, 1, 50), PlanOptions{})
	marker := func(runMarkers bool, runID string) string {
		t.Helper()
		b, err := newBuilder(Config{Plan: plan, ConversationMarker: MarkerOn, RunMarkers: runMarkers, RunID: runID})
		if err != nil {
			t.Fatal(err)
		}
		return b.conversation(2, 5, 1).marker
	}
	a, again, b := marker(true, "run-a"), marker(true, "run-a"), marker(true, "run-b")
	if a == b {
		t.Errorf("runs run-a and run-b both sent marker %q", a)
	}
	if a != again {
		t.Errorf("run-a sent %q, then %q", a, again)
	}
	// The marker without a run, as every earlier version sent it for
	// level 2, user 5, pass 1 (a virtual-time run's rows depend on it).
	const fixed = "[conversation 6325ec6f2695]\n"
	for _, id := range []string{"run-a", "run-b", ""} {
		if got := marker(false, id); got != fixed {
			t.Errorf("RunMarkers off, run id %q: marker %q, want %q", id, got, fixed)
		}
	}
}

// TestPrefixModel checks the expected cache hits block by block: shared
// blocks (before the conversation) hit across users, conversation blocks
// only within a user's pass; every block is shared as recorded.
func TestPrefixModel(t *testing.T) {
	const B = blockTokens
	// Turn 0: 2 shared blocks + 2 conversation blocks (+ a partial one);
	// turn 1 extends it by 2 blocks.
	t0 := &Turn{HashIDs: []int64{1, 2, 3, 4, 5}, LocalInput: 4*B + 100}
	t1 := &Turn{HashIDs: []int64{1, 2, 3, 4, 6, 7, 8}, LocalInput: 6*B + 10}
	shared := 2*B + 30
	type step struct {
		turn             *Turn
		level, user, pas int
		want             int64 // cached blocks
	}
	for _, tc := range []struct {
		name    string
		private bool
		steps   []step
	}{
		{"private", true, []step{
			{t0, 0, 0, 0, 0}, // cold
			{t1, 0, 0, 0, 4}, // its own previous turn: 4 full blocks
			{t0, 0, 1, 0, 2}, // another user: the shared prefix only
			{t1, 0, 1, 0, 4},
			{t0, 0, 0, 1, 2}, // user 0's next pass: a new conversation
			{t0, 1, 0, 0, 2}, // the next level: new users
			{t1, 1, 0, 0, 4},
			{t1, 1, 2, 0, 2}, // a user starting at turn 1
		}},
		{"as recorded", false, []step{
			{t0, 0, 0, 0, 0},
			{t1, 0, 1, 0, 4},
			{t1, 0, 2, 0, 6}, // all but the last token's block
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newPrefixModel(tc.private)
			users := map[int]*privateBlocks{}
			for i, s := range tc.steps {
				pb := users[s.user]
				if pb == nil {
					pb = &privateBlocks{}
					users[s.user] = pb
				}
				got := m.see(s.turn, conversation{level: s.level, user: s.user, pass: s.pas}, shared, pb)
				if got.cached != s.want*B || got.input != int64(s.turn.LocalInput) {
					t.Errorf("step %d: cached %d of %d tokens, want %d of %d", i, got.cached, got.input, s.want*B, s.turn.LocalInput)
				}
			}
		})
	}
	// The tally counts steady successes and the target's figures beside.
	m := newPrefixModel(true)
	exp := expectation{ok: true, input: 1000, cached: 600}
	m.tally(0, exp, &schemas.Result{Phase: schemas.PhaseSteady, Status: 200, InputTokens: 1010, CachedTokens: 512})
	m.tally(0, exp, &schemas.Result{Phase: schemas.PhaseSteady, Status: 200, InputTokens: -1, CachedTokens: -1})
	m.tally(0, exp, &schemas.Result{Phase: schemas.PhaseWarmup, Status: 200, InputTokens: 1000, CachedTokens: 0})
	m.tally(0, exp, &schemas.Result{Phase: schemas.PhaseSteady, Status: 500, Error: "x"})
	got := m.level(0)
	if got == nil || got.Requests != 2 || got.HitRate != 0.6 || got.TargetRequests != 1 || got.TargetInputTokens != 1010 ||
		got.TargetCachedTokens != 512 || got.ExpectedHitRate != 0.6 || got.Rule != RulePrivateConversations {
		t.Errorf("level figures %+v", got)
	}
	if m.level(1) != nil {
		t.Error("a level without rows has figures")
	}
}

// TestHasTextMatchesSaltPiece checks hasText against its definition:
// saltPiece does not answer errNoText.
func TestHasTextMatchesSaltPiece(t *testing.T) {
	bodies := []string{`"text"`, `null`, `{"role":"user","content":"hi"}`, `{"role":"user","content":[{"type":"text","text":"a"}]}`,
		`{"type":"function_call","call_id":"c","name":"f","arguments":"{}"}`, `{"role":"assistant","content":null}`,
		`{"role":"user","cont\u0065nt":"x"}`, `{"role":"user","Content":"x"}`, `[{"type":"text","text":"s"}]`, `{`, `[`, `12`,
		`{"content":"a","content":1}`, `{}`, `[]`, `true`}
	for _, kind := range []string{schemas.KindSystem, schemas.KindInstructions, schemas.KindInput, schemas.KindMessage} {
		for _, b := range bodies {
			p := schemas.Part{Kind: kind, Body: []byte(b)}
			_, err := saltPiece(kind, []byte(b), "")
			if want := err != errNoText; hasText(&p) != want {
				t.Errorf("hasText(%s %s) = %v, saltPiece says %v", kind, b, !want, want)
			}
		}
	}
}
