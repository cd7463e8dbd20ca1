package schemas

import (
	"path/filepath"
	"slices"
	"testing"
)

func TestSpawnPrompts(t *testing.T) {
	tests := []struct {
		item string
		want []string
	}{
		{`{"role":"assistant","content":[{"type":"text","text":"I'll delegate."},{"type":"tool_use","id":"t1","name":"Task","input":{"description":"find","prompt":" Find the flaky test. ","subagent_type":"general-purpose"}},{"type":"tool_use","id":"t2","name":"Bash","input":{"command":"ls","prompt":"no"}}]}`, []string{"Find the flaky test."}},
		{`{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"Agent","input":{"prompt":"A"}},{"type":"tool_use","id":"t2","name":"Agent","input":{"prompt":"B"}}]}`, []string{"A", "B"}},
		{`{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"task","arguments":"{\"prompt\":\"Review the diff\"}"}}]}`, []string{"Review the diff"}},
		{`{"type":"function_call","call_id":"c","name":"task","arguments":"{\"prompt\":\"Write tests\"}"}`, []string{"Write tests"}},
		{`{"type":"function_call","call_id":"c","name":"shell","arguments":"{\"prompt\":\"x\"}"}`, nil},
		{`{"role":"assistant","content":"no tools; a prompt"}`, nil},
		{`not json "prompt"`, nil},
	}
	for _, tt := range tests {
		if got := SpawnPrompts([]byte(tt.item)); !slices.Equal(got, tt.want) {
			t.Errorf("SpawnPrompts(%s) = %q, want %q", tt.item, got, tt.want)
		}
	}
}

// TestSubAgentLinks writes a parent whose turn 1 spawns two sub-agents
// (parallel Task calls), one of which spawns its own, and a side call with
// a caller-given parent and no spawning call; it checks each session's
// parent, spawning turn and offset.
func TestSubAgentLinks(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "set")
	w, err := CreateTraceSet(dir, TraceWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	anth := func(sys, msgs string) []byte {
		return []byte(`{"model":"m","system":"` + sys + `","messages":[` + msgs + `]}`)
	}
	task := func(prompts ...string) []byte {
		c := ``
		for i, p := range prompts {
			if i > 0 {
				c += ","
			}
			c += `{"type":"tool_use","id":"t` + p + `","name":"Task","input":{"description":"d","prompt":"` + p + `"}}`
		}
		return []byte(`{"role":"assistant","content":[` + c + `]}`)
	}
	text := []byte(`{"role":"assistant","content":[{"type":"text","text":"done"}]}`)
	const s = int64(1e9)
	turns := []struct {
		session, parent string
		body            []byte
		resp            []byte
		start, end      int64
	}{
		{"main", "", anth("main", `{"role":"user","content":"fix it"}`), text, s / 2, 1 * s},
		{"main", "", anth("main", `{"role":"user","content":"fix it"},{"role":"assistant","content":"ok"},{"role":"user","content":"go on"}`), task("Search the code", "Run the tests"), 2 * s, 3 * s},
		{"px-a", "", anth("sub", `{"role":"user","content":[{"type":"text","text":"Search the code"}]}`), task("Read main.go"), 3*s + 100, 5 * s},
		{"px-b", "", anth("sub", `{"role":"user","content":"Run the tests"}`), text, 3*s + 200, 4 * s},
		{"main/1", "main", anth("sub", `{"role":"user","content":"Read main.go"}`), text, 5*s + 50, 6 * s},
		{"main/2", "main", anth("title", `{"role":"user","content":"make a title"}`), text, 2*s + 500, 2*s + 600},
		{"other", "", anth("x", `{"role":"user","content":"Search the code"}`), text, 9 * s, 10 * s}, // the call was consumed by px-a
	}
	for _, tt := range turns {
		w.SetSession(Session{ID: tt.session, Source: SourceProxy, Parent: tt.parent})
		if _, err := w.WriteTurn(&Turn{SessionID: tt.session, API: APIAnthropic, Body: tt.body, Response: [][]byte{tt.resp},
			StartNS: tt.start, EndNS: tt.end}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ts, err := OpenTraceSet(dir, TraceSetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	type link struct {
		parent string
		turn   int32 // -1 = nil
		offset int64
	}
	want := map[string]link{
		"main":   {"", -1, 0},
		"px-a":   {"main", 1, 100},
		"px-b":   {"main", 1, 200},
		"main/1": {"px-a", 0, 50}, // refined: px-a (in main's tree) spawned it
		"main/2": {"main", -1, 2*s + 500 - s/2},
		"other":  {"", -1, 0},
	}
	err = ts.Sessions(func(x *Session) error {
		got := link{x.Parent, -1, x.ParentOffsetNS}
		if x.ParentTurn != nil {
			got.turn = *x.ParentTurn
		}
		if got != want[x.ID] {
			t.Errorf("session %s: link %+v, want %+v", x.ID, got, want[x.ID])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
