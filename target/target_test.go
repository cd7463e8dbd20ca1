package target

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/wire"
)

func TestParseEngine(t *testing.T) {
	for _, in := range []string{"", "auto", "VLLM", " sglang ", "trtllm", "dynamo", "llamacpp", "tgi", "openai", "anthropic"} {
		if _, err := ParseEngine(in); err != nil {
			t.Errorf("ParseEngine(%q): %v", in, err)
		}
	}
	if _, err := ParseEngine("ollama"); err == nil || !strings.Contains(err.Error(), "want one of auto, vllm") {
		t.Errorf("ParseEngine(ollama) error = %v", err)
	}
}

func TestPin(t *testing.T) {
	tests := []struct {
		engine Engine
		api    string
		body   string
		want   string
	}{
		{EngineVLLM, schemas.APIOpenAIChat, `{"model":"m","max_tokens":10}`, `{"model":"m","max_tokens":50,"min_tokens":50,"ignore_eos":true}`},
		{EngineVLLM, schemas.APIOpenAIChat, `{"max_completion_tokens":10}`, `{"max_completion_tokens":50,"min_tokens":50,"ignore_eos":true}`},
		{EngineVLLM, schemas.APIOpenAIResponses, `{}`, `{"max_output_tokens":50,"ignore_eos":true}`},
		{EngineVLLM, schemas.APIAnthropic, `{"max_tokens":1}`, `{"max_tokens":50}`},
		{EngineLlamaCpp, schemas.APIOpenAIChat, `{}`, `{"max_tokens":50,"ignore_eos":true}`},
		{EngineTGI, schemas.APIOpenAIChat, `{}`, `{"max_tokens":50}`},
		{EngineOpenAI, schemas.APIOpenAIResponses, `{}`, `{"max_output_tokens":50}`},
		{EngineAuto, schemas.APIAnthropic, `{}`, `{"max_tokens":50,"min_tokens":50,"ignore_eos":true}`},
	}
	for _, tt := range tests {
		got, err := DialectOf(tt.engine).Pin([]byte(tt.body), tt.api, 50)
		if err != nil || string(got) != tt.want {
			t.Errorf("%s %s: got %s (%v), want %s", tt.engine, tt.api, got, err, tt.want)
		}
	}
}

// TestDialectTable checks every engine's table is complete where it
// serves an API: output and input usage, content deltas.
func TestDialectTable(t *testing.T) {
	for _, e := range append(Engines(), EngineGeneric) {
		d := DialectOf(e)
		if len(d.APIs) == 0 {
			t.Errorf("%s serves no API", e)
		}
		for api, a := range d.APIs {
			if len(a.Usage.Output) == 0 || len(a.Usage.Input) == 0 {
				t.Errorf("%s %s: no usage paths", e, api)
			}
			if len(a.Stream.Content)+len(a.Stream.ContentEvents) == 0 {
				t.Errorf("%s %s: no content deltas", e, api)
			}
		}
	}
}

func TestRedactJSON(t *testing.T) {
	long := strings.Repeat("x", 2000)
	in := `{"api_key":"sk-1","admin_api_key":"a","hf_token":"h","api-key":"k","nested":[{"password":"p","Authorization":"Bearer z"}],` +
		`"max_total_tokens":10,"tokenizer_path":"t","api_key_unset":null,"chat_template":"` + long + `","n":1.5e3}`
	out, ok := redactJSON([]byte(in))
	if !ok {
		t.Fatal("not JSON")
	}
	for _, s := range []string{"sk-1", `"a"`, `"h"`, `"k"`, `"p"`, "Bearer", long} {
		if strings.Contains(string(out), s) {
			t.Errorf("redacted body keeps %s: %s", s, out)
		}
	}
	for _, s := range []string{`"max_total_tokens":10`, `"tokenizer_path":"t"`, `"[2000 bytes omitted]"`, `"n":1.5e3`} {
		if !strings.Contains(string(out), s) {
			t.Errorf("redacted body lost %s: %s", s, out)
		}
	}
	if got := redactURL("https://user:pw@host:8000/v1?key=abc#x"); got != "https://host:8000/v1" {
		t.Errorf("redactURL = %s", got)
	}
}

func TestDetectHostedAndContext(t *testing.T) {
	tests := []struct {
		name string
		p    Provenance
		want Engine
	}{
		{"openai headers", Provenance{HeaderNames: []string{"Openai-Organization", "Openai-Version"}}, EngineOpenAI},
		{"anthropic headers", Provenance{HeaderNames: []string{"Anthropic-Organization-Id"}}, EngineAnthropic},
		{"openai models", Provenance{Models: []ModelCard{{ID: "gpt-5", OwnedBy: "system"}}}, EngineOpenAI},
		{"llama.cpp server header", Provenance{Headers: map[string]string{"Server": "llama.cpp"}}, EngineLlamaCpp},
		{"nothing", Provenance{}, EngineGeneric},
		{"version alone", Provenance{Endpoints: []Answer{{Path: "/version", Status: 200, Body: json.RawMessage(`{"version":"1"}`)}}}, EngineGeneric},
	}
	for _, tt := range tests {
		if got := Detect(tt.p); got.Engine != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got.Engine, tt.want)
		}
	}
	p := Provenance{Models: []ModelCard{{ID: "a", MaxModelLen: 1000}, {ID: "b", MaxModelLen: 2000}, {ID: "c", NCtxTrain: 9}}}
	for model, want := range map[string]int{"": 1000, "b": 2000, "org/b": 2000, "zzz": 1000, "c": 0} {
		if got, _ := ContextLength(p, model); got != want {
			t.Errorf("ContextLength(%q) = %d, want %d", model, got, want)
		}
	}
}

// FuzzProbeStream checks the probe's event reader never panics on any
// response body, and never reports a count below -1.
func FuzzProbeStream(f *testing.F) {
	f.Add("data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}],\"usage\":{\"completion_tokens\":3}}\n\ndata: [DONE]\n\n")
	f.Add("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":5}}}\n\n")
	f.Fuzz(func(t *testing.T, body string) {
		for _, e := range append(Engines(), EngineGeneric) {
			for api, ad := range DialectOf(e).APIs {
				sc, err := wire.NewScanner(api, ad.Keys())
				if err != nil {
					t.Fatalf("%s %s: %v", e, api, err)
				}
				st := sc.Stream()
				readProbeStream(&st, []byte(body))
				if u := st.Usage(); min(u.Input, u.Output, u.Cached, u.Reasoning) < -1 {
					t.Fatalf("usage %+v", u)
				}
			}
		}
	})
}

// FuzzRedactJSON checks redaction keeps JSON valid and never keeps the
// value of an api_key.
func FuzzRedactJSON(f *testing.F) {
	f.Add(`{"api_key":"SECRETVALUE","a":[{"hf_token":"SECRETVALUE"}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		out, ok := redactJSON([]byte(body))
		if !ok {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON: %s", out)
		}
		var walk func(v any)
		walk = func(v any) {
			switch t2 := v.(type) {
			case map[string]any:
				for k, e := range t2 {
					if k == "api_key" && e != nil && e != "[redacted]" {
						t.Fatalf("api_key kept: %s", out)
					}
					walk(e)
				}
			case []any:
				for _, e := range t2 {
					walk(e)
				}
			}
		}
		var v any
		_ = json.Unmarshal(out, &v)
		walk(v)
	})
}
