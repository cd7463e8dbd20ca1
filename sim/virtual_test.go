package sim

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/wire"
)

// TestVirtualMatchesHTTP sends the same body to the HTTP server (simulated
// clock, one request on an idle engine) and to Virtual, and checks that
// both count the same prompt, give the same output length and time the
// first and last token at the same simulated offsets.
func TestVirtualMatchesHTTP(t *testing.T) {
	long := strings.Repeat("the quick brown fox jumps over the lazy dog ", 400)
	for _, tt := range []struct {
		name, api, body string
		prompt, output  func(map[string]any) float64
	}{
		{"chat", schemas.APIOpenAIChat,
			`{"model":"m","max_tokens":40,"ignore_eos":true,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"` + long + `"}]}`,
			func(m map[string]any) float64 { return m["usage"].(map[string]any)["prompt_tokens"].(float64) },
			func(m map[string]any) float64 { return m["usage"].(map[string]any)["completion_tokens"].(float64) }},
		{"messages", schemas.APIAnthropic,
			`{"model":"m","max_tokens":25,"system":"be brief","messages":[{"role":"user","content":"` + long + `"}]}`,
			func(m map[string]any) float64 {
				u := m["usage"].(map[string]any)
				return u["input_tokens"].(float64) + u["cache_read_input_tokens"].(float64)
			},
			func(m map[string]any) float64 { return m["usage"].(map[string]any)["output_tokens"].(float64) }},
		{"responses", schemas.APIOpenAIResponses,
			`{"model":"m","max_output_tokens":33,"ignore_eos":true,"input":"` + long + `"}`,
			func(m map[string]any) float64 { return m["usage"].(map[string]any)["input_tokens"].(float64) },
			func(m map[string]any) float64 { return m["usage"].(map[string]any)["output_tokens"].(float64) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, hs := startServer(t, Config{})
			resp, raw := post(t, hs.URL+path(tt.api), tt.body, wire.HeaderSimClock, "1")
			if resp.StatusCode != 200 {
				t.Fatalf("HTTP status %d: %s", resp.StatusCode, raw)
			}
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			firstNS, _ := strconv.ParseInt(resp.Header.Get(wire.HeaderSimFirstToken), 10, 64)
			endNS, _ := strconv.ParseInt(resp.Header.Get(wire.HeaderSimEnd), 10, 64)

			plan, err := Resolve(Config{TimeScale: 1000})
			if err != nil {
				t.Fatal(err)
			}
			v := NewVirtual(plan)
			r, err := v.Submit(tt.api, []byte(tt.body), 2.5)
			if err != nil {
				t.Fatal(err)
			}
			var deliveries, tokens int
			for {
				next, ok := v.Next()
				if !ok {
					break
				}
				for _, o := range v.RunUntil(next) {
					deliveries++
					tokens += o.Tokens
				}
			}
			if got, want := float64(r.PromptTokens), tt.prompt(m); got != want {
				t.Errorf("prompt tokens: virtual %v, HTTP %v", got, want)
			}
			if got, want := float64(r.OutputTokens), tt.output(m); got != want || tokens != r.OutputTokens {
				t.Errorf("output tokens: virtual %v (delivered %d), HTTP %v", got, tokens, want)
			}
			if deliveries == 0 {
				t.Fatal("no deliveries")
			}
			if got := simNS(r.FirstToken - r.Arrival); got != firstNS {
				t.Errorf("first token at %d ns, HTTP %d ns", got, firstNS)
			}
			if got := simNS(r.Finished - r.Arrival); got != endNS {
				t.Errorf("last token at %d ns, HTTP %d ns", got, endNS)
			}
		})
	}
}

func TestVirtualRefuses(t *testing.T) {
	plan, err := Resolve(Config{})
	if err != nil {
		t.Fatal(err)
	}
	v := NewVirtual(plan)
	for _, tt := range []struct {
		api, body string
		status    int
	}{
		{schemas.APIOpenAIChat, `{"model":"m","messages":`, 400},
		{schemas.APIRaw, `{}`, 404},
		{schemas.APIOpenAIChat, `{"model":"m","messages":[{"role":"user","content":"` + strings.Repeat("word ", plan.ContextTokens) + `"}]}`, 400},
	} {
		_, err := v.Submit(tt.api, []byte(tt.body), 0)
		var re *RequestError
		if !errors.As(err, &re) || re.Status != tt.status {
			t.Errorf("%s %.30s: got %v, want status %d", tt.api, tt.body, err, tt.status)
		}
	}
	if _, ok := v.Next(); ok {
		t.Error("a refused request reached the engine")
	}
}

func path(api string) string {
	p, _ := wire.Path(api)
	return p
}
