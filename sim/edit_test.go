package sim

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/schemas"
)

// TestAdmitEditedMatchesAdmit checks that an admission derived from a
// base body with segments replaced (AdmitEdited) is the admission of the
// edited body (Admit), field for field, in each API and for each place a
// replay edit goes: a message, an input item, a string input, a system
// prompt and instructions, one or two at a time.
func TestAdmitEditedMatchesAdmit(t *testing.T) {
	long := strings.Repeat("the quick brown fox jumps over the lazy dog ", 300)
	mark := func(s string) string {
		return strings.Replace(s, `"text":"`, `"text":"[conversation 0123456789ab]\n`, 1)
	}
	msg := `{"role":"user","content":[{"type":"text","text":"fix the test"}]}`
	sys := `{"role":"system","content":"be brief"}`
	hist := `{"role":"assistant","content":"` + long + `"}`
	tool := `{"role":"tool","tool_call_id":"c1","content":"ok ` + long[:400] + `"}`
	chatTools := `[{"type":"function","function":{"name":"bash","parameters":{"type":"object"}}}]`
	for _, tt := range []struct {
		name, api, body string
		edits           []Edit
	}{
		{"chat message", schemas.APIOpenAIChat,
			`{"model":"m","max_tokens":500,"tools":` + chatTools + `,"messages":[` + sys + `,` + msg + `,` + hist + `,` + tool + `]}`,
			[]Edit{{Old: []byte(msg), New: []byte(mark(msg))}}},
		{"chat salt and marker", schemas.APIOpenAIChat,
			`{"model":"m","messages":[` + sys + `,` + msg + `,` + hist + `]}`,
			[]Edit{{Old: []byte(sys), New: []byte(`{"role":"system","content":"salt be brief"}`)}, {Old: []byte(msg), New: []byte(mark(msg))}}},
		{"chat no edit", schemas.APIOpenAIChat, `{"model":"m","messages":[` + msg + `]}`, nil},
		{"messages", schemas.APIAnthropic,
			`{"model":"m","max_tokens":900,"system":[{"type":"text","text":"be brief"}],"messages":[` + strings.Replace(msg, `"role":"user"`, `"role":"user"`, 1) + `,{"role":"assistant","content":"` + long + `"}]}`,
			[]Edit{{Old: []byte(msg), New: []byte(mark(msg))}, {Old: []byte(`[{"type":"text","text":"be brief"}]`), New: []byte(`[{"type":"text","text":"salt be brief"}]`)}}},
		{"responses items", schemas.APIOpenAIResponses,
			`{"model":"m","instructions":"be brief","input":[{"role":"user","content":[{"type":"input_text","text":"fix it"}]},{"type":"function_call_output","call_id":"c1","output":"` + long + `"}]}`,
			[]Edit{{Old: []byte(`{"role":"user","content":[{"type":"input_text","text":"fix it"}]}`), New: []byte(`{"role":"user","content":[{"type":"input_text","text":"[conversation 1]\nfix it"}]}`)},
				{Old: []byte(`"be brief"`), New: []byte(`"salt be brief"`)}}},
		{"responses string input", schemas.APIOpenAIResponses,
			`{"model":"m","input":"` + long + `"}`,
			[]Edit{{Old: []byte(`"` + long + `"`), New: []byte(`"[conversation 2]\n` + long + `"`)}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := Resolve(Config{})
			if err != nil {
				t.Fatal(err)
			}
			v := NewVirtual(plan)
			base, err := v.AdmitEditable(tt.api, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			got, ok, err := v.AdmitEdited(base, tt.edits...)
			if !ok || err != nil {
				t.Fatalf("AdmitEdited: ok %v, %v", ok, err)
			}
			edited := []byte(tt.body)
			for _, e := range tt.edits {
				if bytes.Count(edited, e.Old) != 1 {
					t.Fatalf("the test's edit %s is not one place of the body", e.Old)
				}
				edited = bytes.Replace(edited, e.Old, e.New, 1)
			}
			// A fresh Virtual: the derived admission must not depend on
			// what the count cache holds.
			want, err := NewVirtual(plan).Admit(tt.api, edited)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("derived admission\n%+v\n%+v\nwant Admit's\n%+v\n%+v", got, *got.a.g, want, *want.a.g)
			}
			if len(tt.edits) > 0 && got.PromptTokens == base.PromptTokens && reflect.DeepEqual(got.a.blocks, base.a.blocks) {
				t.Error("the edit changed nothing: the test proves nothing")
			}
		})
	}
}

