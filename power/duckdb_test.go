package power

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/internal/testutil"
	"github.com/agentperf/agentperf/schemas"
)

// powerDuckScript prints, as JSON, the columns, row count and footer of the
// power file on argv[2], and the row count of each SQL snippet in argv[3].
const powerDuckScript = `
import { DuckDBInstance } from '@duckdb/node-api';
const [file, snippets] = [process.argv[2], JSON.parse(process.argv[3])];
const con = await (await DuckDBInstance.create(':memory:')).connect();
const all = async sql => (await con.runAndReadAll(sql)).getRowObjects();
const lit = "'" + file.replace(/'/g, "''") + "'";
const out = {
  columns: (await all('DESCRIBE SELECT * FROM ' + lit)).map(c => c.column_name + ' ' + c.column_type),
  rows: Number((await all('SELECT count(*) AS n FROM ' + lit))[0].n),
  footer: Object.fromEntries((await all('SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata(' + lit + ')')).map(r => [r.k, r.v])),
  snippets: [],
};
for (const sql of snippets) out.snippets.push((await all(sql)).length);
console.log(JSON.stringify(out));
`

// TestDuckDBReadsPowerFile writes a power file and a results file, reads
// them with DuckDB, and checks the columns against docs/power.md's table
// and that every SQL snippet of that page runs and returns rows.
func TestDuckDBReadsPowerFile(t *testing.T) {
	node := testutil.NodeDir(t)
	doc, err := os.ReadFile(filepath.Join(testutil.Root(), "docs", "power.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, fileSection, _ := strings.Cut(string(doc), "## The power file")
	fileSection, _, _ = strings.Cut(fileSection, "\n## ")
	var documented []string
	duck := map[string]string{"string": "VARCHAR", "int32": "INTEGER", "int64": "BIGINT", "double": "DOUBLE",
		"boolean": "BOOLEAN", "list<double>": "DOUBLE[]", "list<string>": "VARCHAR[]"}
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| ([a-z0-9<>]+) \\|").FindAllStringSubmatch(fileSection, -1) {
		documented = append(documented, m[1]+" "+duck[m[2]])
	}

	dir := t.TempDir()
	const t0 = int64(1.8e18)
	rec := Record{RunID: "run-d"}
	for i := 0; i < 20; i++ {
		at := t0 + int64(i)*sec/2
		rec.Samples = append(rec.Samples,
			Sample{System: "node-a", Source: "prom+http://node-a:9400/metrics", TimeNS: at, WallNS: at,
				Watts: 700 + float64(i), GPUWatts: []float64{300, 400 + float64(i)}, GPUIDs: []string{"0", "1"}})
		if i < 12 {
			rec.Samples = append(rec.Samples, Sample{System: "node-b", Source: "cmd:nvidia-smi", TimeNS: at + 1e8, WallNS: at + 1e8,
				Watts: 250, GPUWatts: []float64{250}, GPUIDs: []string{""}})
		}
	}
	rec.Gaps = []Gap{{System: "node-b", Source: "cmd:nvidia-smi", StartNS: t0 + 6*sec, EndNS: t0 + 10*sec, StartWallNS: t0 + 6*sec,
		Err: "nvidia-smi: exit status 3", Failures: 4, Open: true}}
	power := filepath.Join(dir, "results.power.parquet")
	if err := Save(power, rec, false); err != nil {
		t.Fatal(err)
	}
	results := filepath.Join(dir, "results.parquet")
	rw, err := schemas.CreateResults(results, false)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 8; i++ {
		lv := int32(i / 4)
		sent := t0 + int64(1+5*lv)*sec + int64(i%4)*sec/2
		rw.Write(&schemas.Result{RunID: "run-d", Level: lv, Users: 4 * (lv + 1), Phase: schemas.PhaseSteady, SentNS: sent, EndNS: sent + sec, Status: 200})
	}
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}

	var snippets []string
	for _, m := range regexp.MustCompile("(?s)```sql\n(.*?)```").FindAllStringSubmatch(string(doc), -1) {
		s := strings.ReplaceAll(m[1], "'results.power.parquet'", "'"+power+"'")
		snippets = append(snippets, strings.ReplaceAll(s, "'results.parquet'", "'"+results+"'"))
	}
	arg, _ := json.Marshal(snippets)
	script := filepath.Join(node, fmt.Sprintf(".power-duckdb-%d.mjs", os.Getpid()))
	if err := os.WriteFile(script, []byte(powerDuckScript), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(script)
	cmd := exec.Command("node", script, power, string(arg))
	cmd.Dir = node
	var stderr strings.Builder
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("node/duckdb: %v\n%s", err, stderr.String())
	}
	var got struct {
		Columns  []string          `json:"columns"`
		Rows     int               `json:"rows"`
		Footer   map[string]string `json:"footer"`
		Snippets []int             `json:"snippets"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("duckdb output %s: %v", raw, err)
	}
	if len(documented) == 0 || !slices.Equal(got.Columns, documented) {
		t.Errorf("columns\n DuckDB %q\n docs   %q", got.Columns, documented)
	}
	if got.Rows != len(rec.Samples)+len(rec.Gaps) {
		t.Errorf("DuckDB counts %d rows, want %d", got.Rows, len(rec.Samples)+len(rec.Gaps))
	}
	if got.Footer[schemas.MetaKind] != schemas.FilePower || got.Footer[schemas.MetaVersion] != schemas.Version ||
		got.Footer[schemas.MetaPowerPrefix+"run_id"] != "run-d" {
		t.Errorf("footer %v", got.Footer)
	}
	if len(snippets) < 4 || len(got.Snippets) != len(snippets) {
		t.Fatalf("%d snippets in the doc, %d ran", len(snippets), len(got.Snippets))
	}
	for i, n := range got.Snippets {
		if n == 0 {
			t.Errorf("snippet %d returned no rows:\n%s", i+1, snippets[i])
		}
	}
}
