package translate

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/agentperf/agentperf/schemas"
)

const png = "iVBORw0KGgo="

// keepBodies are one request per API with an image in the user turn,
// reasoning before an assistant tool call, and a specific tool choice.
var keepBodies = map[string]string{
	schemas.APIAnthropic: `{"model":"c","max_tokens":100,"tool_choice":{"type":"tool","name":"bash","disable_parallel_tool_use":true},` +
		`"tools":[{"name":"bash","input_schema":{"type":"object"}}],"messages":[` +
		`{"role":"user","content":[{"type":"text","text":"look"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"` + png + `"}}]},` +
		`{"role":"assistant","content":[{"type":"thinking","thinking":"I should list","signature":"sig1"},{"type":"tool_use","id":"t1","name":"bash","input":{"cmd":"ls"}}]},` +
		`{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"a.go"}]}]}`,
	schemas.APIOpenAIChat: `{"model":"g","tool_choice":{"type":"function","function":{"name":"bash"}},"parallel_tool_calls":false,` +
		`"tools":[{"type":"function","function":{"name":"bash","parameters":{"type":"object"}}}],"messages":[` +
		`{"role":"user","content":[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"data:image/png;base64,` + png + `"}}]},` +
		`{"role":"assistant","content":null,"reasoning_content":"I should list","tool_calls":[{"id":"t1","type":"function","function":{"name":"bash","arguments":"{\"cmd\":\"ls\"}"}}]},` +
		`{"role":"tool","tool_call_id":"t1","content":"a.go"}]}`,
	schemas.APIOpenAIResponses: `{"model":"g","tool_choice":{"type":"function","name":"bash"},"parallel_tool_calls":false,` +
		`"tools":[{"type":"function","name":"bash","parameters":{"type":"object"}}],"input":[` +
		`{"type":"message","role":"user","content":[{"type":"input_text","text":"look"},{"type":"input_image","image_url":"data:image/png;base64,` + png + `","detail":"auto"}]},` +
		`{"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"I should list"}],"encrypted_content":"enc"},` +
		`{"type":"function_call","call_id":"t1","name":"bash","arguments":"{\"cmd\":\"ls\"}"},` +
		`{"type":"function_call_output","call_id":"t1","output":"a.go"}]}`,
}

// TestTranslateKeeps checks, for every pair of APIs, that images, the
// tool choice and reasoning arrive in the target's own shape, and that
// reasoning the target cannot take is counted.
func TestTranslateKeeps(t *testing.T) {
	apis := []string{schemas.APIAnthropic, schemas.APIOpenAIChat, schemas.APIOpenAIResponses}
	for _, from := range apis {
		for _, to := range apis {
			if from == to {
				continue
			}
			out, st, err := TranslateStats([]byte(keepBodies[from]), from, to)
			if err != nil {
				t.Fatalf("%s→%s: %v", from, to, err)
			}
			c := parseAny(t, to, out)
			name := from + "→" + to
			// The image, in the target's shape, round-trips to the same data URL.
			if got := c.Messages[0].Parts; len(got) != 2 || got[1].Image != "data:image/png;base64,"+png {
				t.Errorf("%s: user parts %+v\n%s", name, got, out)
			}
			if want := (&toolChoice{Mode: "tool", Name: "bash", NoParallel: true}); !reflect.DeepEqual(c.Choice, want) {
				t.Errorf("%s: tool choice %+v, want %+v\n%s", name, c.Choice, want, out)
			}
			a := c.Messages[1]
			switch to {
			case schemas.APIOpenAIChat:
				if len(a.Reasoning) != 0 || st.DroppedReasoning != 1 {
					t.Errorf("%s: reasoning %+v, dropped %d; want none kept, 1 dropped", name, a.Reasoning, st.DroppedReasoning)
				}
			default:
				if len(a.Reasoning) != 1 || joinText(a.Reasoning[0].Text) != "I should list" || st.DroppedReasoning != 0 {
					t.Errorf("%s: reasoning %+v, dropped %d\n%s", name, a.Reasoning, st.DroppedReasoning, out)
				}
			}
			if len(a.Calls) != 1 || a.Calls[0].Name != "bash" {
				t.Errorf("%s: calls %+v", name, a.Calls)
			}
		}
	}
}

