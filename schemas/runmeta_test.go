package schemas

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agentperf/agentperf/internal/testutil"
)

// oldResults is a results file of schema 1.1 written by replay before the
// run metadata became one JSON value (a 3-level search on the embedded
// simulator).
func oldResults() string {
	return filepath.Join(testutil.Root(), "testdata", "results", "results-1.1.parquet")
}

func TestRunMetaRoundTrip(t *testing.T) {
	in := &RunMeta{
		RunID: "r1", Mode: "closed", Target: "sim", Model: "gpt-oss-120b", Accelerators: 8,
		Sim: &SimMeta{TP: 8, Instances: 1}, TimeScale: 15, Warmup: 30 * time.Second, Steady: 2 * time.Minute,
		Started: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC), Client: ClientMachine{GOMAXPROCS: 2, NumCPU: 2},
		Levels: []LevelMeta{{
			Index: 0, Users: 4, CompletedSessions: 12, SessionsByAgent: map[string]int{"claude code": 9, "codex": 3},
			CPUUtil: 0.3, Valid: false, Attempt: 1,
			Client:  &ClientHealth{Sends: 60, LagP99: 9 * time.Millisecond, DelayedLoad: 0.004, Reasons: []string{"a; b", "[c]"}},
			Verdict: &LevelVerdict{Pass: true, SpeedTokS: 181.5, TTFT: 90 * time.Millisecond},
		}},
		Search:   &SearchMeta{MaxUsers: 4, Tier: "100 tok/s", SpeedFloor: 100, TTFTCeiling: 5 * time.Second, Levels: 1},
		Warnings: []string{"one", "two\nlines"},
	}
	b, err := encodeRunMeta(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := decodeRunMeta(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip:\n got %+v\nwant %+v", out, in)
	}
	for _, bad := range []string{"", "{", `{"levels":[{"index":-1}]}`, `{} {}`, `[]`} {
		if _, err := decodeRunMeta([]byte(bad)); err == nil {
			t.Errorf("decodeRunMeta(%q): no error", bad)
		}
	}
}

// TestRunMetaFromSchema11 reads the run metadata of a results file written
// by replay at schema 1.1 (one footer key per value).
func TestRunMetaFromSchema11(t *testing.T) {
	rf, err := OpenResults(oldResults())
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	m := rf.RunMeta()
	if m.RunID != "fixture-1.1" || m.Target != "sim" || m.TimeScale != 20 || m.Steady != 20*time.Second ||
		m.Warmup != 5*time.Second || m.Accelerators != 1 || m.Hardware != "h200" || m.Sim == nil || m.Sim.TP != 1 {
		t.Errorf("run fields: %+v", m)
	}
	if len(m.Levels) != 3 {
		t.Fatalf("%d levels, want 3", len(m.Levels))
	}
	for i, l := range m.Levels {
		if l.Index != i || l.Users != []int{2, 4, 8}[i] || !l.Valid || l.CompletedSessions != 0 || l.SessionsByAgent == nil ||
			l.Verdict == nil || !l.Verdict.Pass || l.CPUUtil <= 0 || l.SteadyWindow != 20*time.Second {
			t.Errorf("level %d: %+v", i, l)
		}
	}
	if s := m.Search; s == nil || s.MaxUsers != 8 || s.Tier != "100 tok/s" || s.TTFTCeiling != 5*time.Second || s.Levels != 3 {
		t.Errorf("search: %+v", m.Search)
	}
	if m.Extra != nil {
		t.Errorf("keys not mapped to a field: %v", m.Extra)
	}
}

func TestRunMetaFromKeys(t *testing.T) {
	m := runMetaFromKeys(map[string]string{
		"duration": "2m", "level.3.valid": "false", "level.3.invalid_reasons": "[client lag p99 9ms > 5ms]",
		"level.3.sessions_by_agent": "map[claude-code:12 codex:8]", "level.0.invalid": "client CPU saturated",
		"level.1.sessions_by_agent": "map[a b:1]", "custom": "x", "time_scale": "fast",
	})
	if m.Steady != 2*time.Minute {
		t.Errorf("steady %v, want the duration key's 2m", m.Steady)
	}
	if l := m.Level(3); l == nil || l.Valid || !reflect.DeepEqual(l.Invalid, []string{"client lag p99 9ms > 5ms"}) ||
		!reflect.DeepEqual(l.SessionsByAgent, map[string]int{"claude-code": 12, "codex": 8}) || l.CompletedSessions != -1 {
		t.Errorf("level 3: %+v", l)
	}
	if l := m.Level(0); l == nil || l.Valid || !reflect.DeepEqual(l.Invalid, []string{"client CPU saturated"}) {
		t.Errorf("level 0: %+v", l)
	}
	want := map[string]string{"custom": "x", "time_scale": "fast", "level.1.sessions_by_agent": "map[a b:1]"}
	if !reflect.DeepEqual(m.Extra, want) {
		t.Errorf("extra %v, want %v", m.Extra, want)
	}
	if m.TimeScaleOrOne() != 1 {
		t.Errorf("time scale %v of an unparsable value, want 1", m.TimeScaleOrOne())
	}
}

// TestResultsRunMetaCorrupt: a footer whose run metadata is not JSON is a
// format error naming the file.
func TestResultsRunMetaCorrupt(t *testing.T) {
	p := filepath.Join(t.TempDir(), "r.parquet")
	w, err := CreateResults(p, false)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(&Result{RunID: "r", Status: 200})
	w.w.SetKeyValueMetadata(MetaRun, "{not json")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = OpenResults(p)
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "run metadata") {
		t.Errorf("OpenResults: %v", err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
}

// FuzzRunMeta checks the run-metadata decoder and the schema 1.1 key
// reader: any input decodes or fails with ErrFormat, never panics, and a
// decoded value encodes and decodes to itself.
func FuzzRunMeta(f *testing.F) {
	f.Add([]byte(`{"run_id":"r","levels":[{"index":0,"users":2,"sessions_by_agent":{"a":1}}]}`), "map[claude-code:12 codex:3]")
	f.Add([]byte(`{"levels":[{"index":-1}]}`), "map[]")
	f.Add([]byte(`null`), "map[a:b]")
	f.Fuzz(func(t *testing.T, data []byte, agents string) {
		m, err := decodeRunMeta(data)
		if err == nil {
			b, err := encodeRunMeta(m)
			if err != nil {
				t.Fatalf("encoding a decoded value: %v", err)
			}
			again, err := decodeRunMeta(b)
			if err != nil || !reflect.DeepEqual(again, m) {
				t.Fatalf("re-decoded %+v, %v; want %+v", again, err, m)
			}
		}
		old := runMetaFromKeys(map[string]string{"level.0.sessions_by_agent": agents, "level.0.users": agents})
		if l := old.Level(0); l == nil {
			t.Fatal("level 0 missing")
		} else if l.SessionsByAgent == nil && old.Extra["level.0.sessions_by_agent"] != agents && agents != "" {
			t.Errorf("unparsed agent counts %q not kept", agents)
		}
	})
}
