package target_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/internal/fakeengine"
	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/target"
)

// TestDescribeEachEngine checks detection, version, context length and
// redaction against each engine's fake.
func TestDescribeEachEngine(t *testing.T) {
	tests := []struct {
		engine      target.Engine
		version     string
		context     int
		contextFrom string
	}{
		{target.EngineVLLM, "0.11.0", 40960, "max_model_len"},
		{target.EngineSGLang, "0.5.4", 40960, "max_model_len"},
		{target.EngineTRTLLM, "1.1.0", 0, ""},
		{target.EngineDynamo, "", 0, ""},
		{target.EngineLlamaCpp, "b6510-703f9e32", 40960, "meta.n_ctx"},
		{target.EngineTGI, "3.3.4", 40960, "max_total_tokens"},
	}
	for _, tt := range tests {
		t.Run(string(tt.engine), func(t *testing.T) {
			s := fakeengine.New(tt.engine, fakeengine.Options{Context: 40960, Model: "org/m"})
			defer s.Close()
			hdr := http.Header{"Authorization": {"Bearer sk-client-secret"}}
			p := target.Describe(context.Background(), s.Base(), target.DescribeOptions{Header: hdr, Model: "org/m"})
			if target.Engine(p.Engine) != tt.engine || p.Version != tt.version {
				t.Errorf("engine %q version %q (evidence %q), want %q %q", p.Engine, p.Version, p.Evidence, tt.engine, tt.version)
			}
			if p.ContextTokens != tt.context || !strings.Contains(p.ContextSource, tt.contextFrom) {
				t.Errorf("context %d from %q, want %d from …%s", p.ContextTokens, p.ContextSource, tt.context, tt.contextFrom)
			}
			b, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, secret := range []string{"sk-client-secret", "sk-fake-secret", "admin-fake-secret"} {
				if strings.Contains(string(b), secret) {
					t.Errorf("provenance holds %q: %s", secret, b)
				}
			}
			if p.Client.GoVersion == "" || p.Client.NumCPU < 1 {
				t.Errorf("client host %+v", p.Client)
			}
			for _, r := range s.Requests() {
				if r.Method != http.MethodGet {
					t.Errorf("Describe sent %s %s", r.Method, r.Path)
				}
			}
		})
	}
}

// TestProbeEachEngine probes every API each fake serves with the dialect
// detected for it: the pin holds where the engine documents one, usage,
// cached and reasoning counts are read from the engine's own fields.
func TestProbeEachEngine(t *testing.T) {
	const asked = 24
	for _, e := range fakeengine.Engines() {
		s := fakeengine.New(e, fakeengine.Options{Reasoning: 5, Cached: 7, Model: "m"})
		p := target.Describe(context.Background(), s.Base(), target.DescribeOptions{})
		d := target.DialectOf(target.Engine(p.Engine))
		res := target.Probe(context.Background(), s.Base(), target.ProbeOptions{Model: "m", APIs: s.APIs(), Dialect: d, Tokens: asked})
		for _, r := range res {
			t.Run(string(e)+"/"+r.API, func(t *testing.T) {
				if r.Err != "" || !r.Streamed {
					t.Fatalf("probe failed: %+v", r)
				}
				ad, _ := d.For(r.API)
				wantPin := target.PinHonored
				if len(ad.Pin) == 0 {
					wantPin = target.PinIgnored
				}
				if r.Pin != wantPin {
					t.Errorf("pin %s, want %s: %s", r.Pin, wantPin, r)
				}
				if wantPin == target.PinHonored && r.Output != asked {
					t.Errorf("output %d tokens, want %d", r.Output, asked)
				}
				if r.Input <= 0 {
					t.Errorf("input tokens %d, want > 0", r.Input)
				}
				wantCached := 7
				if e == target.EngineTGI {
					wantCached = -1
				}
				if r.Cached != wantCached {
					t.Errorf("cached %d, want %d", r.Cached, wantCached)
				}
				splitsReasoning := e != target.EngineTGI
				if splitsReasoning && r.ReasoningDeltas != 5 {
					t.Errorf("reasoning deltas %d, want 5", r.ReasoningDeltas)
				}
				if r.Deltas != max(r.Output, 0) {
					t.Errorf("deltas %d, output %d: each fake token is one delta", r.Deltas, r.Output)
				}
				if err := target.ProbeError([]target.ProbeResult{r}, wantPin != target.PinHonored); err != nil {
					t.Errorf("ProbeError: %v", err)
				}
			})
		}
		s.Close()
	}
}

