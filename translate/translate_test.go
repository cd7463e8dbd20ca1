package translate

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
	c.stats = Stats{}
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
		body := []byte(agentBodies[from])
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
			if !strings.Contains(string(out), "session s9 turn 2") {
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
	if img := a.Messages[0].Content[1]; img["type"] != "image" || img["source"].(map[string]any)["url"] != "x" {
		t.Errorf("image became %v, want an image block with a url source", img)
	}
	if _, err := Translate([]byte(`{"x":1}`), schemas.APIRaw, schemas.APIAnthropic); err == nil {
		t.Error("raw translation accepted")
	}
}

// agentBodies are one agent turn per API: a system prompt, a tool, and two
// rounds of assistant tool call and tool result before the last user message.
var agentBodies = map[string]string{
	schemas.APIAnthropic: `{"model":"claude-test","max_tokens":32000,"stream":true,` +
		`"system":[{"type":"text","text":"You are a coding agent.","cache_control":{"type":"ephemeral"}}],` +
		`"tools":[{"name":"bash","description":"run","input_schema":{"type":"object"}}],` +
		`"messages":[{"role":"user","content":"session s9 turn 0"},` +
		`{"role":"assistant","content":[{"type":"text","text":"working"},{"type":"tool_use","id":"toolu_1","name":"bash","input":{"cmd":"ls"}}]},` +
		`{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"a.go b.go"},{"type":"text","text":"session s9 turn 1"}]},` +
		`{"role":"assistant","content":[{"type":"text","text":"working"},{"type":"tool_use","id":"toolu_2","name":"bash","input":{"cmd":"ls"}}]},` +
		`{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_2","content":"a.go b.go"},{"type":"text","text":"session s9 turn 2"}]}]}`,
	schemas.APIOpenAIResponses: `{"model":"gpt-test","stream":true,"instructions":"You are a coding agent.","store":false,` +
		`"tools":[{"type":"function","name":"shell","parameters":{"type":"object"}}],` +
		`"input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"session s9 turn 0"}]},` +
		`{"type":"function_call","call_id":"call_1","name":"shell","arguments":"{\"cmd\":[\"ls\"]}"},` +
		`{"type":"function_call_output","call_id":"call_1","output":"a.go"},` +
		`{"type":"message","role":"user","content":[{"type":"input_text","text":"session s9 turn 1"}]},` +
		`{"type":"function_call","call_id":"call_2","name":"shell","arguments":"{\"cmd\":[\"ls\"]}"},` +
		`{"type":"function_call_output","call_id":"call_2","output":"a.go"},` +
		`{"type":"message","role":"user","content":[{"type":"input_text","text":"session s9 turn 2"}]}]}`,
	schemas.APIOpenAIChat: `{"model":"gpt-oss-120b","stream":true,"max_tokens":4096,` +
		`"tools":[{"type":"function","function":{"name":"bash","parameters":{"type":"object"}}}],` +
		`"messages":[{"role":"system","content":"You are a coding agent."},{"role":"user","content":"session s9 turn 0"},` +
		`{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"bash","arguments":"{\"cmd\":\"ls\"}"}}]},` +
		`{"role":"tool","tool_call_id":"call_1","content":"a.go"},{"role":"user","content":"session s9 turn 1"},` +
		`{"role":"assistant","content":null,"tool_calls":[{"id":"call_2","type":"function","function":{"name":"bash","arguments":"{\"cmd\":\"ls\"}"}}]},` +
		`{"role":"tool","tool_call_id":"call_2","content":"a.go"},{"role":"user","content":"session s9 turn 2"}]}`,
}

// FuzzTranslate checks translation never panics and emits JSON.
func FuzzTranslate(f *testing.F) {
	apis := []string{schemas.APIOpenAIChat, schemas.APIAnthropic, schemas.APIOpenAIResponses}
	for i, api := range apis {
		f.Add(agentBodies[api], uint8(i), uint8(i+1))
	}
	f.Add(`{"messages":[{"role":"user","content":[{"type":"image"}]}]}`, uint8(1), uint8(2))
	for i, api := range []string{schemas.APIAnthropic, schemas.APIOpenAIChat, schemas.APIOpenAIResponses} {
		f.Add(keepBodies[api], uint8((i+1)%3), uint8(i+2))
	}
	f.Fuzz(func(t *testing.T, body string, from, to uint8) {
		f, tt := apis[int(from)%3], apis[int(to)%3]
		out, st, err := TranslateStats([]byte(body), f, tt)
		if f != tt && err == nil && !json.Valid(out) {
			t.Fatalf("invalid JSON out: %s", out)
		}
		if st.DroppedReasoning < 0 || st.DroppedImages < 0 {
			t.Fatalf("negative stats %+v", st)
		}
	})
}

func TestTranslateCodexShell(t *testing.T) {
	body := `{"model":"gpt-5","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"run it"}]},` +
		`{"type":"local_shell_call","call_id":"c1","status":"completed","action":{"type":"exec","command":["ls"]}},` +
		`{"type":"local_shell_call_output","call_id":"c1","output":"a.go"}]}`
	out, err := Translate([]byte(body), schemas.APIOpenAIResponses, schemas.APIOpenAIChat)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"name":"local_shell"`, `\"command\":[\"ls\"]`, `"tool_call_id":"c1"`, `"content":"a.go"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("chat body lacks %s: %s", want, out)
		}
	}
}
