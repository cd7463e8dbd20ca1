package target

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestParseSetting(t *testing.T) {
	tests := []struct {
		in      string
		path    []string
		value   string
		wantErr string
	}{
		{in: `reasoning_effort="high"`, path: []string{"reasoning_effort"}, value: `"high"`},
		{in: `chat_template_kwargs.thinking=true`, path: []string{"chat_template_kwargs", "thinking"}, value: `true`},
		{in: ` temperature = 0.7 `, path: []string{"temperature"}, value: `0.7`},
		{in: `reasoning={"effort": "high"}`, path: []string{"reasoning"}, value: `{"effort":"high"}`},
		{in: `reasoning_effort=high`, wantErr: `a string must be quoted: reasoning_effort="high"`},
		{in: `temperature`, wantErr: "no '='"},
		{in: `=1`, wantErr: "empty path"},
		{in: `a..b=1`, wantErr: "empty key"},
		{in: `a.=1`, wantErr: "empty key"},
		{in: `a=`, wantErr: "not JSON"},
		{in: `a={"x":`, wantErr: "not JSON"},
	}
	for _, tt := range tests {
		s, err := ParseSetting(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseSetting(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseSetting(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(s.Path, tt.path) || string(s.Value) != tt.value {
			t.Errorf("ParseSetting(%q) = %v %s, want %v %s", tt.in, s.Path, s.Value, tt.path, tt.value)
		}
	}
}

func TestApply(t *testing.T) {
	tests := []struct {
		name, body string
		set        []string
		want       string
		wantErr    string
	}{
		{name: "replace keeps order", body: `{"model":"m","temperature":1,"stream":true}`,
			set: []string{"temperature=0.7"}, want: `{"model":"m","temperature":0.7,"stream":true}`},
		{name: "append", body: `{"model":"m"}`, set: []string{`reasoning_effort="high"`},
			want: `{"model":"m","reasoning_effort":"high"}`},
		{name: "append to empty", body: `{ }`, set: []string{`a=1`}, want: `{ "a":1}`},
		{name: "empty body", body: ``, set: []string{`a=1`}, want: `{"a":1}`},
		{name: "create intermediates", body: `{"model":"m"}`, set: []string{`chat_template_kwargs.thinking=true`},
			want: `{"model":"m","chat_template_kwargs":{"thinking":true}}`},
		{name: "into existing object", body: `{"reasoning":{"summary":"auto"},"x":1}`, set: []string{`reasoning.effort="high"`},
			want: `{"reasoning":{"summary":"auto","effort":"high"},"x":1}`},
		{name: "replace nested", body: `{"reasoning":{"effort":"low"}}`, set: []string{`reasoning.effort="high"`},
			want: `{"reasoning":{"effort":"high"}}`},
		{name: "later wins", body: `{}`, set: []string{`a=1`, `a=2`}, want: `{"a":2}`},
		{name: "object replaced whole", body: `{"a":{"b":1}}`, set: []string{`a={"c":2}`}, want: `{"a":{"c":2}}`},
		{name: "keys in strings untouched", body: `{"messages":[{"content":"\"temperature\":1}"}],"temperature":1}`,
			set: []string{"temperature=0"}, want: `{"messages":[{"content":"\"temperature\":1}"}],"temperature":0}`},
		{name: "escaped key", body: `{"te\u006dperature":1}`, set: []string{"temperature=0"}, want: `{"te\u006dperature":0}`},
		{name: "duplicate keys: last", body: `{"a":1,"a":2}`, set: []string{"a=3"}, want: `{"a":1,"a":3}`},
		{name: "whitespace kept", body: "{\n  \"a\": 1,\n  \"b\": [1, 2]\n}", set: []string{"b=[]"}, want: "{\n  \"a\": 1,\n  \"b\": []\n}"},
		{name: "through a string", body: `{"reasoning":"high"}`, set: []string{`reasoning.effort="high"`},
			wantErr: "cannot set reasoning.effort: reasoning is a string"},
		{name: "through an array", body: `{"a":{"b":[1]}}`, set: []string{`a.b.c=1`},
			wantErr: "a.b is an array"},
		{name: "not an object", body: `[1]`, set: []string{"a=1"}, wantErr: "not a JSON object"},
		{name: "not JSON", body: `{"a":`, set: []string{"a=1"}, wantErr: "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ss, err := ParseSettings(tt.set)
			if err != nil {
				t.Fatal(err)
			}
			in := []byte(tt.body)
			orig := string(in)
			got, err := Apply(in, ss...)
			if string(in) != orig {
				t.Errorf("Apply modified its input: %s", in)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// lookup returns the value at path in a decoded JSON document.
func lookup(doc any, path []string) (any, bool) {
	for _, k := range path {
		m, ok := doc.(map[string]any)
		if !ok {
			return nil, false
		}
		if doc, ok = m[k]; !ok {
			return nil, false
		}
	}
	return doc, true
}

// FuzzApply checks that Apply never panics, emits valid JSON, stores the
// value at its path and keeps every other top-level key.
func FuzzApply(f *testing.F) {
	f.Add(`{"model":"m","temperature":1}`, "temperature", `0.7`)
	f.Add(`{"a":{"b":{"c":1}},"d":[1,{"e":"}"}]}`, "a.b.x", `{"y":[1,2]}`)
	f.Add(`{}`, "chat_template_kwargs.thinking", `true`)
	f.Add(`{"a":"x"}`, "a.b", `1`)
	f.Fuzz(func(t *testing.T, body, path, value string) {
		s, err := ParseSetting(path + "=" + value)
		if err != nil {
			return
		}
		out, err := Apply([]byte(body), s)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON out: %s", out)
		}
		var got, before any
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		v, ok := lookup(got, s.Path)
		if !ok {
			t.Fatalf("%s not found in %s", s, out)
		}
		var want any
		_ = json.Unmarshal(s.Value, &want)
		if !reflect.DeepEqual(v, want) {
			t.Fatalf("%s: got %v in %s", s, v, out)
		}
		if len(body) > 0 && json.Unmarshal([]byte(body), &before) == nil {
			if bm, ok := before.(map[string]any); ok {
				gm := got.(map[string]any)
				for k, bv := range bm {
					if k == s.Path[0] {
						continue
					}
					if !reflect.DeepEqual(gm[k], bv) {
						t.Fatalf("key %q changed: %v → %v", k, bv, gm[k])
					}
				}
			}
		}
	})
}

// BenchmarkApply measures two settings on a 100 KB agent-turn body (the
// cost per request if settings were applied per send rather than once per
// turn's params).
func BenchmarkApply(b *testing.B) {
	body := []byte(`{"model":"m","messages":[{"role":"user","content":"` + strings.Repeat("lorem ipsum ", 8500) + `"}],"stream":true}`)
	ss, _ := ParseSettings([]string{`reasoning_effort="high"`, `chat_template_kwargs.thinking=true`})
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Apply(body, ss...); err != nil {
			b.Fatal(err)
		}
	}
}
