package main

import (
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/agentperf/agentperf/internal/fakeengine"
	"github.com/agentperf/agentperf/internal/testutil"
	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/target"
)

// TestReplayRefusesMissingModel imports the Mooncake sample (no model
// names) and replays it with the built binary against a target without
// --model: replay refuses before any request, naming the flag, and leaves
// no results file; with --model it sends.
func TestReplayRefusesMissingModel(t *testing.T) {
	dir := t.TempDir()
	traces := filepath.Join(dir, "mooncake")
	if _, stderr, code := testutil.Run(t, "import", "-f", "mooncake", testutil.MooncakeSample(t), "-o", traces); code != 0 {
		t.Fatalf("import: exit %d: %s", code, stderr)
	}
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Error(w, `{"error":{"message":"model is required"}}`, http.StatusBadRequest)
	}))
	defer srv.Close()
	out := filepath.Join(dir, "r.parquet")
	_, stderr, code := testutil.Run(t, "replay", "--traces", traces, "--target", srv.URL, "--timestamps",
		"--time-scale", "1000", "--duration", "1s", "--out", out, "-q")
	if code != 2 || !strings.Contains(stderr, "--model") || !strings.Contains(stderr, "name no model") {
		t.Errorf("exit %d, stderr %q; want exit 2 naming --model", code, stderr)
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("%d requests sent before refusing, want 0", n)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("results file left behind: %v", err)
	}
	// With --model the same command sends (without the probe, which would
	// refuse a target that answers every request with an error).
	// --duration is world time: 300 s at --time-scale 1000 is 0.3 s of
	// wall time, room for the first sends on a loaded machine.
	_, stderr, code = testutil.Run(t, "replay", "--traces", traces, "--target", srv.URL, "--model", "kimi-k2", "--timestamps",
		"--time-scale", "1000", "--duration", "300s", "--out", out, "-q", "--error-backoff", "1ms", "--no-probe")
	if code != 0 || requests.Load() == 0 {
		t.Errorf("with --model: exit %d, %d requests; stderr %s", code, requests.Load(), stderr)
	}
}

