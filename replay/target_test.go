package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentperf/agentperf/internal/fakeengine"
	"github.com/agentperf/agentperf/power"
	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/target"
)

// engineConfig is a short closed-loop run of dir against a fake engine,
// with the target described and probed, AA's sampling, the gpt-oss model
// preset and two settings of the user's.
func engineConfig(t *testing.T, dir string, srv *fakeengine.Server, settings ...string) Config {
	t.Helper()
	ss, err := target.ParseSettings(settings)
	if err != nil {
		t.Fatal(err)
	}
	return Config{Plan: loadPlan(t, dir, PlanOptions{}), Target: srv.Base(), Users: 2,
		Warmup: 20 * time.Millisecond, Steady: 200 * time.Millisecond,
		Shaping:  Shaping{Model: "gpt-oss-120b"},
		Describe: true, Probe: true, Sampling: "aa", Settings: ss}
}

// posted returns the JSON bodies the fake received on POST.
func posted(t *testing.T, srv *fakeengine.Server) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range srv.Requests() {
		if r.Method != http.MethodPost {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(r.Body, &m); err != nil {
			t.Fatalf("%s body is not JSON: %v", r.Path, err)
		}
		out = append(out, m)
	}
	return out
}

// TestEngines replays against the fake of each engine with the engine
// detected: the output is pinned to the recorded length (reasoning
// included), usage and cached tokens are read where the engine reports
// them, the probe passes, and the presets and settings reach the wire.
// TGI documents no pin: the probe refuses it under the exact policy and
// the cap policy runs.
func TestEngines(t *testing.T) {
	const out, cached, reasoning = 7, 5, 2
	dir := writeTraces(t, traceSpec{sessions: 2, turns: 3, out: out})
	for _, e := range fakeengine.Engines() {
		t.Run(string(e), func(t *testing.T) {
			srv := fakeengine.New(e, fakeengine.Options{Model: "gpt-oss-120b", Cached: cached, Reasoning: reasoning})
			defer srv.Close()
			cfg := engineConfig(t, dir, srv, "seed=7", "chat_template_kwargs.custom=true")
			if e == target.EngineTGI {
				_, err := Run(context.Background(), cfg, &memSink{})
				var refused *ProbeRefusedError
				if !errors.As(err, &refused) || !refused.PinIgnored() {
					t.Fatalf("TGI under the exact policy: got %v, want a refusal for the ignored pin", err)
				}
				cfg.Shaping.Output = OutputCap
			}
			rows, meta, _ := runToFile(t, context.Background(), cfg)
			if meta.Engine != string(e) || meta.EngineSource != engineDetected {
				t.Errorf("engine %q (%s), want %q detected", meta.Engine, meta.EngineSource, e)
			}
			if meta.Provenance == nil || meta.Provenance.Engine != string(e) || len(meta.Provenance.Endpoints) == 0 {
				t.Errorf("provenance %+v: want the engine's answers", meta.Provenance)
			}
			if e == target.EngineTGI && meta.Provenance.ModelRevision != "abc123" {
				t.Errorf("model revision %q, want TGI's model_sha abc123", meta.Provenance.ModelRevision)
			}
			if len(meta.Probe) != 1 || meta.Probe[0].Err != "" || !meta.Probe[0].Streamed {
				t.Fatalf("probe %+v: want one streamed result", meta.Probe)
			}
			if rs := meta.RequestSettings; rs == nil || rs.Sampling != "aa" || rs.ModelPreset != "gpt-oss-120b" || len(rs.User) != 2 {
				t.Errorf("request settings %+v: want aa, gpt-oss-120b and the two given", rs)
			}
			wantOut := int32(out)
			if e == target.EngineTGI {
				wantOut = 3 // the fake's natural answer: capped, not pinned
			}
			n := 0
			for _, r := range rows {
				if r.Error != "" {
					if strings.Contains(r.Error, "level ended") {
						continue
					}
					t.Fatalf("row error %q", r.Error)
				}
				n++
				if r.OutputTokens != wantOut {
					t.Fatalf("output %d tokens, want %d", r.OutputTokens, wantOut)
				}
				if e != target.EngineTGI && r.CachedTokens != cached {
					t.Fatalf("cached %d tokens, want %d (the engine's own field)", r.CachedTokens, cached)
				}
				if r.FirstTokenNS <= r.SentNS {
					t.Fatalf("first token %d not after the send %d", r.FirstTokenNS, r.SentNS)
				}
			}
			if n == 0 {
				t.Fatal("no completed request")
			}
			bodies := posted(t, srv)
			for _, b := range bodies {
				kw, _ := b["chat_template_kwargs"].(map[string]any)
				if b["seed"] != 7.0 || kw["custom"] != true || b["temperature"] != 0.7 || b["top_p"] != 0.8 || b["reasoning_effort"] != "high" {
					t.Fatalf("body lacks a setting or preset: seed %v kwargs %v temperature %v top_p %v effort %v",
						b["seed"], kw, b["temperature"], b["top_p"], b["reasoning_effort"])
				}
				_, topK := b["top_k"]
				if wantTopK := e != target.EngineTGI; topK != wantTopK {
					t.Fatalf("top_k sent %v, want %v (AA's sampling as the engine takes it)", topK, wantTopK)
				}
			}
		})
	}
}

