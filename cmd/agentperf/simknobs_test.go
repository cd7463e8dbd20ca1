package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/schemas"
)

// TestReplaySimKnobs: the simulator's knobs reach the virtual-time run's
// simulator (its metadata), and are refused with --target.
func TestReplaySimKnobs(t *testing.T) {
	traces := writeReplayTraces(t, 2, 3)
	out := filepath.Join(t.TempDir(), "results.parquet")
	_, stderr, code := runIn("replay", "--traces", traces, "--hardware", "h200", "--accelerators", "8", "--tp", "2",
		"--users", "2", "--warmup", "2s", "--duration", "20s", "--max-steady", "0", "--quiet", "--out", out)
	if code != 0 {
		t.Fatalf("replay --tp 2: exit %d\n%s", code, stderr)
	}
	rf, err := schemas.OpenResults(out)
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	if m := rf.RunMeta(); m.Sim == nil || m.Sim.TP != 2 || m.Sim.Instances != 4 || m.ResponseClock != "virtual" {
		t.Errorf("sim metadata %+v, response clock %q: want TP 2, 4 instances, virtual", m.Sim, m.ResponseClock)
	}
	_, stderr, code = runIn("replay", "--traces", traces, "--target", "http://127.0.0.1:1/v1", "--tp", "2", "--out", out+".2")
	if code != 2 || !strings.Contains(stderr, "--tp") {
		t.Errorf("--tp with --target: exit %d, stderr %s", code, stderr)
	}
}