// TestReplayPrefixCacheSummary replays against the embedded simulator and
// checks that the summary and the metadata carry the target's prefix-cache
// hit rate beside the trace set's, and the conversation marker setting.
func TestReplayPrefixCacheSummary(t *testing.T) {
	traces := writeReplayTraces(t, 2, 3)
	out := filepath.Join(t.TempDir(), "results.parquet")
	stdout, stderr, code := runIn("replay", "--traces", traces, "--users", "4",
		"--warmup", "2s", "--duration", "20s", "--out", out, "--quiet")
	if code != 0 {
		t.Fatalf("replay: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "prefix cache, level 0: target ") || !strings.Contains(stdout, "trace set ") {
		t.Errorf("summary lacks the prefix-cache line:\n%s", stdout)
	}
	rf, err := schemas.OpenResults(out)
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	m := rf.RunMeta()
	if m.ConversationMarker != "on" || m.KeepRequestMetadata || len(m.Levels) != 1 || m.Levels[0].PrefixCache == nil ||
		m.Levels[0].PrefixCache.TargetRequests == 0 {
		t.Errorf("metadata: conversation_marker %q keep_request_metadata %v levels %+v", m.ConversationMarker, m.KeepRequestMetadata, m.Levels)
	}
	for _, bad := range [][]string{{"--conversation-marker", "sometimes"}, {"--memory-limit", "lots"}} {
		_, stderr, code := runIn(append([]string{"replay", "--traces", traces, "--out", out + ".bad"}, bad...)...)
		if code != 2 || !strings.Contains(stderr, bad[0]) {
			t.Errorf("%v: exit %d, stderr %q; want a usage error naming the flag", bad, code, stderr)
		}
	}
}

// TestParseByteSize reads memory limits in GOMEMLIMIT's syntax.
func TestParseByteSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"384MiB", 384 << 20, true}, {"2GiB", 2 << 30, true}, {"1024", 1024, true}, {"0", 0, true},
		{"512KiB", 512 << 10, true}, {"1TiB", 1 << 40, true}, {"100B", 100, true},
		{"", 0, false}, {"-1MiB", 0, false}, {"1.5GiB", 0, false}, {"lots", 0, false}, {"9999999TiB", 0, false},
	} {
		got, err := parseByteSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseByteSize(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// TestMemoryLimit checks the tuner: never below the floor, twice the live
// heap when that is more, re-armed after collections, and GOMEMLIMIT in
// the environment wins.
func TestMemoryLimit(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	if got := newMemoryTuner(1 << 40).limit(); got != 1<<40 {
		t.Errorf("limit %d with a 1 TiB floor, want the floor", got)
	}
	live := make([]byte, 64<<20)
	runtime.GC()
	if got := newMemoryTuner(1 << 20).limit(); got < 2*64<<20 {
		t.Errorf("limit %d with 64 MiB live and a 1 MiB floor, want ≥ 128 MiB", got)
	}
	runtime.KeepAlive(live)

	stop := startMemoryLimit(3<<40, func(string) string { return "" })
	runtime.GC()
	runtime.GC()
	if got := debug.SetMemoryLimit(-1); got != 3<<40 {
		t.Errorf("limit %d after start and two collections, want the 3 TiB floor", got)
	}
	stop()
	debug.SetMemoryLimit(math.MaxInt64)
	startMemoryLimit(3<<40, func(k string) string { return map[string]string{"GOMEMLIMIT": "1GiB"}[k] })()
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("limit %d with GOMEMLIMIT set, want it left alone", got)
	}
}

// TestReplayRunMarkers replays twice against one fake vLLM with the built
// binary: runs with different --run-id send different conversation
// markers (a server's prefix cache outlives a run, so a second run must not
// hit the first one's conversations), and the same --run-id sends the same
// ones again.
func TestReplayRunMarkers(t *testing.T) {
	traces := writeReplayTraces(t, 1, 2)
	srv := fakeengine.New(target.EngineVLLM, fakeengine.Options{Model: "gpt-oss-120b"})
	defer srv.Close()
	markers := func(runID string) map[string]bool {
		t.Helper()
		before := len(srv.Requests())
		out := filepath.Join(t.TempDir(), "results.parquet")
		if _, stderr, code := testutil.Run(t, "replay", "--traces", traces, "--target", srv.Base(), "--users", "1",
			"--warmup", "0s", "--duration", "300ms", "--think-scale", "0", "--no-probe", "--run-id", runID,
			"--out", out, "--quiet"); code != 0 {
			t.Fatalf("replay --run-id %s: exit %d: %s", runID, code, stderr)
		}
		rf, err := schemas.OpenResults(out)
		if err != nil {
			t.Fatal(err)
		}
		if m := rf.RunMeta(); m.RunID != runID || m.ConversationMarker != "on" || !m.ConversationMarkerRun {
			t.Errorf("metadata: run_id %q conversation_marker %q conversation_marker_run %v; want %s, on, true",
				m.RunID, m.ConversationMarker, m.ConversationMarkerRun, runID)
		}
		rf.Close()
		seen := map[string]bool{}
		for _, r := range srv.Requests()[before:] {
			if m := conversationMarker.Find(r.Body); m != nil {
				seen[string(m)] = true
			}
		}
		if len(seen) == 0 {
			t.Fatalf("run %s sent no conversation marker", runID)
		}
		return seen
	}
	a, b, again := markers("run-a"), markers("run-b"), markers("run-a")
	for m := range b {
		if a[m] {
			t.Errorf("runs run-a and run-b both sent %s", m)
		}
	}
	for m := range again {
		if !a[m] {
			t.Errorf("run-a sent %s the second time, not the first", m)
		}
	}
}

var conversationMarker = regexp.MustCompile(`\[conversation [0-9a-f]{12}\]`)
