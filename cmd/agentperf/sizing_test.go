package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/internal/testutil"
	"github.com/agentperf/agentperf/schemas"
)

// TestReplaySizingCLI replays the first 400 requests of the vendored
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
	lines := bytes.SplitAfterN(data, []byte("\n"), 401)
	src := filepath.Join(dir, "mooncake.jsonl")
	if err := os.WriteFile(src, bytes.Join(lines[:400], nil), 0o644); err != nil {
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
				"would keep it under 80 %", "--accelerators N", "1 turn needs more than the 131072 tokens", "--max-context 131072"},
			[]string{"overloaded: level 0: TTFT p50", ", p95 ", "--accelerators N"}, nil},
		{"8×h200 fits", []string{"--accelerators", "8", "--max-context", "131072"}, false,
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
