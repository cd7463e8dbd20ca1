package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/sim"
	"github.com/agentperf/agentperf/tokens"
)

// writeAgentTraces writes sessions of an agent whose system prompt (sys
// tokens) and tools are the same in every session and whose conversations
// grow by a step-token tool result per turn, each session's text its own.
func writeAgentTraces(t *testing.T, api string, sessions, turns, sys, step int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "agent-"+api)
	w, err := schemas.CreateTraceSet(dir, schemas.TraceWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	system := "You are a coding agent. " + tokens.Filler(1, sys)
	for s := 0; s < sessions; s++ {
		sid := fmt.Sprintf("s%d", s)
		w.SetSession(schemas.Session{ID: sid, Source: schemas.SourceSynth, Agent: "agent"})
		var msgs []any
		if api == schemas.APIOpenAIChat {
			msgs = append(msgs, map[string]any{"role": "system", "content": system})
		}
		msgs = append(msgs, map[string]any{"role": "user", "content": fmt.Sprintf("session %s turn 0: fix the failing test", sid)})
		for k := 0; k < turns; k++ {
			var body []byte
			if api == schemas.APIAnthropic {
				body, _ = json.Marshal(map[string]any{"model": "m", "max_tokens": 20, "stream": true, "system": system,
					"tools":    []any{map[string]any{"name": "bash", "description": "run a command", "input_schema": map[string]any{"type": "object"}}},
					"messages": msgs})
			} else {
				body, _ = json.Marshal(map[string]any{"model": "m", "max_tokens": 20, "stream": true,
					"tools":    []any{map[string]any{"type": "function", "function": map[string]any{"name": "bash", "parameters": map[string]any{"type": "object"}}}},
					"messages": msgs})
			}
			out := int64(20)
			think := int64(0)
			if k > 0 {
				think = int64(2 * time.Second)
			}
			if _, err := w.WriteTurn(&schemas.Turn{SessionID: sid, API: api, Body: body,
				Response: [][]byte{[]byte(`{"role":"assistant","content":"ok"}`)}, ThinkNS: think, Status: 200,
				Usage: schemas.Usage{Output: &out}}); err != nil {
				t.Fatal(err)
			}
			result := fmt.Sprintf("session %s turn %d output: %s", sid, k+1, tokens.Filler(uint64(100*s+k+2), step))
			msgs = append(msgs, map[string]any{"role": "assistant", "content": "running the tests"},
				map[string]any{"role": "user", "content": result})
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestExpectedCacheHitRateMatchesSim runs several users per session
// against the simulator (over loopback HTTP, its cache large enough to
// hold everything) and compares the target-reported prefix-cache hit rate
// of the steady window with the rate the trace set implies when each
// user's conversation is private and the system prompt and tools are
// shared: within 2 percentage points with conversation markers. Without
// them, users replaying the same session hit each other's conversation
// and the target reports more than production sharing would give.
func TestExpectedCacheHitRateMatchesSim(t *testing.T) {
	if testing.Short() {
		t.Skip("runs simulated minutes")
	}
	for _, api := range []string{schemas.APIOpenAIChat, schemas.APIAnthropic} {
		dir := writeAgentTraces(t, api, 3, 8, 3000, 700)
		for _, marker := range []MarkerPolicy{MarkerAuto, MarkerOff} {
			t.Run(api+"/"+string(marker), func(t *testing.T) {
				const scale = 50
				s, err := StartSimulator(sim.Config{Hardware: "h200", Model: "gpt-oss-120b", TimeScale: scale, Seed: 1})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				// 9 users on 3 sessions: three users replay each session.
				cfg := Config{Plan: loadPlan(t, dir, PlanOptions{}), Target: s.URL, Users: 9, TimeScale: scale, SimClock: true,
					Warmup: 20 * time.Second, Steady: 90 * time.Second, Shaping: Shaping{Model: "gpt-oss-120b"},
					ConversationMarker: marker, Meta: s.Meta()}
				_, meta, rep := runToFile(t, context.Background(), cfg)
				pc := meta.Levels[0].PrefixCache
				if pc == nil || pc != nil && (pc.TargetRequests < 20 || pc.TargetRequests != pc.Requests) {
					t.Fatalf("prefix cache figures %+v: want ≥ 20 steady requests, all with the target's figures", pc)
				}
				if rep.Levels[0].PrefixCache == nil || *rep.Levels[0].PrefixCache != *pc {
					t.Errorf("report %+v, metadata %+v", rep.Levels[0].PrefixCache, pc)
				}
				wantMarker := "on"
				if marker == MarkerOff {
					wantMarker = "off"
				}
				if meta.ConversationMarker != wantMarker || pc.Rule != RulePrivateConversations {
					t.Errorf("conversation_marker %q rule %q, want %q and %q", meta.ConversationMarker, pc.Rule, wantMarker, RulePrivateConversations)
				}
				diff := pc.TargetHitRate - pc.ExpectedHitRate
				t.Logf("%s marker %s: target %.2f%%, trace set %.2f%% over %d requests (%.0f%% over all %d)", api, marker,
					100*pc.TargetHitRate, 100*pc.ExpectedHitRate, pc.TargetRequests, 100*pc.HitRate, pc.Requests)
				if marker == MarkerOff {
					if diff < 0.05 {
						t.Errorf("without markers the target's hit rate %.2f%% is not above the private-conversation rate %.2f%%: the test's users do not share sessions",
							100*pc.TargetHitRate, 100*pc.ExpectedHitRate)
					}
					return
				}
				if math.Abs(diff) > 0.02 {
					t.Errorf("target-reported hit rate %.2f%%, trace set under production sharing %.2f%%: want within 2 points",
						100*pc.TargetHitRate, 100*pc.ExpectedHitRate)
				}
			})
		}
	}
}
