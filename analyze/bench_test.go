package analyze

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/agentperf/agentperf/internal/testutil"
	"github.com/agentperf/agentperf/schemas"
)

// benchFiles returns a synthetic results set of rows rows in shards files,
// generating it once into $AGENTPERF_BENCH_DIR (default: the system temp
// dir) and reusing it afterwards. chunkScale thins the per-token chunk
// lists (1 = one offset per output token).
func benchFiles(b *testing.B, rows, shards int, chunkScale float64) []string {
	b.Helper()
	root := os.Getenv("AGENTPERF_BENCH_DIR")
	if root == "" {
		root = os.TempDir()
	}
	dir := filepath.Join(root, fmt.Sprintf("agentperf-bench-results-v2-%d-%d-%g", rows, shards, chunkScale))
	var files []string
	for i := range shards {
		files = append(files, filepath.Join(dir, fmt.Sprintf("shard%d.parquet", i)))
	}
	if _, err := os.Stat(filepath.Join(dir, "complete")); err == nil {
		return files
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	var wg sync.WaitGroup
	chunks := make([]int64, shards)
	for i := range shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			chunks[i] = genSpec{
				RunID: "bench", Seed: uint64(i + 1), Rows: rows / shards, Shard: int32(i),
				Levels: []int32{64, 128, 256, 512, 1024}, GroupRows: 200_000,
				ErrorRate: 0.004, NoUsage: 0.01, ChunkScale: chunkScale,
				Meta: &schemas.RunMeta{RunID: "bench", Model: "gpt-oss-120b", Hardware: "h200", Accelerators: 8, Steady: 10 * time.Minute},
			}.write(b, files[i])
		}()
	}
	wg.Wait()
	var total int64
	for _, c := range chunks {
		total += c
	}
	os.WriteFile(filepath.Join(dir, "complete"), []byte(fmt.Sprintf("rows %d chunk offsets %d generated in %v\n", rows, total, time.Since(start))), 0o644)
	b.Logf("generated %d rows (%d chunk offsets) in %s in %v", rows, total, dir, time.Since(start))
	return files
}

func benchRows(def int) int {
	if v, err := strconv.Atoi(os.Getenv("AGENTPERF_BENCH_ROWS")); err == nil && v > 0 {
		return v
	}
	return def
}

func benchChunkScale(def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv("AGENTPERF_BENCH_CHUNK_SCALE"), 64); err == nil && v > 0 {
		return v
	}
	return def
}

func fileBytes(files []string) int64 {
	var n int64
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			n += st.Size()
		}
	}
	return n
}

// duckdbScript computes the same per-level aggregate as Analyze in DuckDB
// (e2e/node_modules/@duckdb/node-api): steady-state requests, errors,
// P25/P50 output and E2E speed, P50/P95/P99 TTFT, P99 client lag, output
// tokens and the window, and ITL P50/P95/P99 over the gaps of a sample of
// requests of the same fraction (DuckDB's hash picks the rows).
const duckdbScript = `
import { DuckDBInstance } from '@duckdb/node-api';
const [frac, ...files] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const list = '[' + files.map(f => "'" + f.replace(/'/g, "''") + "'").join(',') + ']';
const t0 = performance.now();
const main = await con.runAndReadAll(` + "`" + `
WITH r AS (
  SELECT run_id, level, users, status, error, scheduled_ns, sent_ns, first_token_ns, end_ns, output_tokens,
         len(chunk_offsets_us) AS n, chunk_offsets_us[1] AS c0, chunk_offsets_us[-1] AS cl
  FROM read_parquet(${list}) WHERE phase = 'steady'
), s AS (
  SELECT *, (error = '' AND status BETWEEN 200 AND 299) AS ok,
         CASE WHEN output_tokens >= 0 THEN output_tokens ELSE n END AS out,
         CASE WHEN first_token_ns > 0 THEN first_token_ns WHEN n > 0 THEN sent_ns + c0::BIGINT * 1000 END AS ft,
         CASE WHEN n > 0 THEN sent_ns + cl::BIGINT * 1000 ELSE end_ns END AS lt
  FROM r
)
SELECT run_id, level, max(users) AS users, count(*) AS requests, count(*) FILTER (NOT ok) AS errors,
  quantile_cont(CASE WHEN ok AND ft IS NOT NULL AND out >= 2 AND lt > ft THEN (out - 1) / ((lt - ft) / 1e9) END, [0.25, 0.5]) AS speed,
  quantile_cont(CASE WHEN ok AND ft IS NOT NULL AND out >= 1 AND lt > sent_ns THEN out / ((lt - sent_ns) / 1e9) END, [0.25, 0.5]) AS e2e,
  quantile_cont(CASE WHEN ok AND ft IS NOT NULL THEN (ft - sent_ns) / 1e6 END, [0.5, 0.95, 0.99]) AS ttft_ms,
  quantile_cont(greatest(sent_ns - scheduled_ns, 0) / 1e6, 0.99) AS lag_ms,
  sum(out) FILTER (ok) AS output_tokens
FROM s GROUP BY ALL ORDER BY run_id, level` + "`" + `);
const itl = await con.runAndReadAll(` + "`" + `
SELECT run_id, level, quantile_cont(greatest(g, 0) / 1000, [0.5, 0.95, 0.99]) AS itl_ms, count(*) AS gaps FROM (
  SELECT run_id, level, unnest(list_transform(range(1, len(c)), i -> c[i + 1]::BIGINT - c[i])) AS g FROM (
    SELECT run_id, level, chunk_offsets_us AS c FROM read_parquet(${list})
    WHERE phase = 'steady' AND error = '' AND status BETWEEN 200 AND 299 AND hash(sent_ns) < ${frac} * 18446744073709551615::UBIGINT
  )
) GROUP BY ALL ORDER BY run_id, level` + "`" + `);
const seconds = (performance.now() - t0) / 1000;
const conv = v => typeof v === 'bigint' ? Number(v) : (v && v.items ? v.items.map(conv) : v);
const rows = main.getRowObjects().map(o => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, conv(v)])));
const irows = itl.getRowObjects().map(o => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, conv(v)])));
console.log(JSON.stringify({ seconds, rows, itl: irows }));
`

