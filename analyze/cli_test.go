package analyze

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/internal/testutil"
)

// runCLI runs the built binary (testutil.Run).
func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return testutil.Run(t, args...)
}

// TestCLI runs agentperf analyze end to end: formats, flags after
// arguments, directories, the HTML file, overrides, and bad input.
func TestCLI(t *testing.T) {
	dir := t.TempDir()
	files := goldenFixtures(t, dir)
	cat := filepath.Join("testdata", "catalog.yaml")

	out, stderr, code := runCLI(t, "analyze", files[0], "--catalog", cat, "--html", filepath.Join(dir, "r.html"))
	if code != 0 || !strings.Contains(out, "100 tok/s           100            5s         16") {
		t.Fatalf("table: exit %d\n%s\n%s", code, out, stderr)
	}
	if st, err := os.Stat(filepath.Join(dir, "r.html")); err != nil || st.Size() < 10000 {
		t.Errorf("--html file: %v", err)
	}

	// the directory stands for its three files: same as the golden JSON
	out, stderr, code = runCLI(t, "analyze", "--catalog", cat, "--format", "json", dir)
	if code != 0 {
		t.Fatalf("json: exit %d: %s", code, stderr)
	}
	var rep struct {
		Sets []struct {
			System   string `json:"system"`
			Capacity []struct {
				MaxUsers int `json:"max_users"`
			} `json:"capacity"`
		} `json:"sets"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Sets) != 2 || rep.Sets[0].Capacity[0].MaxUsers != 16 {
		t.Errorf("json via directory: %v %+v", err, rep)
	}

	// overrides: 4 accelerators of mi300x for every set, tiers from a file
	tiers := filepath.Join(dir, "tiers.yaml")
	os.WriteFile(tiers, []byte("tiers:\n  - name: fast\n    speed_floor: 200\n    ttft_ceiling: 2s\n"), 0o644)
	out, stderr, code = runCLI(t, "analyze", files[0], "--hardware", "mi300x", "--accelerators", "4", "--tiers", tiers, "--format", "csv")
	if code != 0 || !strings.HasPrefix(out, "tier,speed_floor,ttft_ceiling,max_users,") || !strings.Contains(out, "fast,200,2,8,2,") {
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
		{"bad format", []string{"analyze", files[0], "--format", "xml"}, 2, "unknown --format"},
		{"bad table", []string{"analyze", files[0], "--table", "rows"}, 2, "unknown --table"},
		{"bad tiers", []string{"analyze", files[0], "--tiers", "llama"}, 2, "neither a preset"},
		{"bad hardware", []string{"analyze", files[0], "--hardware", "tpu9"}, 2, "unknown hardware"},
		{"bad accelerators", []string{"analyze", files[0], "--accelerators", "-1"}, 2, "--accelerators"},
		{"bad flag", []string{"analyze", files[0], "--colour"}, 2, "flag provided but not defined"},
		{"twice", []string{"analyze", files[0], files[0]}, 1, "given twice"},
		{"bad sample", []string{"analyze", files[0], "--itl-sample", "2"}, 2, "--itl-sample"},
	} {
		_, stderr, code := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d mentioning %q", c.name, code, stderr, c.code, c.want)
		}
	}
}