// TestProbeRefusesIgnoredPin: a target that ignores the pin is refused,
// unless the caller only caps output.
func TestProbeRefusesIgnoredPin(t *testing.T) {
	s := fakeengine.New(target.EngineVLLM, fakeengine.Options{IgnorePin: true})
	defer s.Close()
	// A base URL without /v1 works as it does for replay.
	res := target.Probe(context.Background(), s.URL, target.ProbeOptions{Model: "m", APIs: []string{schemas.APIOpenAIChat},
		Dialect: target.DialectOf(target.EngineVLLM), Tokens: 32})
	if p := target.Describe(context.Background(), s.URL+"/", target.DescribeOptions{}); target.Engine(p.Engine) != target.EngineVLLM {
		t.Errorf("Describe without /v1: engine %q", p.Engine)
	}
	if len(res) != 1 || res[0].Pin != target.PinIgnored || res[0].Output != 3 {
		t.Fatalf("results %+v, want the pin ignored with 3 tokens out", res)
	}
	err := target.ProbeError(res, false)
	if err == nil || !strings.Contains(err.Error(), "ignored the output-length pin") ||
		!strings.Contains(err.Error(), "asked for exactly 32 tokens (max_tokens, min_tokens, ignore_eos, engine vllm), got 3") {
		t.Errorf("refusal = %v", err)
	}
	if err := target.ProbeError(res, true); err != nil {
		t.Errorf("refused although only capping: %v", err)
	}
}

// TestProbeSendsSettings: the run's settings reach the wire on each API,
// and a server that rejects a field fails the probe.
func TestProbeSendsSettings(t *testing.T) {
	s := fakeengine.New(target.EngineVLLM, fakeengine.Options{})
	defer s.Close()
	sets, err := target.ParseSettings([]string{`reasoning_effort="high"`, `chat_template_kwargs.thinking=true`, `temperature=0.7`})
	if err != nil {
		t.Fatal(err)
	}
	res := target.Probe(context.Background(), s.Base(), target.ProbeOptions{Model: "m", APIs: s.APIs(),
		Dialect: target.DialectOf(target.EngineVLLM), Settings: sets})
	if err := target.ProbeError(res, true); err != nil {
		t.Fatal(err)
	}
	reqs := s.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for _, r := range reqs {
		var b map[string]any
		if err := json.Unmarshal(r.Body, &b); err != nil {
			t.Fatal(err)
		}
		ctk, _ := b["chat_template_kwargs"].(map[string]any)
		if b["reasoning_effort"] != "high" || ctk["thinking"] != true || b["temperature"] != 0.7 || b["stream"] != true {
			t.Errorf("%s body lacks the settings: %s", r.Path, r.Body)
		}
	}
	if reqs[2].Header.Get("anthropic-version") == "" {
		t.Errorf("Messages probe sent no anthropic-version")
	}

	strict := fakeengine.New(target.EngineTRTLLM, fakeengine.Options{})
	defer strict.Close()
	bad, _ := target.ParseSettings([]string{`separate_reasoning=true`})
	res = target.Probe(context.Background(), strict.Base(), target.ProbeOptions{Model: "m", APIs: strict.APIs(),
		Dialect: target.DialectOf(target.EngineTRTLLM), Settings: bad})
	err = target.ProbeError(res, true)
	if err == nil || !strings.Contains(err.Error(), "HTTP 400") || !strings.Contains(err.Error(), "separate_reasoning") {
		t.Errorf("strict server accepted an unknown field: %v", err)
	}
}

// TestGenericDialectOnEachEngine: the generic pin (min_tokens and
// ignore_eos) holds on every engine that documents either, and the probe
// tells TGI's ignored pin apart.
func TestGenericDialectOnEachEngine(t *testing.T) {
	for _, e := range fakeengine.Engines() {
		s := fakeengine.New(e, fakeengine.Options{})
		res := target.Probe(context.Background(), s.Base(), target.ProbeOptions{Model: "m", APIs: []string{schemas.APIOpenAIChat},
			Dialect: target.DialectOf(target.EngineGeneric), Tokens: 16})
		s.Close()
		want := target.PinHonored
		if e == target.EngineTGI {
			want = target.PinIgnored
		}
		if res[0].Pin != want {
			t.Errorf("%s: pin %s, want %s (%s)", e, res[0].Pin, want, res[0])
		}
	}
}
