package inspect

import (
	"context"
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
	"github.com/agentperf/agentperf/synth"
)

// duckdbScript describes each file and runs the documented SQL snippets
// with DuckDB (npm @duckdb/node-api). Input: a JSON object on argv[2].
const duckdbScript = `
import { DuckDBInstance } from '@duckdb/node-api';
const cfg = JSON.parse(process.argv[2]);
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const conv = v => typeof v === 'bigint' ? Number(v) : (v && v.items ? v.items.map(conv) : (v instanceof Uint8Array ? new TextDecoder().decode(v) : v));
const rows = async sql => (await con.runAndReadAll(sql)).getRowObjects().map(o => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, conv(v)])));
const q = s => "'" + s.replace(/'/g, "''") + "'";
const out = { files: {}, snippets: [] };
for (const [name, path] of Object.entries(cfg.files)) {
  const cols = await rows('DESCRIBE SELECT * FROM read_parquet(' + q(path) + ')');
  const count = (await rows('SELECT count(*) AS n FROM read_parquet(' + q(path) + ')'))[0].n;
  const meta = await rows('SELECT decode(key) AS key, decode(value) AS value FROM parquet_kv_metadata(' + q(path) + ')');
  out.files[name] = { columns: cols.map(c => [c.column_name, String(c.column_type)]), rows: count, meta: Object.fromEntries(meta.map(m => [m.key, m.value])) };
}
const r = q(cfg.files['requests.parquet']);
out.requests = (await rows('SELECT sum(len(prompt)) AS prompt_ids, sum(len(hash_ids)) AS hash_ids, sum(len(response)) AS response_ids, sum(input_tokens) AS input_tokens, sum(usage_input_tokens) AS usage_input FROM read_parquet(' + r + ')'))[0];
// Ids use all 63 bits: compare them as text, not as JS numbers.
out.first = (await rows('SELECT session_id, turn, prompt::VARCHAR AS prompt, hash_ids::VARCHAR AS hash_ids FROM read_parquet(' + r + ') LIMIT 1'))[0];
out.blobs = (await rows('SELECT sum(strlen(body)) AS body_bytes, sum(tokens) AS tokens FROM read_parquet(' + q(cfg.files['blobs.parquet']) + ')'))[0];
out.results = (await rows('SELECT sum(len(chunk_offsets_us)) AS chunks, max(chunk_offsets_us[3]) AS third FROM read_parquet(' + q(cfg.files['results.parquet']) + ')'))[0];
for (const sn of cfg.snippets) {
  let n = 0;
  for (const stmt of sn.split(/;\s*(?:\n|$)/).map(s => s.trim()).filter(s => s.replace(/--.*$/gm, '').trim() !== '')) {
    n = (await rows(stmt)).length;
  }
  out.snippets.push(n);
}
console.log(JSON.stringify(out));
`

type duckFile struct {
	Columns [][2]string       `json:"columns"`
	Rows    int64             `json:"rows"`
	Meta    map[string]string `json:"meta"`
}

type duckOut struct {
	Files    map[string]duckFile `json:"files"`
	Requests struct {
		PromptIDs   int64 `json:"prompt_ids"`
		HashIDs     int64 `json:"hash_ids"`
		ResponseIDs int64 `json:"response_ids"`
		InputTokens int64 `json:"input_tokens"`
		UsageInput  *int64
	} `json:"requests"`
	First struct {
		SessionID string `json:"session_id"`
		Turn      int32  `json:"turn"`
		Prompt    string `json:"prompt"`
		HashIDs   string `json:"hash_ids"`
	} `json:"first"`
	Blobs struct {
		BodyBytes int64 `json:"body_bytes"`
		Tokens    int64 `json:"tokens"`
	} `json:"blobs"`
	Results struct {
		Chunks int64 `json:"chunks"`
		Third  int64 `json:"third"`
	} `json:"results"`
	Snippets []int `json:"snippets"`
}

