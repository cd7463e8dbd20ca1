package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/schemas"
)

// TestAnonymizeCLI runs agentperf anonymize in-process as a user would.
func TestAnonymizeCLI(t *testing.T) {
	in := writeReplayTraces(t, 4, 3)
	out := filepath.Join(t.TempDir(), "anon")
	stdout, stderr, code := runIn("anonymize", in, "--out", out, "--salt", "x")
	if code != 0 || !strings.Contains(stdout, "anonymized 4 sessions, 12 requests") {
		t.Fatalf("anonymize: exit %d\n%s\n%s", code, stdout, stderr)
	}
	ts, err := schemas.OpenTraceSet(out, schemas.TraceSetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	if ts.NumRequests() != 12 {
		t.Errorf("%d requests written", ts.NumRequests())
	}
	// Bad usage exits 2 with the fix in the message; an existing output
	// names the flags that avoid it.
	if _, stderr, code := runIn("anonymize", in); code != 2 || !strings.Contains(stderr, "--out") {
		t.Errorf("missing --out: exit %d, %s", code, stderr)
	}
	if _, stderr, code := runIn("anonymize", in, "--out", out); code != 1 || !strings.Contains(stderr, "--overwrite") {
		t.Errorf("existing --out: exit %d, %s", code, stderr)
	}
}
