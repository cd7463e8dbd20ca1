package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/internal/testutil/golden"
)

// TestPlanCLI runs agentperf plan on two simulated systems with short
// levels: the table, CSV and JSON have one row per system and tier in the
// documented columns, the figures are the same on every run (golden
// files), and the HTML report and the results files are written. Bad
// hardware is a usage error.
func TestPlanCLI(t *testing.T) {
	traces := writeReplayTraces(t, 4, 3)
	dir := t.TempDir()
	args := func(format string) []string {
		return []string{"plan", "--traces", traces, "--hardware", "h100,b200", "--accelerators", "1",
			"--warmup", "5s", "--duration", "30s", "--search-max", "16", "--search-precision", "0.25",
			"--out", filepath.Join(dir, format), "--format", format}
	}
	for _, format := range []string{"table", "csv", "json"} {
		a := args(format)
		if format == "table" {
			a = append(a, "--html", filepath.Join(dir, "plan.html"))
		}
		stdout, stderr, code := runIn(a...)
		if code != 0 {
			t.Fatalf("plan --format %s: exit %d\n%s", format, code, stderr)
		}
		if !strings.Contains(stderr, "2 systems searched") {
			t.Errorf("stderr lacks the search summary:\n%s", stderr)
		}
		golden.Check(t, filepath.Join("testdata", "plan."+format), []byte(stdout))
		switch format {
		case "csv":
			lines := strings.Split(strings.TrimSpace(stdout), "\n")
			if got, want := lines[0], strings.Join(PlanColumns, ","); got != want {
				t.Errorf("csv header %q, want %q", got, want)
			}
			if len(lines) != 1+2*4 { // two systems × the model's four preset tiers
				t.Errorf("%d csv lines, want 9", len(lines))
			}
		case "json":
			var rows []map[string]string
			if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
				t.Fatal(err)
			}
			if len(rows) != 8 || rows[0]["hardware"] != "h100" || rows[7]["hardware"] != "b200" || rows[0]["max_users"] == "" {
				t.Errorf("json rows: %v", rows)
			}
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "plan.html")); err != nil || st.Size() == 0 {
		t.Errorf("html report: %v", err)
	}
	for _, f := range []string{"h100-1x.parquet", "h100-1x.power.parquet", "b200-1x.parquet", "b200-1x.power.parquet"} {
		if _, err := os.Stat(filepath.Join(dir, "csv", f)); err != nil {
			t.Errorf("results: %v", err)
		}
	}
	if _, stderr, code := runIn("plan", "--traces", traces, "--hardware", "h100,nosuchchip", "--out", filepath.Join(dir, "bad")); code != 2 || !strings.Contains(stderr, "nosuchchip") {
		t.Errorf("unknown hardware: exit %d, stderr %s", code, stderr)
	}
}
