package sim

import (
	"encoding/json"
	"testing"
	"time"
)

// TestNewCatalogEntriesServe loads each model and accelerator added for
// the AA-AgentPerf lineup, runs a short closed loop on it and serves one
// request over HTTP.
func TestNewCatalogEntriesServe(t *testing.T) {
	for _, tc := range []struct {
		model, hardware string
		accelerators    int
		engine          string
	}{
		{"deepseek-r1", "h200", 8, "vllm"},
		{"deepseek-r1", "b200", 8, "sglang"},
		{"deepseek-v4-pro", "b200", 8, "vllm"},
		{"deepseek-v4-pro", "gb300-nvl72", 8, "trtllm"},
		{"deepseek-v4-pro", "b300", 8, "sglang"},
		{"deepseek-v4-pro", "mi325x", 8, "vllm"},
		{"gpt-oss-120b", "b300", 1, "vllm"},
		{"gpt-oss-120b", "gb300-nvl72", 1, "trtllm"},
		{"gpt-oss-120b", "mi325x", 1, "vllm"},
	} {
		t.Run(tc.model+"/"+tc.hardware, func(t *testing.T) {
			cfg := Config{Model: tc.model, Hardware: tc.hardware, Accelerators: tc.accelerators, TP: tc.accelerators, Engine: tc.engine}
			p, err := Resolve(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if p.KVTokens < 8192 {
				t.Errorf("KV cache of %d tokens per instance is too small to serve", p.KVTokens)
			}
			r := Simulate(p, Workload{Users: 4, Requests: 2, PromptTokens: 1024, OutputTokens: 64})
			if r.UserTokensPerSecond <= 0 || r.MeanTTFT <= 0 || r.OutputTokens != 4*2*64 {
				t.Errorf("short run: %+v", r)
			}
			_, hs := startServer(t, cfg)
			resp, body := post(t, hs.URL+"/v1/chat/completions", `{"model":"x","max_tokens":8,"ignore_eos":true,"messages":[{"role":"user","content":"hello"}]}`)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			var out struct {
				Usage struct {
					CompletionTokens int `json:"completion_tokens"`
				} `json:"usage"`
			}
			if err := json.Unmarshal(body, &out); err != nil || out.Usage.CompletionTokens != 8 {
				t.Errorf("usage %+v (%v): %s", out.Usage, err, body)
			}
		})
	}
}

// TestMTPDefaults: a model's MTP heads are on where the engine's recipes
// use them, off elsewhere, and a negative SpecDraftTokens turns them off.
func TestMTPDefaults(t *testing.T) {
	for _, tc := range []struct {
		model, engine string
		draft         int
		want          int
	}{
		{"deepseek-r1", "sglang", 0, 3},
		{"deepseek-r1", "trtllm", 0, 3},
		{"deepseek-r1", "vllm", 0, 0},
		{"deepseek-r1", "sglang", -1, 0},
		{"deepseek-r1", "vllm", 2, 2},
		{"deepseek-v4-pro", "vllm", 0, 2},
		{"gpt-oss-120b", "trtllm", 0, 0},
	} {
		p, err := Resolve(Config{Model: tc.model, Hardware: "b200", Accelerators: 8, TP: 8, Engine: tc.engine, SpecDraftTokens: tc.draft})
		if err != nil {
			t.Fatal(err)
		}
		if got, acc := p.SpecDraftTokens(); got != tc.want || (got > 0 && acc <= 0) {
			t.Errorf("%s with %s (SpecDraftTokens %d): %d draft tokens at acceptance %v, want %d", tc.model, tc.engine, tc.draft, got, acc, tc.want)
		}
	}
	// MTP raises per-user speed at low load.
	speed := func(draft int) float64 {
		p, err := Resolve(Config{Model: "deepseek-r1", Hardware: "b200", Accelerators: 8, TP: 8, Engine: "sglang", SpecDraftTokens: draft})
		if err != nil {
			t.Fatal(err)
		}
		return Simulate(p, Workload{Users: 1, Requests: 2, PromptTokens: 1024, OutputTokens: 512, Seed: 1}).UserTokensPerSecond
	}
	if on, off := speed(0), speed(-1); on < 1.5*off {
		t.Errorf("MTP per-user speed %.0f tok/s, without %.0f: want ≥ 1.5×", on, off)
	}
}

// TestRequestLatencyInTTFT: the engine profile's request latency delays
// admission and counts in TTFT.
func TestRequestLatencyInTTFT(t *testing.T) {
	ttft := func(lat float64) float64 {
		p := testPlan(t, Config{RequestLatency: durationOf(lat)})
		e := NewEngine(p)
		r := &Request{PromptTokens: 100, Blocks: blocks(1, 100), OutputTokens: 2}
		e.Submit(r, 1)
		runAll(e)
		return r.FirstToken - r.Arrival
	}
	base, late := ttft(-1), ttft(0.02)
	if d := late - base; d < 0.02-1e-9 || d > 0.02+1e-9 {
		t.Errorf("TTFT grew by %.6f s with a 20 ms request latency, want 0.020", d)
	}
	// A request cancelled before admission never runs.
	p := testPlan(t, Config{RequestLatency: durationOf(0.02)})
	e := NewEngine(p)
	r := &Request{PromptTokens: 100, Blocks: blocks(1, 100), OutputTokens: 2}
	e.Submit(r, 0)
	e.Cancel(r)
	runAll(e)
	if r.Generated != 0 || e.Stats().Iterations != 0 {
		t.Errorf("cancelled request generated %d tokens in %d iterations", r.Generated, e.Stats().Iterations)
	}
}

func durationOf(s float64) time.Duration {
	if s < 0 {
		return -1
	}
	return time.Duration(s * 1e9)
}
