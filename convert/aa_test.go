package convert

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/schemas"
)

const aaFixture = "testdata/aa/two-conversations.jsonl"

// readAALines parses an AA JSONL file into generic maps, one per line.
func readAALines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, m)
	}
	return out
}

// sameJSON reports whether a and b have the same canonical JSON.
func sameJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ca, err := schemas.Canonical(mustMarshal(a))
	if err != nil {
		t.Fatal(err)
	}
	cb, err := schemas.Canonical(mustMarshal(b))
	if err != nil {
		t.Fatal(err)
	}
	return string(ca) == string(cb)
}

func TestImportAAFixture(t *testing.T) {
	out := filepath.Join(t.TempDir(), "set")
	st, err := Import(context.Background(), aaFixture, out, ImportOptions{Format: FormatAAJSONL})
	if err != nil {
		t.Fatal(err)
	}
	if st.Sessions != 2 || st.Requests != 6 || st.Lines != 6 {
		t.Errorf("stats %+v, want 2 sessions, 6 requests, 6 lines", st)
	}
	lines := readAALines(t, aaFixture)
	byTurn := map[sessionTurn]map[string]any{}
	for _, l := range lines {
		byTurn[sessionTurn{l["conversation_id"].(string), int32(l["conversation_idx"].(float64))}] = l
	}
	ts, err := schemas.OpenTraceSet(out, schemas.TraceSetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	n := 0
	err = ts.Requests(func(r *schemas.Request) error {
		n++
		l := byTurn[sessionTurn{r.SessionID, r.Turn}]
		if l == nil {
			t.Fatalf("request %s/%d has no line", r.SessionID, r.Turn)
		}
		body, err := ts.Body(nil, r)
		if err != nil {
			return err
		}
		var req map[string]any
		if err := json.Unmarshal(body, &req); err != nil {
			t.Fatal(err)
		}
		if !sameJSON(t, req["messages"], l["messages"]) || !sameJSON(t, req["tools"], l["tools"]) {
			t.Errorf("%s/%d: messages or tools differ from the line", r.SessionID, r.Turn)
		}
		if req["max_tokens"] != l["max_output_tokens"] || req["stream"] != true || r.API != schemas.APIOpenAIChat {
			t.Errorf("%s/%d: max_tokens %v stream %v api %s", r.SessionID, r.Turn, req["max_tokens"], req["stream"], r.API)
		}
		if got, want := int(r.OutputTokens), int(l["target_output_tokens"].(float64)); got != want {
			t.Errorf("%s/%d: output tokens %d, want %d", r.SessionID, r.Turn, got, want)
		}
		if r.UsageInput == nil || *r.UsageInput != int64(l["recorded_prompt_tokens"].(float64)) ||
			r.UsageOutput == nil || *r.UsageOutput != int64(l["recorded_completion_tokens"].(float64)) {
			t.Errorf("%s/%d: usage %v/%v", r.SessionID, r.Turn, r.UsageInput, r.UsageOutput)
		}
		wantThink := int64(0)
		if prev := byTurn[sessionTurn{r.SessionID, r.Turn - 1}]; prev != nil {
			wantThink = int64(prev["simulated_tool_delay_ms_after"].(float64) * 1e6)
		}
		if r.ThinkNS != wantThink {
			t.Errorf("%s/%d: think %d ns, want %d", r.SessionID, r.Turn, r.ThinkNS, wantThink)
		}
		// The response is the next line's new assistant message; the last
		// turn of a conversation has none.
		next := byTurn[sessionTurn{r.SessionID, r.Turn + 1}]
		if next == nil {
			if len(r.Response) != 0 {
				t.Errorf("%s/%d: last turn has a response", r.SessionID, r.Turn)
			}
			return nil
		}
		if len(r.Response) != 1 {
			t.Fatalf("%s/%d: %d response blobs, want 1", r.SessionID, r.Turn, len(r.Response))
		}
		b, err := ts.Blob(r.Response[0])
		if err != nil {
			return err
		}
		var resp any
		json.Unmarshal([]byte(b.Body), &resp)
		want := next["messages"].([]any)[len(l["messages"].([]any))]
		if !sameJSON(t, resp, want) {
			t.Errorf("%s/%d: response %s, want %v", r.SessionID, r.Turn, b.Body, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 6 {
		t.Errorf("%d requests", n)
	}
}

// TestAAExportImport checks export(import(fixture)): every field comes
// back as it was (the source of an imported line is its own, not
// agentperf-export).
func TestAAExportImport(t *testing.T) {
	dir := t.TempDir()
	set := filepath.Join(dir, "set")
	if _, err := Import(context.Background(), aaFixture, set, ImportOptions{Format: FormatAAJSONL}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.jsonl")
	st, err := Export(context.Background(), set, out, nil, ExportOptions{Format: FormatAAJSONL})
	if err != nil {
		t.Fatal(err)
	}
	if st.Requests != 6 || st.Sessions != 2 || st.Translated != 0 || st.Skipped != 0 {
		t.Errorf("stats %+v", st)
	}
	want := map[sessionTurn]map[string]any{}
	for _, l := range readAALines(t, aaFixture) {
		want[sessionTurn{l["conversation_id"].(string), int32(l["conversation_idx"].(float64))}] = l
	}
	got := readAALines(t, out)
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d", len(got), len(want))
	}
	for _, g := range got {
		k := sessionTurn{g["conversation_id"].(string), int32(g["conversation_idx"].(float64))}
		w := want[k]
		if w == nil {
			t.Fatalf("unexpected line %v", k)
		}
		for _, f := range []string{"version", "turn_id", "task_id", "messages", "tools", "target_output_tokens", "max_output_tokens",
			"simulated_tool_delay_ms_after", "recorded_tool_calls_after", "recorded_prompt_tokens", "recorded_completion_tokens",
			"recorded_model_duration_ms", "source"} {
			if !sameJSON(t, g[f], w[f]) {
				t.Errorf("%v: %s = %v, want %v", k, f, g[f], w[f])
			}
		}
	}
}

func TestParseAALine(t *testing.T) {
	ok := `{"version":1,"conversation_id":"c","conversation_idx":0,"messages":[{"role":"user","content":"hi"}],"simulated_tool_delay_ms_after":1.5}`
	tests := []struct {
		line    string
		wantErr string
	}{
		{ok, ""},
		{`{"conversation_id":"c","conversation_idx":2,"messages":[{"role":"user","content":"hi"}]}`, ""},
		{`{"version":2,"conversation_id":"c","conversation_idx":0,"messages":[{"role":"user","content":"hi"}]}`, "version 2 is not supported"},
		{`{"timestamp":0,"input_length":5,"output_length":1,"hash_ids":[1]}`, "not an AA replay line: missing conversation_id, conversation_idx, messages"},
		{`{"conversation_id":"c","conversation_idx":-1,"messages":[{"role":"user"}]}`, "conversation_idx -1 is negative"},
		{`{"conversation_id":"c","conversation_idx":0,"messages":["hi"]}`, "messages[0]: not a chat message object"},
		{`{"conversation_id":"c","conversation_idx":0,"messages":[{"role":"user"}],"simulated_tool_delay_ms_after":-3}`, "simulated_tool_delay_ms_after -3 out of range"},
		{`{"conversation_id":"c","conversation_idx":0,"messages":[{"role":"user"}],"target_output_tokens":-3}`, "target_output_tokens -3 out of range"},
		{`{"conversation_id":5,"conversation_idx":0,"messages":[]}`, "conversation_id: expected string, got JSON number"},
	}
	for _, tt := range tests {
		_, err := parseAALine([]byte(tt.line), nil)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("parse(%s): %v", tt.line, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("parse(%s) = %v, want error containing %q", tt.line, err, tt.wantErr)
		}
	}
}

func TestImportAAOutOfOrder(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	lines := `{"conversation_id":"c","conversation_idx":1,"messages":[{"role":"user","content":"a"}]}
{"conversation_id":"c","conversation_idx":0,"messages":[{"role":"user","content":"b"}]}
`
	os.WriteFile(in, []byte(lines), 0o644)
	_, err := Import(context.Background(), in, filepath.Join(dir, "set"), ImportOptions{Format: FormatAAJSONL})
	if err == nil || !strings.Contains(err.Error(), "in.jsonl:2: conversation \"c\": conversation_idx 0 comes after 1") {
		t.Errorf("err = %v, want the out-of-order line named", err)
	}
}

// orderedFields decodes a JSON object line into its keys in order and the
// canonical JSON of each value (numbers as written).
func orderedFields(t *testing.T, line []byte) ([]string, map[string]string) {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(string(line)))
	d.UseNumber()
	if _, err := d.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	vals := map[string]string{}
	for d.More() {
		k, _ := d.Token()
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			t.Fatal(err)
		}
		c, err := schemas.Canonical(v)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		vals[k.(string)] = string(c)
	}
	return keys, vals
}

// TestAALosslessRoundTrip imports AA JSONL and exports it again: every
// line comes back with the same fields in the same order and the same
// values, field by field — recorded_tool_calls_after, source, turn_id,
// task_id, a sparse conversation_idx, the last line's delay, null and zero
// values and fields AA does not define included — on a multi-turn file
// with tool calls and on the two-conversation fixture.
func TestAALosslessRoundTrip(t *testing.T) {
	for _, in := range []string{"testdata/aa/tool-calls.jsonl", aaFixture} {
		t.Run(filepath.Base(in), func(t *testing.T) {
			set := filepath.Join(t.TempDir(), "set")
			if _, err := Import(context.Background(), in, set, ImportOptions{Format: FormatAAJSONL}); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "back.jsonl")
			if _, err := Export(context.Background(), set, out, nil, ExportOptions{Format: FormatAAJSONL}); err != nil {
				t.Fatal(err)
			}
			read := func(p string) map[string][]byte {
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				byID := map[string][]byte{}
				for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
					var id struct {
						TurnID string `json:"turn_id"`
					}
					json.Unmarshal([]byte(l), &id)
					byID[id.TurnID] = []byte(l)
				}
				return byID
			}
			orig, back := read(in), read(out)
			if len(back) != len(orig) {
				t.Fatalf("%d lines back, want %d", len(back), len(orig))
			}
			for id, ol := range orig {
				bl, ok := back[id]
				if !ok {
					t.Errorf("turn_id %s missing after the round trip", id)
					continue
				}
				ok1, ov := orderedFields(t, ol)
				bk, bv := orderedFields(t, bl)
				if strings.Join(ok1, ",") != strings.Join(bk, ",") {
					t.Errorf("%s: fields %v, want %v", id, bk, ok1)
				}
				for _, k := range ok1 {
					if ov[k] != bv[k] {
						t.Errorf("%s: %s = %.120s, want %.120s", id, k, bv[k], ov[k])
					}
				}
			}
		})
	}
}
