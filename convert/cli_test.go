package convert

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/internal/testutil"
)

// agentperf runs the built binary (testutil.Run).
func agentperf(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return testutil.Run(t, args...)
}

// TestCLIMooncakeSample runs the built binary on the whole Mooncake sample
// (flags after the input, as in the docs): import, check the set, export,
// and compare the export with the sample byte for byte.
func TestCLIMooncakeSample(t *testing.T) {
	in := mooncakeSample(t)
	dir := t.TempDir()
	set := filepath.Join(dir, "mooncake")
	stdout, stderr, code := agentperf(t, "import", "--format", "mooncake", in, "--out", set)
	if code != 0 {
		t.Fatalf("import exit %d: %s%s", code, stdout, stderr)
	}
	m := regexp.MustCompile(`imported 3993 requests in (\d+) sessions from 1 file\(s\), 3993 lines`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("import summary: %s", stdout)
	}
	t.Logf("%s", strings.TrimSpace(stdout))
	nSessions, _ := strconv.Atoi(m[1])
	if !raceBuild {
		// Slow under -race; TestImportMooncakeSample runs the same checks
		// on a prefix, and the byte-exact export below covers lengths,
		// times and block structure of the whole sample.
		checkMooncakeImport(t, in, set, nSessions)
	} else if s := readSessions(t, set); len(s) != nSessions {
		t.Errorf("%d sessions in the set, import said %d", len(s), nSessions)
	}

	if src, err := os.Stat(in); err == nil {
		var size int64
		for _, f := range []string{"sessions.parquet", "requests.parquet", "blobs.parquet"} {
			st, err := os.Stat(filepath.Join(set, f))
			if err != nil {
				t.Fatal(err)
			}
			size += st.Size()
		}
		// Filler blocks are stored as recipes; with their text the set
		// was 39 MB, 34× the sample.
		if size > 10*src.Size() {
			t.Errorf("trace set %d bytes, %.1f× the %d-byte sample; want ≤ 10×", size, float64(size)/float64(src.Size()), src.Size())
		}
	}

	back := filepath.Join(dir, "back.jsonl")
	stdout, stderr, code = agentperf(t, "export", "--format", "mooncake", set, "--out", back)
	if code != 0 || !strings.Contains(stdout, "exported 3993 requests") {
		t.Fatalf("export exit %d: %s%s", code, stdout, stderr)
	}
	got, _ := os.ReadFile(back)
	want, _ := os.ReadFile(in)
	if !bytes.Equal(got, want) {
		t.Errorf("export(import(sample)) differs from the sample (%d vs %d bytes)", len(got), len(want))
	}
}

// TestCLIBadInput checks exit codes and messages for bad input through the
// binary.
func TestCLIBadInput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	os.WriteFile(in, withLine(t, fixtureFiles[FormatMooncake].path, 2, `not json`), 0o644)
	set := filepath.Join(dir, "set")

	_, stderr, code := agentperf(t, "import", "-f", "mooncake", "--out", set, in)
	if code != 1 || !strings.Contains(stderr, "in.jsonl:2: invalid JSON") {
		t.Errorf("broken line: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(set); err == nil {
		t.Error("output left after a failed import")
	}
	stdout, stderr, code := agentperf(t, "import", "-f", "mooncake", in, "-o", set, "--skip-bad")
	if code != 0 || !strings.Contains(stdout, "imported 6 requests") || !strings.Contains(stdout, "skipped 1 bad line(s)") || !strings.Contains(stdout, "in.jsonl:2:") {
		t.Errorf("--skip-bad: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	_, stderr, code = agentperf(t, "import", "-f", "mooncake", in, "-o", set, "--skip-bad")
	if code != 1 || !strings.Contains(stderr, "output already exists") {
		t.Errorf("existing output: exit %d, stderr %q", code, stderr)
	}
	_, stderr, code = agentperf(t, "import", in, "--out", set)
	if code != 2 || !strings.Contains(stderr, "--format") {
		t.Errorf("no --format: exit %d, stderr %q", code, stderr)
	}
	_, stderr, code = agentperf(t, "import", "-f", "mooncake", in, "--out", set, "--no-such")
	if code != 2 {
		t.Errorf("unknown trailing flag: exit %d, stderr %q", code, stderr)
	}
	// Export to stdout: data on stdout, summary on stderr.
	stdout, stderr, code = agentperf(t, "export", "--format", "mooncake", set)
	if code != 0 || strings.Count(stdout, "\n") != 6 || !strings.Contains(stderr, "exported 6 requests") {
		t.Errorf("export to stdout: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