type duckLevel struct {
	RunID    string    `json:"run_id"`
	Level    int       `json:"level"`
	Users    int       `json:"users"`
	Requests int64     `json:"requests"`
	Errors   int64     `json:"errors"`
	Speed    []float64 `json:"speed"`
	E2E      []float64 `json:"e2e"`
	TTFT     []float64 `json:"ttft_ms"`
	Lag      float64   `json:"lag_ms"`
	Output   int64     `json:"output_tokens"`
	ITL      []float64 `json:"itl_ms"`
	Gaps     int64     `json:"gaps"`
}

type duckResult struct {
	Seconds float64     `json:"seconds"`
	Rows    []duckLevel `json:"rows"`
	ITL     []duckLevel `json:"itl"`
}

// processCPU returns the user+system CPU time this process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func runDuckDB(b *testing.B, files []string, frac float64) (duckResult, time.Duration, time.Duration) {
	dir := testutil.NodeDir(b)
	script := filepath.Join(dir, fmt.Sprintf(".analyze-duckdb-%d.mjs", os.Getpid()))
	if err := os.WriteFile(script, []byte(duckdbScript), 0o644); err != nil {
		b.Fatal(err)
	}
	defer os.Remove(script)
	args := append([]string{script, strconv.FormatFloat(frac, 'g', -1, 64)}, files...)
	cmd := exec.Command("node", args...)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	start := time.Now()
	out, err := cmd.Output()
	wall := time.Since(start)
	if err != nil {
		b.Fatalf("duckdb: %v\n%s", err, out)
	}
	var res duckResult
	if err := json.Unmarshal(out, &res); err != nil {
		b.Fatalf("duckdb output %q: %v", out, err)
	}
	return res, wall, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// BenchmarkAnalyze10M analyzes a 10M-row results set (two shard files)
// whose chunk lists are thinned to one offset per ~10 output tokens (0.52 B
// offsets, 2.5 GB) and, in the same run, the same aggregate in DuckDB; it
// checks the two agree and reports both times and their ratio.
// AGENTPERF_BENCH_ROWS and AGENTPERF_BENCH_CHUNK_SCALE change the size. The
// first run generates the files (minutes) and keeps them in
// $AGENTPERF_BENCH_DIR or the temp dir.
func BenchmarkAnalyze10M(b *testing.B) {
	benchmarkAnalyze(b, benchRows(10_000_000), benchChunkScale(0.1))
}

// BenchmarkAnalyze1MPerToken is the same on 1M rows with one chunk offset
// per output token, as replay records them (0.52 B offsets, ~1.9 GB): the
// per-offset cost of realistic chunk lists.
func BenchmarkAnalyze1MPerToken(b *testing.B) {
	benchmarkAnalyze(b, 1_000_000, 1)
}

