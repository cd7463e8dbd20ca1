package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/agentperf/agentperf/replay/internal/fake"
	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/tokens"
)

// traceSpec describes a small synthetic trace set for tests.
type traceSpec struct {
	sessions int
	turns    int
	api      string
	agents   []string
	think    time.Duration // recorded think time before turns ≥ 1 (world)
	out      int           // recorded output tokens
	gap      time.Duration // recorded gap between session starts (timestamps)
	pad      int           // filler tokens added to the system prompt
}

func systemText(pad int) string {
	if pad <= 0 {
		return "You are a coding agent."
	}
	return "You are a coding agent." + tokens.Filler(7, pad)
}

// turnBody returns the recorded request body of turn k of session sid:
// the whole history, the last user message carrying "session S turn k".
func turnBody(api, sid string, k, out, pad int) []byte {
	marker := func(i int) string { return fmt.Sprintf("session %s turn %d: please continue the task", sid, i) }
	switch api {
	case schemas.APIAnthropic:
		var msgs []any
		for i := 0; i <= k; i++ {
			if i > 0 {
				msgs = append(msgs, map[string]any{"role": "assistant", "content": []any{
					map[string]any{"type": "text", "text": "working"},
					map[string]any{"type": "tool_use", "id": fmt.Sprintf("toolu_%d", i), "name": "bash", "input": map[string]any{"cmd": "ls"}}}})
				msgs = append(msgs, map[string]any{"role": "user", "content": []any{
					map[string]any{"type": "tool_result", "tool_use_id": fmt.Sprintf("toolu_%d", i), "content": "a.go b.go"},
					map[string]any{"type": "text", "text": marker(i)}}})
			} else {
				msgs = append(msgs, map[string]any{"role": "user", "content": marker(i)})
			}
		}
		b, _ := json.Marshal(map[string]any{"model": "claude-test", "max_tokens": 32000, "stream": true,
			"system":   []any{map[string]any{"type": "text", "text": systemText(pad), "cache_control": map[string]any{"type": "ephemeral"}}},
			"tools":    []any{map[string]any{"name": "bash", "description": "run", "input_schema": map[string]any{"type": "object"}}},
			"messages": msgs})
		return b
	case schemas.APIOpenAIResponses:
		items := []any{}
		for i := 0; i <= k; i++ {
			if i > 0 {
				items = append(items, map[string]any{"type": "function_call", "call_id": fmt.Sprintf("call_%d", i), "name": "shell", "arguments": `{"cmd":["ls"]}`})
				items = append(items, map[string]any{"type": "function_call_output", "call_id": fmt.Sprintf("call_%d", i), "output": "a.go"})
			}
			items = append(items, map[string]any{"type": "message", "role": "user", "content": []any{map[string]any{"type": "input_text", "text": marker(i)}}})
		}
		b, _ := json.Marshal(map[string]any{"model": "gpt-test", "stream": true, "instructions": systemText(pad),
			"tools": []any{map[string]any{"type": "function", "name": "shell", "parameters": map[string]any{"type": "object"}}},
			"input": items, "store": false})
		return b
	default:
		msgs := []any{map[string]any{"role": "system", "content": systemText(pad)}}
		for i := 0; i <= k; i++ {
			if i > 0 {
				msgs = append(msgs, map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{
					map[string]any{"id": fmt.Sprintf("call_%d", i), "type": "function", "function": map[string]any{"name": "bash", "arguments": `{"cmd":"ls"}`}}}})
				msgs = append(msgs, map[string]any{"role": "tool", "tool_call_id": fmt.Sprintf("call_%d", i), "content": "a.go"})
			}
			msgs = append(msgs, map[string]any{"role": "user", "content": marker(i)})
		}
		b, _ := json.Marshal(map[string]any{"model": "gpt-oss-120b", "stream": true, "max_tokens": 4096,
			"tools":    []any{map[string]any{"type": "function", "function": map[string]any{"name": "bash", "parameters": map[string]any{"type": "object"}}}},
			"messages": msgs})
		return b
	}
}

// writeTraces writes a trace set for spec and returns its directory.
func writeTraces(t testing.TB, spec traceSpec) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "traces")
	w, err := schemas.CreateTraceSet(dir, schemas.TraceWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if spec.api == "" {
		spec.api = schemas.APIOpenAIChat
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	for s := 0; s < spec.sessions; s++ {
		sid := fmt.Sprintf("s%d", s)
		agent := "agent-a"
		if len(spec.agents) > 0 {
			agent = spec.agents[s%len(spec.agents)]
		}
		w.SetSession(schemas.Session{ID: sid, Source: schemas.SourceSynth, Agent: agent})
		at := base + int64(s)*int64(spec.gap)
		for k := 0; k < spec.turns; k++ {
			think := int64(0)
			if k > 0 {
				think = int64(spec.think)
				at += think
			}
			out := int64(spec.out)
			_, err := w.WriteTurn(&schemas.Turn{SessionID: sid, API: spec.api, Body: turnBody(spec.api, sid, k, spec.out, spec.pad),
				Response: [][]byte{[]byte(`{"role":"assistant","content":"ok"}`)},
				StartNS:  at, FirstTokenNS: at + 1e6, EndNS: at + 2e6, ThinkNS: think, Status: 200,
				Usage: schemas.Usage{Output: &out}})
			if err != nil {
				t.Fatal(err)
			}
			at += 2e6
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func loadPlan(t testing.TB, dir string, opt PlanOptions) *Plan {
	t.Helper()
	ts, err := schemas.OpenTraceSet(dir, schemas.TraceSetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ts.Close() })
	p, err := LoadPlan(ts, opt)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// startFake serves a fake target and returns its base URL.
func startFake(t testing.TB, s *fake.Server) string {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv.URL
}

// runToFile runs cfg writing to a new results file and returns the rows,
// the metadata and the report.
func runToFile(t testing.TB, ctx context.Context, cfg Config) ([]schemas.Result, *schemas.RunMeta, *Report) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "results.parquet")
	rw, err := schemas.CreateResults(path, false)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(ctx, cfg, rw)
	if err != nil {
		rw.Abort()
		t.Fatalf("Run: %v", err)
	}
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
	rows, meta := readResults(t, path)
	return rows, meta, rep
}

func readResults(t testing.TB, path string) ([]schemas.Result, *schemas.RunMeta) {
	t.Helper()
	rf, err := schemas.OpenResults(path)
	if err != nil {
		t.Fatalf("results file is not valid: %v", err)
	}
	defer rf.Close()
	var rows []schemas.Result
	err = rf.Each(func(r *schemas.Result) error {
		c := *r
		c.ChunkOffsetsUS = append([]int32(nil), r.ChunkOffsetsUS...)
		rows = append(rows, c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows, rf.RunMeta()
}
