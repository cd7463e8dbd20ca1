package replay

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/schemas"
)

func parseAny(t *testing.T, api string, body []byte) *conversation {
	t.Helper()
	var c *conversation
	var err error
	switch api {
	case schemas.APIAnthropic:
		c, err = parseAnthropic(body)
	case schemas.APIOpenAIChat:
		c, err = parseChat(body)
	default:
		c, err = parseResponses(body)
	}
	if err != nil {
		t.Fatalf("parse %s: %v\n%s", api, err, body)
	}
	c.Model, c.MaxTokens, c.Temperature, c.TopP = nil, nil, nil, nil
	for i := range c.Tools {
		c.Tools[i].Schema = nil
	}
	return c
}

// TestTranslateKeepsConversation translates every recorded API into every
// other and back to the neutral form: system text, messages (roles, text,
// tool calls with ids, names and arguments, tool results) and tools agree.
func TestTranslateKeepsConversation(t *testing.T) {
	apis := []string{schemas.APIOpenAIChat, schemas.APIAnthropic, schemas.APIOpenAIResponses}
	for _, from := range apis {
		body := turnBody(from, "s9", 3, 5, 0)
		want := parseAny(t, from, body)
		for _, to := range apis {
			if to == from {
				continue
			}
			out, err := Translate(body, from, to)
			if err != nil {
				t.Fatalf("%s→%s: %v", from, to, err)
			}
			got := parseAny(t, to, out)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s→%s changed the conversation\n got %+v\nwant %+v\nbody %s", from, to, got, want, out)
			}
			if !strings.Contains(string(out), "session s9 turn 3") {
				t.Errorf("%s→%s lost the last user message", from, to)
			}
		}
	}
}

func TestTranslateShapes(t *testing.T) {
	chat := `{"model":"m","max_tokens":9,"stop":"END","messages":[{"role":"system","content":"S"},{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"x"}}]},{"role":"assistant","content":"ok","tool_calls":[{"id":"call.1","type":"function","function":{"name":"f","arguments":"not json"}}]},{"role":"tool","tool_call_id":"call.1","content":"r"}]}`
	out, err := Translate([]byte(chat), schemas.APIOpenAIChat, schemas.APIAnthropic)
	if err != nil {
		t.Fatal(err)
	}
	var a struct {
		System        string   `json:"system"`
		MaxTokens     int      `json:"max_tokens"`
		StopSequences []string `json:"stop_sequences"`
		Messages      []struct {
			Role    string `json:"role"`
			Content []map[string]any
		} `json:"messages"`
	}
	if err := json.Unmarshal(out, &a); err != nil {
		t.Fatal(err)
	}
	if a.System != "S" || a.MaxTokens != 9 || len(a.StopSequences) != 1 || len(a.Messages) != 3 {
		t.Fatalf("anthropic body: %s", out)
	}
	use := a.Messages[1].Content[1]
	if use["type"] != "tool_use" || use["id"] != "call_1" || use["input"].(map[string]any)["input"] != "not json" {
		t.Errorf("tool_use block %v: want id call_1 (Anthropic alphabet) and non-JSON arguments wrapped", use)
	}
	if res := a.Messages[2].Content[0]; res["type"] != "tool_result" || res["tool_use_id"] != "call_1" {
		t.Errorf("tool_result block %v", res)
	}
	if txt := a.Messages[0].Content[1]["text"]; txt != "[image]" {
		t.Errorf("image became %v, want [image]", txt)
	}
	if _, err := Translate([]byte(`{"x":1}`), schemas.APIRaw, schemas.APIAnthropic); err == nil {
		t.Error("raw translation accepted")
	}
}

func TestShapeParams(t *testing.T) {
	tests := []struct {
		api, params string
		policy      OutputPolicy
		want        string
	}{
		{schemas.APIOpenAIChat, `{"max_tokens":100,"model":"a"}`, OutputExact,
			`{"ignore_eos":true,"max_tokens":42,"min_tokens":42,"model":"m","stream":true,"stream_options":{"include_usage":true}}`},
		{schemas.APIOpenAIChat, `{"max_completion_tokens":100}`, OutputCap,
			`{"max_completion_tokens":42,"model":"m","stream":true,"stream_options":{"include_usage":true}}`},
		{schemas.APIAnthropic, `{"max_tokens":64000,"stream":false}`, OutputFree,
			`{"max_tokens":64000,"model":"m","stream":true}`},
		{schemas.APIOpenAIResponses, `{"previous_response_id":"r1","store":true}`, OutputExact,
			`{"ignore_eos":true,"max_output_tokens":42,"min_tokens":42,"model":"m","store":true,"stream":true}`},
	}
	for _, tt := range tests {
		got, err := Shaping{Model: "m", Output: tt.policy}.shapeParams(tt.params, tt.api, 42)
		if err != nil || string(got) != tt.want {
			t.Errorf("%s %s %s: got %s, %v\nwant %s", tt.api, tt.params, tt.policy, got, err, tt.want)
		}
	}
}

func TestSaltPiece(t *testing.T) {
	tests := []struct{ kind, in, want string }{
		{schemas.KindSystem, `"sys"`, `"[s]\nsys"`},
		{schemas.KindSystem, `[{"type":"text","text":"a"}]`, `[{"text":"[s]\na","type":"text"}]`},
		{schemas.KindMessage, `{"role":"user","content":"hi"}`, `{"content":"[s]\nhi","role":"user"}`},
		{schemas.KindMessage, `{"role":"user","content":[{"type":"input_text","text":"hi"}]}`, `{"content":[{"text":"[s]\nhi","type":"input_text"}],"role":"user"}`},
		{schemas.KindMessage, `{"role":"user","content":[{"type":"image"}]}`, `{"content":[{"text":"[s]\n","type":"text"},{"type":"image"}],"role":"user"}`},
	}
	for _, tt := range tests {
		got, err := saltPiece(tt.kind, []byte(tt.in), "[s]\n")
		if err != nil || string(got) != tt.want {
			t.Errorf("saltPiece(%s, %s) = %s, %v; want %s", tt.kind, tt.in, got, err, tt.want)
		}
	}
}