// TestProbeRefusesIgnoredPin: a server that drops the pin fields is
// refused before any request of the run.
func TestProbeRefusesIgnoredPin(t *testing.T) {
	dir := writeTraces(t, traceSpec{sessions: 1, turns: 2, out: 9})
	srv := fakeengine.New(target.EngineVLLM, fakeengine.Options{Model: "gpt-oss-120b", IgnorePin: true})
	defer srv.Close()
	_, err := Run(context.Background(), engineConfig(t, dir, srv), &memSink{})
	var refused *ProbeRefusedError
	if !errors.As(err, &refused) || !refused.PinIgnored() {
		t.Fatalf("got %v, want a refusal for the ignored pin", err)
	}
	if got := len(posted(t, srv)); got != 1 {
		t.Errorf("%d requests posted, want the probe's alone", got)
	}
}

// TestTranslatedSettings: settings and presets reach the wire in each API
// the recorded turns are translated to.
func TestTranslatedSettings(t *testing.T) {
	for _, api := range []string{schemas.APIOpenAIChat, schemas.APIOpenAIResponses, schemas.APIAnthropic} {
		t.Run(api, func(t *testing.T) {
			from := schemas.APIAnthropic
			if api == schemas.APIAnthropic {
				from = schemas.APIOpenAIChat
			}
			dir := writeTraces(t, traceSpec{sessions: 1, turns: 2, api: from, out: 5})
			srv := fakeengine.New(target.EngineVLLM, fakeengine.Options{Model: "gpt-oss-120b"})
			defer srv.Close()
			cfg := engineConfig(t, dir, srv, "seed=11")
			cfg.API = api
			if api == schemas.APIAnthropic {
				cfg.Shaping.Output = OutputCap // vLLM's Messages endpoint takes no pin field
			}
			runToFile(t, context.Background(), cfg)
			want := map[string]func(map[string]any) any{
				schemas.APIOpenAIChat:      func(b map[string]any) any { return b["reasoning_effort"] },
				schemas.APIOpenAIResponses: func(b map[string]any) any { r, _ := b["reasoning"].(map[string]any); return r["effort"] },
				schemas.APIAnthropic:       func(b map[string]any) any { r, _ := b["output_config"].(map[string]any); return r["effort"] },
			}[api]
			bodies := posted(t, srv)
			if len(bodies) < 2 {
				t.Fatalf("%d bodies, want the probe's and the run's", len(bodies))
			}
			for _, b := range bodies {
				if b["seed"] != 11.0 || b["temperature"] != 0.7 || want(b) != "high" {
					t.Fatalf("body: seed %v temperature %v effort %v; want 11, 0.7, high", b["seed"], b["temperature"], want(b))
				}
			}
		})
	}
}

