package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentperf/agentperf/internal/testutil"
	"github.com/agentperf/agentperf/replay"
	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/sim"
)

// TestReplaySizingCLI replays the first 120 requests of the vendored
// Mooncake sample by their timestamps on the embedded simulator: on one
// H200 the run is overloaded and replay says so before (with the
// accelerators that would fit and the flag) and after (the level's TTFT);
// on eight it is not, and nothing is said. The estimate is in the
// metadata either way.
func TestReplaySizingCLI(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join(testutil.Root(), "testdata", "traces", "mooncake", "synthetic_trace.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfterN(data, []byte("\n"), 121)
	src := filepath.Join(dir, "mooncake.jsonl")
	if err := os.WriteFile(src, bytes.Join(lines[:120], nil), 0o644); err != nil {
		t.Fatal(err)
	}
	traces := filepath.Join(dir, "traces")
	if _, stderr, code := runIn("import", "-f", "mooncake", src, "-o", traces); code != 0 {
		t.Fatalf("import: exit %d\n%s", code, stderr)
	}

	cases := []struct {
		name        string
		args        []string
		overloaded  bool
		wantStderr  []string // substrings
		wantStdout  []string
		avoidStderr []string
	}{
		{"1×h200 overloaded", []string{"--accelerators", "1"}, true,
			[]string{"warning: sizing: the simulated deployment is overloaded", "1 × h200 (TP 1, 1 instance) serving gpt-oss-120b",
				"would keep it under 80 %", "--accelerators N"},
			[]string{"overloaded: level 0: TTFT p50", ", p95 ", "--accelerators N"}, nil},
		{"8×h200 fits", []string{"--accelerators", "8"}, false,
			nil, nil, []string{"warning", "overloaded"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "r.parquet")
			args := append([]string{"replay", "--traces", traces, "--timestamps", "--hardware", "h200", "--out", out, "--quiet"}, c.args...)
			stdout, stderr, code := runIn(args...)
			if code != 0 {
				t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
			}
			for _, w := range c.wantStderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			for _, w := range c.wantStdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			for _, w := range c.avoidStderr {
				if strings.Contains(stderr, w) || strings.Contains(stdout, w) {
					t.Errorf("output has %q:\nstdout %s\nstderr %s", w, stdout, stderr)
				}
			}
			rf, err := schemas.OpenResults(out)
			if err != nil {
				t.Fatal(err)
			}
			defer rf.Close()
			sz := rf.RunMeta().Sizing
			if sz == nil {
				t.Fatal("metadata: no sizing estimate")
			}
			if sz.Overloaded != c.overloaded || !(sz.RequestsPerSecond > 0) || sz.Summary == "" {
				t.Errorf("metadata sizing %+v, want overloaded %v", sz, c.overloaded)
			}
			if c.overloaded && sz.FitAccelerators <= 1 {
				t.Errorf("fit accelerators %d, want more than 1", sz.FitAccelerators)
			}
		})
	}
}

// TestReplaySizingQuietOnLightLoad: the small closed-loop run of
// TestReplayCLI's shape (short prompts, 1 s think times) gets no sizing
// warning.
func TestReplaySizingQuietOnLightLoad(t *testing.T) {
	traces := writeReplayTraces(t, 4, 3)
	out := filepath.Join(t.TempDir(), "r.parquet")
	stdout, stderr, code := runIn("replay", "--traces", traces, "--users", "3", "--warmup", "2s", "--duration", "20s", "--max-steady", "0", "--out", out, "--quiet")
	if code != 0 || strings.Contains(stderr, "sizing") || strings.Contains(stdout, "overloaded") {
		t.Errorf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	rf, err := schemas.OpenResults(out)
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	if sz := rf.RunMeta().Sizing; sz == nil || sz.Overloaded || !(sz.Utilization > 0 && sz.Utilization < 1) || sz.FitAccelerators != 1 {
		t.Errorf("metadata sizing %+v, want an estimate under 1 that one accelerator fits", sz)
	}
}

// TestSizingBefore: the warnings printed before a run, from a plan built
// in memory: overload, turns over the context (quiet when --max-context
// is given), and nothing for a light load.
func TestSizingBefore(t *testing.T) {
	sp, err := sim.Resolve(sim.Config{Hardware: "h200", Model: "gpt-oss-120b"})
	if err != nil {
		t.Fatal(err)
	}
	plan := func(in, out int32, think time.Duration) *replay.Plan {
		p := &replay.Plan{}
		for s := 0; s < 4; s++ {
			ss := &replay.Session{ID: fmt.Sprint(s)}
			for k := 0; k < 3; k++ {
				ss.Turns = append(ss.Turns, &replay.Turn{Session: ss, Index: int32(k), ExpectedInput: in, ExpectedOutput: out, ThinkNS: int64(think)})
				p.Turns++
			}
			p.Sessions = append(p.Sessions, ss)
		}
		return p
	}
	long := plan(1000, 10, time.Minute)
	long.Sessions[2].Turns[1].ExpectedInput = int32(sp.ContextTokens)
	cases := []struct {
		name  string
		cfg   replay.Config
		want  []string
		avoid []string
	}{
		{"overloaded", replay.Config{Plan: plan(30000, 500, time.Second), Sim: sp, Mode: replay.ModeClosed, Users: 100},
			[]string{"warning: sizing: the simulated deployment is overloaded", "1 × h200 (TP 1, 1 instance) serving gpt-oss-120b", "× h200 (TP 1) would keep it under 80 %", "on this sizing", "--accelerators N (or --hardware)", "users will wait on each other"},
			[]string{"turn needs", "turns need"}},
		{"over the context", replay.Config{Plan: long, Sim: sp, Mode: replay.ModeClosed, Users: 1},
			[]string{"1 turn needs more than the 131072 tokens of context", "--max-context 131072"}, []string{"overloaded"}},
		{"over the context, --max-context given", replay.Config{Plan: long, Sim: sp, Mode: replay.ModeClosed, Users: 1, MaxContext: 65536},
			nil, []string{"warning"}},
		{"light", replay.Config{Plan: plan(2000, 100, time.Minute), Sim: sp, Mode: replay.ModeClosed, Users: 2},
			nil, []string{"warning"}},
		{"real target", replay.Config{Plan: plan(30000, 500, time.Second), Mode: replay.ModeClosed, Users: 100},
			nil, []string{"warning"}},
	}
	for _, c := range cases {
		var b strings.Builder
		est := sizingBefore(&b, c.cfg)
		if (est == nil) != (c.cfg.Sim == nil) {
			t.Errorf("%s: estimate %+v", c.name, est)
		}
		for _, w := range c.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s: output lacks %q:\n%s", c.name, w, b.String())
			}
		}
		for _, w := range c.avoid {
			if strings.Contains(b.String(), w) {
				t.Errorf("%s: output has %q:\n%s", c.name, w, b.String())
			}
		}
	}
}