// TestAdmitEditedRefusals checks AdmitEdited's refusals: the error Admit
// gives for the edited body (over the context, over the body limit), and
// ok false where it cannot derive the admission.
func TestAdmitEditedRefusals(t *testing.T) {
	long := strings.Repeat("the quick brown fox jumps over the lazy dog ", 300)
	msg := `{"role":"user","content":"hi"}`
	body := `{"model":"m","tools":[{"type":"function","function":{"name":"bash"}}],"messages":[` + msg + `,{"role":"assistant","content":"` + long + `"},` + msg + `]}`
	plan, err := Resolve(Config{})
	if err != nil {
		t.Fatal(err)
	}
	v := NewVirtual(plan)
	base, err := v.AdmitEditable(schemas.APIOpenAIChat, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := v.Admit(schemas.APIOpenAIChat, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		base *Admission
		e    Edit
	}{
		{"not editable", plain, Edit{Old: []byte(`{"role":"assistant","content":"` + long + `"}`), New: []byte(msg)}},
		{"two places", base, Edit{Old: []byte(msg), New: []byte(`{"role":"user","content":"ho"}`)}},
		{"no segment", base, Edit{Old: []byte(`{"role":"user"}`), New: []byte(msg)}},
		{"a tool", base, Edit{Old: []byte(`{"type":"function","function":{"name":"bash"}}`), New: []byte(`{"type":"function","function":{"name":"sh"}}`)}},
		{"invalid JSON", base, Edit{Old: []byte(`{"role":"assistant","content":"` + long + `"}`), New: []byte(`{"role":"user","content":"x"`)}},
		{"refused message", base, Edit{Old: []byte(`{"role":"assistant","content":"` + long + `"}`), New: []byte(`{"role":"robot","content":"x"}`)}},
		{"null", base, Edit{Old: []byte(`{"role":"assistant","content":"` + long + `"}`), New: []byte(`null`)}},
	} {
		if a, ok, err := v.AdmitEdited(tt.base, tt.e); ok || a != nil || err != nil {
			t.Errorf("%s: got %v, ok %v, %v; want ok false", tt.name, a, ok, err)
		}
	}

	// Refusals Admit gives for the edited body.
	huge := `{"role":"user","content":"` + strings.Repeat("lorem ipsum dolor sit amet ", 2000) + `"}`
	for _, tt := range []struct {
		name    string
		cfg     Config
		context int
	}{
		{"context", Config{}, 4096},
		{"body limit", Config{MaxRequestBytes: 32 << 10}, 0},
	} {
		plan, err := Resolve(tt.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if tt.context > 0 {
			plan.ContextTokens = tt.context
		}
		v := NewVirtual(plan)
		base, err := v.AdmitEditable(schemas.APIOpenAIChat, []byte(body))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		edited := strings.Replace(body, `{"role":"assistant","content":"`+long+`"}`, huge, 1)
		_, wantErr := v.Admit(schemas.APIOpenAIChat, []byte(edited))
		a, ok, err := v.AdmitEdited(base, Edit{Old: []byte(`{"role":"assistant","content":"` + long + `"}`), New: []byte(huge)})
		var got, want *RequestError
		if !ok || a != nil || !errors.As(err, &got) || !errors.As(wantErr, &want) || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v, ok %v, %v; want Admit's %v", tt.name, a, ok, err, wantErr)
		}
	}
}
