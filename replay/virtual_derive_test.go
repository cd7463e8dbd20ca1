package replay

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/sim"
	"github.com/agentperf/agentperf/synth"
)

// synthTraces writes a small synth trace set (real agent turns: system
// prompt, tools, a growing history of messages and tool results).
func synthTraces(t testing.TB, sessions int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "traces")
	if _, err := synth.Write(context.Background(), dir, synth.Options{Sessions: sessions, Seed: 3, MinTurns: 5, MaxTurns: 40}, synth.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// admissionOf is what a request's admission decides, as observed through
// sim's exported API: usage, the engine's request and the stream's
// reading.
type admissionOf struct {
	API                  string
	Prompt, Output       int
	Blocks               []int64
	Seed                 uint64
	Served               sim.Served
	Err                  string
	EngineTokens, Engout int
}

func observe(p *sim.Plan, a *sim.Admission, err error) admissionOf {
	if err != nil {
		return admissionOf{Err: err.Error()}
	}
	r := sim.NewVirtual(p).SubmitAdmission(a, 0)
	r.CachedTokens = 1024
	return admissionOf{API: a.APIName, Prompt: a.PromptTokens, Output: a.OutputTokens, Blocks: r.Blocks, Seed: r.Seed,
		Served: a.Served(r, true, true), EngineTokens: r.PromptTokens, Engout: r.OutputTokens}
}

// TestVirtualDerivedAdmissions checks, on every turn of a synth trace set
// sent in several conversations (marker; marker and cache salt), that the
// admission the virtual run derives from the turn's base admission
// (admitTurn) is the one of building and admitting the whole body, as the
// run did before deriving; and that it was derived, not admitted whole.
func TestVirtualDerivedAdmissions(t *testing.T) {
	dirs := map[string]string{
		"synth":     synthTraces(t, 4),
		"anthropic": writeTraces(t, traceSpec{sessions: 2, turns: 5, api: schemas.APIAnthropic, out: 40, pad: 2000}),
		"responses": writeTraces(t, traceSpec{sessions: 2, turns: 5, api: schemas.APIOpenAIResponses, out: 40, pad: 2000}),
	}
	for _, tt := range []struct{ set, salt string }{{"synth", ""}, {"synth", "run-{user}"}, {"anthropic", "a{user}"}, {"responses", ""}} {
		dir, salt := dirs[tt.set], tt.salt
		t.Run(tt.set+" salt="+salt, func(t *testing.T) {
			plan := loadPlan(t, dir, PlanOptions{})
			cfg := Config{Plan: plan, Shaping: Shaping{Model: "gpt-oss-120b"}, ConversationMarker: MarkerOn, CacheSalt: salt}
			b, err := newBuilder(cfg)
			if err != nil {
				t.Fatal(err)
			}
			sp := simPlan(t, sim.Config{Hardware: "h200", Model: "gpt-oss-120b", Accelerators: 8, Seed: 1})
			vt := newVirtualTarget(sp)
			whole := sim.NewVirtual(sp)
			turns := 0
			for _, s := range plan.Sessions {
				for user := range 3 {
					conv := b.conversation(1, user, user%2)
					var sc, scWhole saltCache
					for _, tn := range s.Turns {
						api, edits, at, err := b.prepareEdits(tn, conv, &sc, nil)
						if err != nil {
							t.Fatal(err)
						}
						if edits.n == 0 {
							t.Fatalf("session %s turn %d: no piece changed for the conversation", s.ID, tn.Index)
						}
						var parts []schemas.Part
						got, berr, err := vt.admitTurn(b, tn, api, edits, at, &parts)
						if berr != nil {
							t.Fatal(berr)
						}
						body, api2, _, err2 := b.build(nil, tn, conv, &scWhole, nil)
						if err2 != nil || api2 != api {
							t.Fatal(err2, api2)
						}
						want, werr := whole.Admit(api, body)
						if g, w := observe(sp, got, err), observe(sp, want, werr); !reflect.DeepEqual(g, w) {
							t.Fatalf("session %s turn %d user %d: derived admission\n%+v\nwant\n%+v", s.ID, tn.Index, user, g, w)
						}
						turns++
					}
				}
			}
			if len(vt.admissions) != 0 {
				t.Errorf("%d of %d bodies admitted whole, want all derived", len(vt.admissions), turns)
			}
			t.Logf("%d sends compared", turns)
		})
	}
}

// TestVirtualDerivedRows runs the same virtual-time levels with derived
// admissions and with every body admitted whole (the run before
// derivation): the rows are identical. Recorded Chat (synth), Anthropic
// and Responses turns, with a cache salt, and a run translating its turns
// to another API (admitted whole either way).
func TestVirtualDerivedRows(t *testing.T) {
	synthDir := synthTraces(t, 6)
	for _, tt := range []struct {
		name string
		dir  string
		cfg  Config
	}{
		{"synth", synthDir, Config{Users: 6}},
		{"synth salted", synthDir, Config{Users: 4, CacheSalt: "s{user}-{pass}"}},
		{"synth to anthropic", synthDir, Config{Users: 3, API: schemas.APIAnthropic}},
		{"anthropic", writeTraces(t, traceSpec{sessions: 4, turns: 6, api: schemas.APIAnthropic, think: time.Second, out: 40, pad: 2000}), Config{Users: 4}},
		{"responses", writeTraces(t, traceSpec{sessions: 4, turns: 6, api: schemas.APIOpenAIResponses, think: time.Second, out: 40, pad: 2000}), Config{Users: 4}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var runs [2][]schemas.Result
			for i := range runs {
				deriveAdmissions = i == 0
				cfg := tt.cfg
				cfg.Plan = loadPlan(t, tt.dir, PlanOptions{})
				cfg.Sim = simPlan(t, sim.Config{Hardware: "h200", Model: "gpt-oss-120b", Accelerators: 8, Seed: 1})
				cfg.Shaping = Shaping{Model: "gpt-oss-120b"}
				cfg.Warmup, cfg.Steady, cfg.MaxSteady = 20*time.Second, 2*time.Minute, -1
				rows, _, _ := runToFile(t, context.Background(), cfg)
				runs[i] = normalized(rows)
			}
			deriveAdmissions = true
			if len(runs[0]) == 0 {
				t.Fatal("no rows")
			}
			if len(runs[0]) != len(runs[1]) {
				t.Fatalf("%d rows derived, %d admitted whole", len(runs[0]), len(runs[1]))
			}
			for i := range runs[0] {
				if !reflect.DeepEqual(runs[0][i], runs[1][i]) {
					t.Fatalf("row %d differs:\nderived %+v\nwhole   %+v", i, runs[0][i], runs[1][i])
				}
			}
			errs := 0
			for _, r := range runs[0] {
				if r.Error != "" {
					errs++
				}
			}
			t.Log(fmt.Sprintf("%d rows identical, %d with an error", len(runs[0]), errs))
		})
	}
	deriveAdmissions = true
}
