package catalog

import (
	"reflect"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/target"
)

// TestPresetsValid checks every embedded preset: known APIs and engines,
// settings that parse, and a source.
func TestPresetsValid(t *testing.T) {
	p, err := DefaultPresets()
	if err != nil {
		t.Fatal(err)
	}
	apis := map[string]bool{"openai-chat": true, "openai-responses": true, "anthropic": true}
	for _, pr := range append(append([]Preset{}, p.Sampling...), p.Models...) {
		if !strings.Contains(pr.Source, ".") {
			t.Errorf("%s: source %q cites nothing", pr.Name, pr.Source)
		}
		for _, r := range pr.Requests {
			if !apis[r.API] {
				t.Errorf("%s: unknown api %q", pr.Name, r.API)
			}
			for _, e := range r.Engines {
				if _, err := target.ParseEngine(e); err != nil || e == "auto" {
					t.Errorf("%s: engine %q: %v", pr.Name, e, err)
				}
			}
			if _, err := target.ParseSettings(r.Set); err != nil {
				t.Errorf("%s %s: %v", pr.Name, r.API, err)
			}
		}
		for api := range apis {
			if _, ok := pr.For(api, "vllm"); !ok {
				t.Errorf("%s has no rule for %s", pr.Name, api)
			}
		}
	}
}

func TestPresetResolution(t *testing.T) {
	p, err := DefaultPresets()
	if err != nil {
		t.Fatal(err)
	}
	aa, err := p.SamplingPreset("AA")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		pr          *Preset
		api, engine string
		set         []string
		dropped     []string
	}{
		{aa, "openai-chat", "vllm", []string{"temperature=0.7", "top_p=0.8", "top_k=20", "min_p=0"}, nil},
		{aa, "openai-chat", "openai", []string{"temperature=0.7", "top_p=0.8"}, []string{"top_k", "min_p"}},
		{aa, "openai-responses", "vllm", []string{"temperature=0.7", "top_p=0.8", "top_k=20"}, []string{"min_p"}},
		{aa, "openai-responses", "sglang", []string{"temperature=0.7", "top_p=0.8"}, []string{"top_k", "min_p"}},
		{aa, "anthropic", "anthropic", []string{"temperature=0.7", "top_p=0.8", "top_k=20"}, []string{"min_p"}},
		{p.ModelPreset("openai/gpt-oss-120b"), "openai-chat", "vllm", []string{`reasoning_effort="high"`}, nil},
		{p.ModelPreset("gpt-oss-120b"), "openai-responses", "openai", []string{`reasoning.effort="high"`}, nil},
		{p.ModelPreset("deepseek-ai/DeepSeek-V3.2-Exp"), "openai-chat", "sglang", []string{"chat_template_kwargs.thinking=true"}, nil},
		{p.ModelPreset("deepseek-ai/DeepSeek-V4-Pro"), "openai-chat", "vllm", []string{"chat_template_kwargs.thinking=true", `reasoning_effort="max"`}, nil},
		{p.ModelPreset("deepseek-v3.2"), "openai-chat", "openai", []string{`thinking={"type":"enabled"}`}, nil},
	}
	for _, tt := range tests {
		if tt.pr == nil {
			t.Errorf("no preset for a %s test", tt.api)
			continue
		}
		r, ok := tt.pr.For(tt.api, tt.engine)
		if !ok || !reflect.DeepEqual(r.Set, tt.set) || !reflect.DeepEqual(r.Dropped, tt.dropped) {
			t.Errorf("%s %s %s: set %v dropped %v, want %v %v", tt.pr.Name, tt.api, tt.engine, r.Set, r.Dropped, tt.set, tt.dropped)
		}
	}
	if p.ModelPreset("llama-3-8b") != nil {
		t.Error("llama-3-8b matched a preset")
	}
	if _, err := p.SamplingPreset("greedy"); err == nil || !strings.Contains(err.Error(), "have aa") {
		t.Errorf("unknown preset error = %v", err)
	}
	if _, err := ParsePresets([]byte("sampling:\n  - name: x\n")); err == nil {
		t.Error("preset without source accepted")
	}
}