func benchmarkAnalyze(b *testing.B, rows int, chunkScale float64) {
	files := benchFiles(b, rows, 2, chunkScale)
	opened := make([]*schemas.ResultsFile, 0, len(files))
	for _, f := range files {
		rf, err := schemas.OpenResults(f)
		if err != nil {
			b.Fatal(err)
		}
		opened = append(opened, rf)
	}
	chunks := chunkOffsets(opened)
	for _, rf := range opened {
		rf.Close()
	}
	frac := itlFraction(chunks)
	b.Logf("%d rows, %d chunk offsets, %.2f GB on disk, ITL sample %.4g", rows, chunks, float64(fileBytes(files))/1e9, frac)

	var rep *Report
	var ours, oursCPU time.Duration
	b.Run("agentperf", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			start, cpu0 := time.Now(), processCPU()
			var err error
			rep, err = Analyze(context.Background(), files, Options{})
			if err != nil {
				b.Fatal(err)
			}
			ours, oursCPU = time.Since(start), processCPU()-cpu0
		}
		b.ReportMetric(float64(rows)/ours.Seconds()/1e6, "Mrows/s")
		b.ReportMetric(oursCPU.Seconds(), "cpu-s")
	})
	b.Run("duckdb", func(b *testing.B) {
		var duck duckResult
		var wall, cpu time.Duration
		for i := 0; i < b.N; i++ {
			duck, wall, cpu = runDuckDB(b, files, frac)
		}
		b.ReportMetric(duck.Seconds, "query-s")
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(cpu.Seconds(), "cpu-s")
		b.ReportMetric(duck.Seconds/ours.Seconds(), "duckdb/agentperf")
		b.Logf("agentperf %.2f s wall, %.2f s CPU; DuckDB query %.2f s (node process %.2f s wall, %.2f s CPU): ratio %.2f wall, %.2f CPU",
			ours.Seconds(), oursCPU.Seconds(), duck.Seconds, wall.Seconds(), cpu.Seconds(), duck.Seconds/ours.Seconds(), cpu.Seconds()/oursCPU.Seconds())
		checkAgainstDuckDB(b, rep, duck)
	})
}

// checkAgainstDuckDB compares per-level figures: counts exactly, the
// percentiles within the histogram's resolution, ITL (different samples of
// the same size) within 2 %.
func checkAgainstDuckDB(b *testing.B, rep *Report, duck duckResult) {
	if rep == nil || len(rep.Sets) != 1 {
		b.Fatalf("report has no single set")
	}
	set := rep.Sets[0]
	if len(duck.Rows) != len(set.Levels) {
		b.Fatalf("duckdb %d levels, agentperf %d", len(duck.Rows), len(set.Levels))
	}
	near := func(what string, got, want, rel float64) {
		if math.Abs(got-want) > rel*math.Abs(want)+1e-9 {
			b.Errorf("%s: agentperf %v, duckdb %v", what, got, want)
		}
	}
	for i, d := range duck.Rows {
		v := set.View(i)
		lv := set.Levels[i]
		if v.Level != d.Level || v.Requests != d.Requests || v.Errors != d.Errors || lv.OutputTokens != d.Output {
			b.Errorf("level %d: agentperf %d requests %d errors %d tokens; duckdb level %d: %d %d %d",
				v.Level, v.Requests, v.Errors, lv.OutputTokens, d.Level, d.Requests, d.Errors, d.Output)
		}
		tol := 0.001
		near(fmt.Sprintf("level %d speed P25", i), v.SpeedP25, d.Speed[0], tol)
		near(fmt.Sprintf("level %d speed P50", i), v.SpeedP50, d.Speed[1], tol)
		near(fmt.Sprintf("level %d e2e P50", i), v.E2EP50, d.E2E[1], tol)
		near(fmt.Sprintf("level %d TTFT P95", i), v.TTFTP95*1000, d.TTFT[1], tol)
		near(fmt.Sprintf("level %d TTFT P99", i), v.TTFTP99*1000, d.TTFT[2], tol)
		near(fmt.Sprintf("level %d lag P99", i), v.LagP99, d.Lag, 0.01)
		if i < len(duck.ITL) {
			near(fmt.Sprintf("level %d ITL P50", i), v.ITLP50, duck.ITL[i].ITL[0], 0.02)
			near(fmt.Sprintf("level %d ITL P95", i), v.ITLP95, duck.ITL[i].ITL[1], 0.02)
		}
	}
}