// TestTranslateReasoningShapes pins the reasoning inputs each target gets.
func TestTranslateReasoningShapes(t *testing.T) {
	tests := []struct {
		name, from, to, body string
		want                 string // the assistant turn's reasoning, as JSON
		dropped              int
	}{
		{"anthropic signature kept", schemas.APIAnthropic, schemas.APIOpenAIResponses, keepBodies[schemas.APIAnthropic],
			`[{"content":[{"text":"I should list","type":"reasoning_text"}],"summary":[],"type":"reasoning"}]`, 0},
		{"responses encrypted kept", schemas.APIOpenAIResponses, schemas.APIAnthropic, keepBodies[schemas.APIOpenAIResponses],
			`[{"thinking":"I should list","type":"thinking"}]`, 0},
		{"encrypted only → anthropic dropped", schemas.APIOpenAIResponses, schemas.APIAnthropic,
			`{"input":[{"type":"message","role":"user","content":"hi"},{"type":"reasoning","summary":[],"encrypted_content":"enc"},{"type":"function_call","call_id":"c","name":"f","arguments":"{}"}]}`,
			`[]`, 1},
		{"redacted → responses dropped", schemas.APIAnthropic, schemas.APIOpenAIResponses,
			`{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"redacted_thinking","data":"xx"},{"type":"text","text":"ok"}]}]}`,
			`[]`, 1},
	}
	for _, tt := range tests {
		out, st, err := TranslateStats([]byte(tt.body), tt.from, tt.to)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got := reasoningJSON(t, tt.to, out)
		if got != tt.want || st.DroppedReasoning != tt.dropped {
			t.Errorf("%s: reasoning %s dropped %d, want %s %d\n%s", tt.name, got, st.DroppedReasoning, tt.want, tt.dropped, out)
		}
	}
	// Anthropic → Responses → Anthropic keeps an encrypted item's
	// neighbour order: reasoning first in the assistant turn.
	out, _ := Translate([]byte(keepBodies[schemas.APIOpenAIResponses]), schemas.APIOpenAIResponses, schemas.APIAnthropic)
	var a struct {
		Messages []struct {
			Content []map[string]any `json:"content"`
		} `json:"messages"`
	}
	_ = json.Unmarshal(out, &a)
	if a.Messages[1].Content[0]["type"] != "thinking" || a.Messages[1].Content[1]["type"] != "tool_use" {
		t.Errorf("assistant blocks %v: thinking must come first", a.Messages[1].Content)
	}
}

// reasoningJSON returns the reasoning blocks or items of a translated
// body as compact JSON.
func reasoningJSON(t *testing.T, api string, body []byte) string {
	t.Helper()
	var out []map[string]any
	switch api {
	case schemas.APIAnthropic:
		var a struct {
			Messages []struct {
				Content []map[string]any `json:"content"`
			} `json:"messages"`
		}
		_ = json.Unmarshal(body, &a)
		for _, m := range a.Messages {
			for _, b := range m.Content {
				if b["type"] == "thinking" || b["type"] == "redacted_thinking" {
					out = append(out, b)
				}
			}
		}
	case schemas.APIOpenAIResponses:
		var r struct {
			Input []map[string]any `json:"input"`
		}
		_ = json.Unmarshal(body, &r)
		for _, it := range r.Input {
			if it["type"] == "reasoning" {
				out = append(out, it)
			}
		}
	}
	if out == nil {
		return "[]"
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// TestTranslateToolChoice maps every mode to each API's shape.
func TestTranslateToolChoice(t *testing.T) {
	tests := []struct {
		from, in string
		to, want string
	}{
		{schemas.APIOpenAIChat, `"auto"`, schemas.APIAnthropic, `{"type":"auto"}`},
		{schemas.APIOpenAIChat, `"none"`, schemas.APIAnthropic, `{"type":"none"}`},
		{schemas.APIOpenAIChat, `"required"`, schemas.APIAnthropic, `{"type":"any"}`},
		{schemas.APIAnthropic, `{"type":"any"}`, schemas.APIOpenAIChat, `"required"`},
		{schemas.APIAnthropic, `{"type":"any"}`, schemas.APIOpenAIResponses, `"required"`},
		{schemas.APIAnthropic, `{"type":"tool","name":"f"}`, schemas.APIOpenAIChat, `{"function":{"name":"f"},"type":"function"}`},
		{schemas.APIAnthropic, `{"type":"tool","name":"f"}`, schemas.APIOpenAIResponses, `{"name":"f","type":"function"}`},
		{schemas.APIOpenAIResponses, `{"type":"function","name":"f"}`, schemas.APIAnthropic, `{"name":"f","type":"tool"}`},
		{schemas.APIOpenAIResponses, `"none"`, schemas.APIOpenAIChat, `"none"`},
		{schemas.APIOpenAIChat, `{"type":"allowed_tools"}`, schemas.APIAnthropic, ``},
	}
	for _, tt := range tests {
		body := map[string]string{
			schemas.APIOpenAIChat:      `{"messages":[{"role":"user","content":"hi"}],"tool_choice":%s}`,
			schemas.APIAnthropic:       `{"messages":[{"role":"user","content":"hi"}],"tool_choice":%s}`,
			schemas.APIOpenAIResponses: `{"input":"hi","tool_choice":%s}`,
		}[tt.from]
		out, err := Translate([]byte(sprintf(body, tt.in)), tt.from, tt.to)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		_ = json.Unmarshal(out, &m)
		if got := string(m["tool_choice"]); got != tt.want {
			t.Errorf("%s %s → %s: %s, want %s", tt.from, tt.in, tt.to, got, tt.want)
		}
	}
}

func sprintf(format, arg string) string { return fmt.Sprintf(format, arg) }
