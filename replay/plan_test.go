package replay

import (
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/schemas"
)

// writeRecipeTraces writes a trace set shaped like a Mooncake import: one
// session of turns turns, turn k's prompt k+1 generated user messages of n
// tokens each (filler recipes), no model name.
func writeRecipeTraces(t testing.TB, turns, n int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "recipes")
	w, err := schemas.CreateTraceSet(dir, schemas.TraceWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.SetSession(schemas.Session{ID: "mooncake-000001", Source: schemas.SourceSynth, Agent: "mooncake"})
	var parts []schemas.Part
	for k := 0; k < turns; k++ {
		parts = append(parts, schemas.Part{Kind: schemas.KindMessage, Recipe: schemas.FillerMessage(uint64(k+1), n), Tokens: n})
		if _, err := w.WriteTurn(&schemas.Turn{SessionID: "mooncake-000001", API: schemas.APIOpenAIChat,
			Params: []byte(`{"max_tokens":20,"stream":true}`), Parts: parts, OutputTokens: 20,
			StartNS: int64(k+1) * 1e9}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestPlanOnDemand checks that a plan holds ids, not text, and that the
// bodies it builds per send equal the trace set's own rebuild.
func TestPlanOnDemand(t *testing.T) {
	for _, dir := range []string{
		writeTraces(t, traceSpec{sessions: 2, turns: 3, pad: 600}),
		writeRecipeTraces(t, 4, 300),
	} {
		ts, err := schemas.OpenTraceSet(dir, schemas.TraceSetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer ts.Close()
		plan, err := LoadPlan(ts, PlanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{}
		err = ts.Requests(func(r *schemas.Request) error {
			b, err := ts.Body(nil, r)
			want[r.SessionID+"/"+strconv.Itoa(int(r.Turn))] = string(b)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range plan.Sessions {
			for _, tr := range s.Turns {
				if len(tr.HashIDs) == 0 || tr.LocalInput <= 0 {
					t.Errorf("%s/%d: hash ids %d, local input %d", s.ID, tr.Index, len(tr.HashIDs), tr.LocalInput)
				}
				parts, err := plan.Parts(nil, tr)
				if err != nil {
					t.Fatal(err)
				}
				got := schemas.Rebuild(nil, tr.API, []byte(tr.Params), parts)
				if w := want[s.ID+"/"+strconv.Itoa(int(tr.Index))]; string(got) != w {
					t.Errorf("%s/%d: body\n%.200s\nwant\n%.200s", s.ID, tr.Index, got, w)
				}
			}
		}
	}
}

// TestCheckModel: a plan whose requests name no model refuses an empty
// model, and accepts one given.
func TestCheckModel(t *testing.T) {
	plan := loadPlan(t, writeRecipeTraces(t, 3, 100), PlanOptions{})
	if plan.NoModel != 3 {
		t.Fatalf("NoModel = %d, want 3", plan.NoModel)
	}
	err := plan.CheckModel("")
	if !errors.Is(err, ErrNoModel) || !strings.Contains(err.Error(), "3 of the 3 requests") {
		t.Errorf("CheckModel(\"\") = %v, want ErrNoModel with the count", err)
	}
	if err := plan.CheckModel("kimi"); err != nil {
		t.Errorf("CheckModel(kimi) = %v", err)
	}
	named := loadPlan(t, writeTraces(t, traceSpec{sessions: 1, turns: 2}), PlanOptions{})
	if named.NoModel != 0 || named.CheckModel("") != nil {
		t.Errorf("a trace with model names: NoModel %d, CheckModel %v", named.NoModel, named.CheckModel(""))
	}
}

// TestOnlyModel: the model a plan's turns all name, "" when some name
// none or they name several.
func TestOnlyModel(t *testing.T) {
	turns := func(models ...string) *Plan {
		s := &Session{ID: "s"}
		for i, m := range models {
			s.Turns = append(s.Turns, &Turn{Session: s, Index: int32(i), Model: m})
		}
		return &Plan{Sessions: []*Session{s}}
	}
	for _, tc := range []struct {
		models []string
		want   string
	}{
		{[]string{"gpt-oss-120b", "gpt-oss-120b"}, "gpt-oss-120b"},
		{[]string{"gpt-oss-120b", ""}, ""},
		{[]string{"gpt-oss-120b", "deepseek-v3.2"}, ""},
		{nil, ""},
	} {
		if got := turns(tc.models...).OnlyModel(); got != tc.want {
			t.Errorf("models %q: OnlyModel %q, want %q", tc.models, got, tc.want)
		}
	}
}