// TestContextFit: sessions whose later turns exceed the context are
// truncated, counted in the metadata, and no request fails; skipping every
// session, or the fail policy, refuses to run. The refusals read the
// context the target reports; the truncated run is given it, because the
// fake estimates prompts from body bytes, above the plan's token counts.
func TestContextFit(t *testing.T) {
	dir := writeTraces(t, traceSpec{sessions: 3, turns: 4, out: 8, pad: 300})
	p := loadPlan(t, dir, PlanOptions{})
	// The context fits turns 0 and 1 of each session, not turn 2.
	t1 := p.Sessions[0].Turns[1]
	t2 := p.Sessions[0].Turns[2]
	limit := int(t1.ExpectedInput+t1.ExpectedOutput+t2.ExpectedInput+t2.ExpectedOutput) / 2
	for _, tc := range []struct {
		policy                       target.ContextPolicy
		truncated, skipped, keptTurn int
	}{
		{target.ContextTruncate, 3, 0, 6},
		{target.ContextSkip, 0, 3, 0},
		{target.ContextFail, 0, 0, 0},
	} {
		t.Run(string(tc.policy), func(t *testing.T) {
			reported := limit
			if tc.policy == target.ContextTruncate {
				reported = 0 // the fake's default, 65536
			}
			srv := fakeengine.New(target.EngineVLLM, fakeengine.Options{Model: "gpt-oss-120b", Context: reported})
			defer srv.Close()
			cfg := engineConfig(t, dir, srv)
			cfg.ContextPolicy = tc.policy
			if tc.policy != target.ContextTruncate {
				_, err := Run(context.Background(), cfg, &memSink{})
				if err == nil || !strings.Contains(err.Error(), "context of") {
					t.Fatalf("got %v, want a refusal naming the context", err)
				}
				return
			}
			cfg.MaxContext = limit
			rows, meta, rep := runToFile(t, context.Background(), cfg)
			c := meta.Context
			if c == nil || c.Limit != limit || c.Truncated != tc.truncated || c.Skipped != tc.skipped || c.KeptTurns != tc.keptTurn {
				t.Fatalf("context %+v, want limit %d, %d truncated, %d skipped, %d turns kept", c, limit, tc.truncated, tc.skipped, tc.keptTurn)
			}
			if rep.Context == nil || *rep.Context != *c {
				t.Errorf("report context %+v, want the metadata's", rep.Context)
			}
			for _, r := range rows {
				if r.Turn >= 2 {
					t.Fatalf("turn %d of %s replayed beyond the context", r.Turn, r.SessionID)
				}
				if r.Error != "" && !strings.Contains(r.Error, "level ended") {
					t.Fatalf("row error %q", r.Error)
				}
			}
			if !strings.Contains(strings.Join(meta.Warnings, "\n"), "below the 65536 tokens AA-AgentPerf requires") {
				t.Errorf("warnings %q: want AA's context requirement", meta.Warnings)
			}
		})
	}
}

// TestPower: a fake dcgm-exporter and a power command that dies mid-run
// are sampled; the run completes, the samples are saved beside the
// results, and the dead command is a gap in the metadata and warnings.
func TestPower(t *testing.T) {
	var scrapes atomic.Int64
	dcgm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := scrapes.Add(1)
		fmt.Fprintf(w, "# TYPE DCGM_FI_DEV_POWER_USAGE gauge\n")
		for gpu := 0; gpu < 2; gpu++ {
			fmt.Fprintf(w, "DCGM_FI_DEV_POWER_USAGE{gpu=\"%d\",Hostname=\"n1\"} %d\n", gpu, 300+int(n%2)*100)
		}
	}))
	defer dcgm.Close()
	var sources []power.Source
	for _, spec := range []string{"prom+" + dcgm.URL + "/metrics?interval=20ms", "cmd(gpus=1,interval=20ms):sh -c 'echo 250; exit 3'"} {
		s, err := power.ParseSource(spec)
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, s)
	}
	dir := writeTraces(t, traceSpec{sessions: 2, turns: 2, out: 4})
	srv := fakeengine.New(target.EngineVLLM, fakeengine.Options{Model: "gpt-oss-120b"})
	defer srv.Close()
	cfg := engineConfig(t, dir, srv)
	path := filepath.Join(t.TempDir(), "results.parquet")
	cfg.Power, cfg.PowerFile = sources, schemas.PowerPath(path)
	rw, err := schemas.CreateResults(path, false)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), cfg, rw)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
	_, meta := readResults(t, path)
	pm := meta.Power
	if pm == nil || pm.File != filepath.Base(cfg.PowerFile) || len(pm.Sources) != 2 || pm.Samples == 0 {
		t.Fatalf("power metadata %+v: want two sources' samples in %s", pm, filepath.Base(cfg.PowerFile))
	}
	if len(pm.Gaps) == 0 || !strings.Contains(strings.Join(rep.Warnings, "\n"), "power:") {
		t.Errorf("gaps %q, warnings %q: want the dead command's gap reported", pm.Gaps, rep.Warnings)
	}
	rec, err := power.Load(cfg.PowerFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Samples) != pm.Samples {
		t.Errorf("file has %d samples, metadata says %d", len(rec.Samples), pm.Samples)
	}
	for _, s := range rec.Samples {
		if strings.HasPrefix(s.Source, "prom") && s.Watts != 600 && s.Watts != 800 {
			t.Fatalf("prom sample %g W, want 2 GPUs × 300 or 400 W", s.Watts)
		}
		if s.TimeNS < meta.Started.UnixNano()-int64(time.Second) {
			t.Fatalf("sample at %d before the run started (%s)", s.TimeNS, meta.Started)
		}
	}
}

// memSink keeps nothing: for runs refused before their first row.
type memSink struct{}

func (memSink) Write(*schemas.Result) error { return nil }
func (memSink) Flush() error                { return nil }
func (memSink) SetRunMeta(*schemas.RunMeta) {}