// docColumns reads the column tables of docs/trace-format.md: for each
// "## <file>.parquet" section, the `name` and type of every row.
func docColumns(t *testing.T, doc string) map[string][][2]string {
	t.Helper()
	out := map[string][][2]string{}
	section := ""
	row := regexp.MustCompile("^\\| `([a-z_0-9]+)` \\| ([^|]+) \\|")
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "## ") {
			section = ""
			if name := strings.TrimPrefix(line, "## "); strings.HasSuffix(name, ".parquet") {
				section = name
			}
			continue
		}
		if m := row.FindStringSubmatch(line); m != nil && section != "" {
			out[section] = append(out[section], [2]string{m[1], strings.TrimSpace(m[2])})
		}
	}
	return out
}

// duckType maps the documented types to DuckDB's names.
var duckType = map[string]string{
	"string": "VARCHAR", "int32": "INTEGER", "int64": "BIGINT", "boolean": "BOOLEAN",
	"int64 (nullable)": "BIGINT", "int32 (nullable)": "INTEGER", "list<int64>": "BIGINT[]", "list<int32>": "INTEGER[]",
}

// TestDuckDBReadsDocumentedColumns reads a synthetic trace set and a
// results file with DuckDB and checks the columns and types against
// docs/trace-format.md, the row counts and list columns against the Go
// reader, the metadata keys, and that every documented SQL snippet runs.
func TestDuckDBReadsDocumentedColumns(t *testing.T) {
	node := testutil.NodeDir(t)
	docBytes, err := os.ReadFile(filepath.Join(testutil.Root(), "docs", "trace-format.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(docBytes)
	documented := docColumns(t, doc)
	for _, f := range []string{schemas.BlobsFile, schemas.RequestsFile, schemas.SessionsFile, "results.parquet"} {
		if len(documented[f]) == 0 {
			t.Fatalf("docs/trace-format.md has no column table under \"## %s\"", f)
		}
	}

	base := t.TempDir()
	set := filepath.Join(base, "demo")
	if _, err := synth.Write(context.Background(), set, synth.Options{Sessions: 2, MinTurns: 20, MaxTurns: 24, Seed: 11}, synth.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	results := filepath.Join(base, "results.parquet")
	rw, err := schemas.CreateResults(results, false)
	if err != nil {
		t.Fatal(err)
	}
	rw.SetRunMeta(&schemas.RunMeta{Target: "sim"})
	for i := 0; i < 10; i++ {
		rw.Write(&schemas.Result{RunID: "r1", Level: int32(i / 5), Users: 4, Phase: schemas.PhaseSteady, SessionID: "s", Turn: int32(i),
			SentNS: 1e9, FirstTokenNS: 1.2e9, EndNS: 2e9, ChunkOffsetsUS: []int32{200000, 210000, 220000 + int32(i)}, OutputTokens: 50, Status: 200})
	}
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}

	// The SQL snippets of the doc, pointed at these files.
	var snippets []string
	for _, m := range regexp.MustCompile("(?s)```sql\n(.*?)```").FindAllStringSubmatch(doc, -1) {
		s := strings.ReplaceAll(m[1], "'traces/demo/", "'"+set+"/")
		s = strings.ReplaceAll(s, "'results.parquet'", "'"+results+"'")
		snippets = append(snippets, s)
	}
	if len(snippets) < 5 {
		t.Fatalf("found %d SQL snippets in the doc", len(snippets))
	}
	cfg, _ := json.Marshal(map[string]any{
		"files": map[string]string{
			schemas.BlobsFile:    filepath.Join(set, schemas.BlobsFile),
			schemas.RequestsFile: filepath.Join(set, schemas.RequestsFile),
			schemas.SessionsFile: filepath.Join(set, schemas.SessionsFile),
			"results.parquet":    results,
		},
		"snippets": snippets,
	})
	script := filepath.Join(node, fmt.Sprintf(".inspect-duckdb-%d.mjs", os.Getpid()))
	if err := os.WriteFile(script, []byte(duckdbScript), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(script)
	cmd := exec.Command("node", script, string(cfg))
	cmd.Dir = node
	raw, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("node/duckdb: %v\n%s", err, stderr)
	}
	var out duckOut
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("duckdb output: %v\n%s", err, raw)
	}

	// Columns and types, as documented, in file order.
	for file, want := range documented {
		got := out.Files[file].Columns
		var gotNames, wantNames []string
		for _, c := range got {
			gotNames = append(gotNames, c[0])
		}
		for _, c := range want {
			wantNames = append(wantNames, c[0])
		}
		if !slices.Equal(gotNames, wantNames) {
			t.Errorf("%s columns\n got  %v\n docs %v", file, gotNames, wantNames)
			continue
		}
		for i, c := range want {
			if dt, ok := duckType[c[1]]; !ok || dt != got[i][1] {
				t.Errorf("%s.%s: DuckDB type %s, documented %q (maps to %q)", file, c[0], got[i][1], c[1], dt)
			}
		}
	}

	// Row counts, list columns and sums agree with the Go reader.
	ts := open(t, set)
	var promptIDs, hashIDs, respIDs, input int64
	var first *schemas.Request
	ts.Requests(func(r *schemas.Request) error {
		if first == nil {
			c := *r
			c.Prompt, c.HashIDs = slices.Clone(r.Prompt), slices.Clone(r.HashIDs)
			first = &c
		}
		promptIDs += int64(len(r.Prompt))
		hashIDs += int64(len(r.HashIDs))
		respIDs += int64(len(r.Response))
		input += int64(r.InputTokens)
		return nil
	})
	var bodyBytes, blobTokens int64
	ts.Blobs(func(b *schemas.Blob) error {
		bodyBytes += int64(len(b.Body))
		blobTokens += int64(b.Tokens)
		return nil
	})
	checks := []struct {
		name      string
		got, want int64
	}{
		{"requests rows", out.Files[schemas.RequestsFile].Rows, ts.NumRequests()},
		{"sessions rows", out.Files[schemas.SessionsFile].Rows, ts.NumSessions()},
		{"blobs rows", out.Files[schemas.BlobsFile].Rows, ts.NumBlobs()},
		{"results rows", out.Files["results.parquet"].Rows, 10},
		{"prompt ids", out.Requests.PromptIDs, promptIDs},
		{"hash ids", out.Requests.HashIDs, hashIDs},
		{"response ids", out.Requests.ResponseIDs, respIDs},
		{"input tokens", out.Requests.InputTokens, input},
		{"blob body bytes", out.Blobs.BodyBytes, bodyBytes},
		{"blob tokens", out.Blobs.Tokens, blobTokens},
		{"result chunk offsets", out.Results.Chunks, 30},
		{"third chunk offset (max)", out.Results.Third, 220009},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: DuckDB %d, Go %d", c.name, c.got, c.want)
		}
	}
	if out.Requests.UsageInput != nil {
		t.Errorf("usage_input_tokens should be all null in a synthetic set")
	}
	duckList := func(ids []int64) string { return strings.ReplaceAll(fmt.Sprint(ids), " ", ", ") }
	if out.First.SessionID != first.SessionID || out.First.Prompt != duckList(first.Prompt) || out.First.HashIDs != duckList(first.HashIDs) {
		t.Errorf("first request via DuckDB %+v, via Go %s %v %v", out.First, first.SessionID, first.Prompt, first.HashIDs)
	}
	for _, f := range []string{schemas.BlobsFile, schemas.RequestsFile, schemas.SessionsFile, "results.parquet"} {
		m := out.Files[f].Meta
		if m[schemas.MetaVersion] != schemas.Version {
			t.Errorf("%s: %s = %q, want %q", f, schemas.MetaVersion, m[schemas.MetaVersion], schemas.Version)
		}
	}
	if m := out.Files["results.parquet"].Meta; !strings.Contains(m[schemas.MetaRun], `"target":"sim"`) || m[schemas.MetaKind] != schemas.FileResults {
		t.Errorf("results metadata %v", m)
	}
	// Every snippet ran and returned rows.
	if len(out.Snippets) != len(snippets) {
		t.Fatalf("%d snippets ran of %d", len(out.Snippets), len(snippets))
	}
	for i, n := range out.Snippets {
		if n == 0 {
			t.Errorf("SQL snippet %d returned no rows:\n%s", i+1, snippets[i])
		}
	}
}
