package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/internal/testutil"
)

// runIn runs the CLI in-process: stdout, stderr and the exit code.
func runIn(args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	code := run(append([]string{"agentperf"}, args...), &out, &errb)
	return out.String(), errb.String(), code
}

// TestAnalyzeCLI runs agentperf analyze: formats, flags after arguments,
// directories, the HTML file, overrides, and bad input. Its input is the
// schema 1.1 results file of a 3-level search on the simulator.
func TestAnalyzeCLI(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "r.parquet")
	copyFile(t, filepath.Join(testutil.Root(), "testdata", "results", "results-1.1.parquet"), file)
	cat := filepath.Join(testutil.Root(), "analyze", "testdata", "catalog.yaml")

	out, stderr, code := runIn("analyze", file, "--catalog", cat, "--html", filepath.Join(dir, "r.html"))
	if code != 0 || !strings.Contains(out, "100 tok/s           100            5s                  ≥ 8                8") {
		t.Fatalf("table: exit %d\n%s\n%s", code, out, stderr)
	}
	if st, err := os.Stat(filepath.Join(dir, "r.html")); err != nil || st.Size() < 10000 {
		t.Errorf("--html file: %v", err)
	}

	// the directory stands for its *.parquet files
	out, stderr, code = runIn("analyze", "--catalog", cat, "--format", "json", dir)
	if code != 0 {
		t.Fatalf("json: exit %d: %s", code, stderr)
	}
	var rep struct {
		Sets []struct {
			System   string `json:"system"`
			Capacity []struct {
				MaxUsers int `json:"max_users"`
			} `json:"capacity"`
			Meta struct {
				RunID string `json:"run_id"`
			} `json:"meta"`
		} `json:"sets"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Sets) != 1 || rep.Sets[0].Capacity[0].MaxUsers != 8 || rep.Sets[0].Meta.RunID != "fixture-1.1" {
		t.Errorf("json via directory: %v %+v", err, rep)
	}

	// overrides: 4 accelerators of mi300x, tiers from a file
	tiers := filepath.Join(dir, "tiers.yaml")
	os.WriteFile(tiers, []byte("tiers:\n  - name: fast\n    speed_floor: 110\n    ttft_ceiling: 2s\n"), 0o644)
	out, stderr, code = runIn("analyze", file, "--hardware", "mi300x", "--accelerators", "4", "--tiers", tiers, "--format", "csv")
	if code != 0 || !strings.HasPrefix(out, "tier,speed_floor,ttft_ceiling,max_users,") || !strings.Contains(out, "fast,110,2,8,8,,above,8,2,2,,") {
		t.Errorf("overrides: exit %d\n%s\n%s", code, out, stderr)
	}

	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no files", []string{"analyze"}, 2, "at least one results file"},
		{"missing file", []string{"analyze", filepath.Join(dir, "nope.parquet")}, 1, "no such file"},
		{"not parquet", []string{"analyze", tiers}, 1, "not a readable Parquet file"},
		{"bad format", []string{"analyze", file, "--format", "xml"}, 2, "unknown --format"},
		{"bad table", []string{"analyze", file, "--table", "rows"}, 2, "unknown --table"},
		{"bad tiers", []string{"analyze", file, "--tiers", "llama"}, 2, "neither a preset"},
		{"bad hardware", []string{"analyze", file, "--hardware", "tpu9"}, 2, "unknown hardware"},
		{"bad accelerators", []string{"analyze", file, "--accelerators", "-1"}, 2, "--accelerators"},
		{"bad flag", []string{"analyze", file, "--colour"}, 2, "flag provided but not defined"},
		{"twice", []string{"analyze", file, file}, 1, "given twice"},
		{"bad sample", []string{"analyze", file, "--itl-sample", "2"}, 2, "--itl-sample"},
	} {
		_, stderr, code := runIn(c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d mentioning %q", c.name, code, stderr, c.code, c.want)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
