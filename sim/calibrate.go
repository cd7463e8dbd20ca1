package sim

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// CalibrationRow is one published benchmark run: a closed loop of
// Concurrency clients sending 10 × Concurrency random prompts of nominal
// lengths InputTokens/OutputTokens (each drawn uniformly from [0.8·L, L])
// to an engine on TP accelerators, as InferenceMAX runs them
// (sim/testdata/calibration/README.md gives the definitions).
type CalibrationRow struct {
	// Line is the row's line in its file (1 is the header).
	Line int
	// Hardware and Engine are catalog names (InferenceMAX's "b200-trt"
	// and "trt" read as b200 and trtllm); Precision is as published.
	Hardware, Engine, Precision string
	InputTokens, OutputTokens   int
	TP, EP, Concurrency         int
	// TotalPerGPU is input + output tokens per second per accelerator;
	// OutputPerGPU output tokens only.
	TotalPerGPU, OutputPerGPU float64
	// MeanTTFT and MeanTPOT are seconds; per-user speed is 1 ÷ MeanTPOT.
	MeanTTFT, MeanTPOT float64
	Date, RunID        string
}

// calibrationColumns maps the file's header names to the row fields.
var calibrationColumns = []string{
	"gpu_model", "framework", "precision", "input_seq_len", "output_seq_len", "tensor_parallel",
	"expert_parallel", "concurrency", "throughput_tokens_per_sec_per_gpu", "output_throughput_per_gpu",
	"mean_time_to_first_token_sec", "mean_time_per_output_token_sec",
}

// engineNames maps InferenceMAX framework names to catalog engine names.
var engineNames = map[string]string{"vllm": "vllm", "sglang": "sglang", "trt": "trtllm", "trtllm": "trtllm"}

// ReadCalibrationCSV parses a calibration file (the InferenceMAX export
// layout of sim/testdata/calibration). Columns are found by header name;
// others are ignored. A row that cannot be read is an error naming its
// line; rows of frameworks the simulator has no profile for (disaggregated
// "dynamo-…" runs) and rows without a TP are skipped.
func ReadCalibrationCSV(r io.Reader) ([]CalibrationRow, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("calibration file: reading the header: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(h)] = i
	}
	for _, c := range calibrationColumns {
		if _, ok := col[c]; !ok {
			return nil, fmt.Errorf("calibration file: no %q column (the header must name %s)", c, strings.Join(calibrationColumns, ", "))
		}
	}
	var rows []CalibrationRow
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("calibration file line %d: %w", line, err)
		}
		get := func(name string) string {
			if i := col[name]; i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		eng, ok := engineNames[strings.ToLower(get("framework"))]
		if !ok || get("tensor_parallel") == "" {
			continue
		}
		row := CalibrationRow{Line: line, Engine: eng, Precision: get("precision"), Date: get("benchmark_date"), RunID: get("run_id")}
		row.Hardware = strings.ToLower(get("gpu_model"))
		for _, suffix := range []string{"-trt", "-vllm", "-sglang"} {
			row.Hardware = strings.TrimSuffix(row.Hardware, suffix)
		}
		var bad []string
		num := func(name string, dst *float64) {
			v, err := strconv.ParseFloat(get(name), 64)
			if err != nil || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				bad = append(bad, name)
				return
			}
			*dst = v
		}
		count := func(name string, dst *int) {
			var v float64
			num(name, &v)
			if v < 1 || v > 1<<20 || v != math.Trunc(v) {
				if len(bad) == 0 || bad[len(bad)-1] != name {
					bad = append(bad, name)
				}
				return
			}
			*dst = int(v)
		}
		count("input_seq_len", &row.InputTokens)
		count("output_seq_len", &row.OutputTokens)
		count("tensor_parallel", &row.TP)
		row.EP = 1
		if get("expert_parallel") != "" {
			count("expert_parallel", &row.EP)
		}
		count("concurrency", &row.Concurrency)
		num("throughput_tokens_per_sec_per_gpu", &row.TotalPerGPU)
		num("output_throughput_per_gpu", &row.OutputPerGPU)
		num("mean_time_to_first_token_sec", &row.MeanTTFT)
		num("mean_time_per_output_token_sec", &row.MeanTPOT)
		if row.Hardware == "" {
			bad = append(bad, "gpu_model")
		}
		if len(bad) > 0 {
			return nil, fmt.Errorf("calibration file line %d: bad %s (want positive numbers, whole ones for lengths, parallelism and concurrency)", line, strings.Join(bad, ", "))
		}
		if row.TP > 4096 || row.Concurrency > 1<<16 {
			return nil, fmt.Errorf("calibration file line %d: TP %d or concurrency %d out of range", line, row.TP, row.Concurrency)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// UserSpeed is the row's published per-user speed, tok/s (1 ÷ TPOT).
func (r CalibrationRow) UserSpeed() float64 {
	if r.MeanTPOT <= 0 {
		return 0
	}
	return 1 / r.MeanTPOT
}

// String names the row's configuration.
func (r CalibrationRow) String() string {
	par := fmt.Sprintf("TP%d", r.TP)
	if r.EP > 1 {
		par += fmt.Sprintf(" EP%d", r.EP)
	}
	return fmt.Sprintf("%s %s %s %d/%d c%d", r.Hardware, r.Engine, par, r.InputTokens, r.OutputTokens, r.Concurrency)
}

// servingDefaults are the published serving settings of InferenceMAX's
// benchmark scripts that a calibration row does not carry
// (SemiAnalysisAI/InferenceX benchmarks/gptoss_fp4_{h100,h200,b200}.sh and
// gptoss_fp4_b200_trt.sh): KV-cache dtype and the iteration token budget.
// Prefix caching is off in all of them (and the prompts are random).
func servingDefaults(hardware, engine string) (kvDtype string, maxBatchTokens int) {
	switch {
	case engine == "trtllm":
		return "fp8", 20000 // kv_cache_config.dtype fp8; --max_num_tokens=20000
	case engine == "vllm" && strings.HasPrefix(hardware, "b"):
		return "fp8", 8192 // kv-cache-dtype: fp8; max-num-batched-tokens: 8192
	case engine == "vllm":
		return "", 8192 // BF16 KV (auto); max-num-batched-tokens: 8192
	}
	return "", 0
}

// CalibrationConfig is the simulator configuration that replays row:
// base (catalog, knobs, model) with the row's hardware, engine and
// parallelism and the published serving settings.
func CalibrationConfig(row CalibrationRow, base Config) Config {
	cfg := base
	cfg.Hardware, cfg.Engine = row.Hardware, row.Engine
	cfg.TP, cfg.Accelerators = row.TP, row.TP
	cfg.ExpertParallel = row.EP > 1
	cfg.DisablePrefixCache = true
	kv, mbt := servingDefaults(row.Hardware, row.Engine)
	if cfg.KVCacheDtype == "" {
		cfg.KVCacheDtype = kv
	}
	if cfg.MaxBatchTokens == 0 {
		cfg.MaxBatchTokens = mbt
	}
	return cfg
}

// CalibrationWorkload is the benchmark of row as a Simulate workload:
// Concurrency users × 10 requests, lengths uniform in [0.8·L, L].
func CalibrationWorkload(row CalibrationRow, seed int64) Workload {
	return Workload{Users: row.Concurrency, Requests: 10, PromptTokens: row.InputTokens, OutputTokens: row.OutputTokens,
		RangeRatio: 0.8, Seed: seed}
}

// CalibrationResult is a row beside its simulation.
type CalibrationResult struct {
	Row CalibrationRow
	// TotalPerGPU (tok/s per accelerator), UserSpeed (tok/s) and MeanTTFT
	// (s) are the simulated figures, with the definitions of the row's.
	TotalPerGPU, UserSpeed, MeanTTFT float64
	Sim                              SimResult
}

// Ratios returns simulated ÷ published per-GPU throughput, per-user speed
// and TTFT.
func (c CalibrationResult) Ratios() (throughput, speed, ttft float64) {
	return ratio(c.TotalPerGPU, c.Row.TotalPerGPU), ratio(c.UserSpeed, c.Row.UserSpeed()), ratio(c.MeanTTFT, c.Row.MeanTTFT)
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return math.NaN()
	}
	return a / b
}

// Calibrate simulates row with base's catalog and knobs (seeded by seed).
func Calibrate(row CalibrationRow, base Config, seed int64) (CalibrationResult, error) {
	cfg := CalibrationConfig(row, base)
	p, err := Resolve(cfg)
	if err != nil {
		return CalibrationResult{}, fmt.Errorf("%s (line %d): %w", row, row.Line, err)
	}
	r := Simulate(p, CalibrationWorkload(row, seed))
	res := CalibrationResult{Row: row, Sim: r, MeanTTFT: r.MeanTTFT}
	if r.Seconds > 0 {
		res.TotalPerGPU = r.TotalTokensPerSecond / float64(p.Accelerators)
	}
	if r.MeanTPOT > 0 {
		res.UserSpeed = 1 / r.MeanTPOT
	}
	return res, nil
}

// CalibrationSummary is the fit on one hardware × engine: the geometric
// mean and the worst (farthest from 1) of simulated ÷ published for each
// metric over its rows.
type CalibrationSummary struct {
	Hardware, Engine                             string
	Rows                                         int
	ThroughputGeoMean, SpeedGeoMean, TTFTGeoMean float64
	ThroughputWorst, SpeedWorst, TTFTWorst       float64
	ThroughputRange, SpeedRange, TTFTRange       [2]float64
	throughputLogs, speedLogs, ttftLogs          []float64
}

// Summarize groups results by hardware × engine, in name order.
func Summarize(results []CalibrationResult) []CalibrationSummary {
	by := map[[2]string]*CalibrationSummary{}
	var keys [][2]string
	for _, r := range results {
		k := [2]string{r.Row.Hardware, r.Row.Engine}
		s := by[k]
		if s == nil {
			s = &CalibrationSummary{Hardware: k[0], Engine: k[1]}
			by[k] = s
			keys = append(keys, k)
		}
		tp, sp, tt := r.Ratios()
		s.Rows++
		s.throughputLogs = append(s.throughputLogs, math.Log(tp))
		s.speedLogs = append(s.speedLogs, math.Log(sp))
		s.ttftLogs = append(s.ttftLogs, math.Log(tt))
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	out := make([]CalibrationSummary, 0, len(keys))
	for _, k := range keys {
		s := by[k]
		s.ThroughputGeoMean, s.ThroughputWorst, s.ThroughputRange = logStats(s.throughputLogs)
		s.SpeedGeoMean, s.SpeedWorst, s.SpeedRange = logStats(s.speedLogs)
		s.TTFTGeoMean, s.TTFTWorst, s.TTFTRange = logStats(s.ttftLogs)
		out = append(out, *s)
	}
	return out
}

// logStats returns the geometric mean, the ratio farthest from 1 and the
// range of ratios given as logs.
func logStats(logs []float64) (geo, worst float64, rng [2]float64) {
	var sum, far float64
	rng = [2]float64{math.Inf(1), math.Inf(-1)}
	for _, l := range logs {
		sum += l
		if math.Abs(l) >= math.Abs(far) {
			far = l
		}
		rng[0], rng[1] = math.Min(rng[0], math.Exp(l)), math.Max(rng[1], math.Exp(l))
	}
	if len(logs) == 0 {
		return math.NaN(), math.NaN(), [2]float64{math.NaN(), math.NaN()}
	}
	return math.Exp(sum / float64(len(logs))), math.Exp(far), rng
}

// WriteCalibration writes the per-row table and the per-hardware summary
// as Markdown.
func WriteCalibration(w io.Writer, results []CalibrationResult) error {
	var b strings.Builder
	b.WriteString("| hardware | engine | TP | EP | in/out | conc | tok/s/GPU public | sim | ratio | tok/s/user public | sim | ratio | TTFT ms public | sim | ratio |\n")
	b.WriteString("|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range results {
		tp, sp, tt := r.Ratios()
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d/%d | %d | %.0f | %.0f | %.2f | %.1f | %.1f | %.2f | %.0f | %.0f | %.2f |\n",
			r.Row.Hardware, r.Row.Engine, r.Row.TP, r.Row.EP, r.Row.InputTokens, r.Row.OutputTokens, r.Row.Concurrency,
			r.Row.TotalPerGPU, r.TotalPerGPU, tp, r.Row.UserSpeed(), r.UserSpeed, sp, r.Row.MeanTTFT*1000, r.MeanTTFT*1000, tt)
	}
	b.WriteString("\n")
	WriteCalibrationSummary(&b, Summarize(results))
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteCalibrationSummary writes the per hardware × engine summary as
// Markdown: geometric mean, worst ratio and range of sim ÷ public.
func WriteCalibrationSummary(w io.Writer, sums []CalibrationSummary) {
	fmt.Fprintf(w, "| hardware | engine | rows | tok/s/GPU geo-mean | worst | range | tok/s/user geo-mean | worst | range | TTFT geo-mean | worst | range |\n")
	fmt.Fprintf(w, "|---|---|---:|---:|---:|---|---:|---:|---|---:|---:|---|\n")
	for _, s := range sums {
		fmt.Fprintf(w, "| %s | %s | %d | %.2f | %.2f | %.2f–%.2f | %.2f | %.2f | %.2f–%.2f | %.2f | %.2f | %.2f–%.2f |\n",
			s.Hardware, s.Engine, s.Rows,
			s.ThroughputGeoMean, s.ThroughputWorst, s.ThroughputRange[0], s.ThroughputRange[1],
			s.SpeedGeoMean, s.SpeedWorst, s.SpeedRange[0], s.SpeedRange[1],
			s.TTFTGeoMean, s.TTFTWorst, s.TTFTRange[0], s.TTFTRange[1])
	}
}

// CalibrationGoals are the bounds a calibration must meet (issue 14): per
// hardware × engine the geometric mean of sim ÷ public throughput and
// per-user speed within [GeoMin, GeoMax]; every row's within [RowMin,
// RowMax]; every row's TTFT within a factor TTFTFactor.
type CalibrationGoals struct {
	GeoMin, GeoMax, RowMin, RowMax, TTFTFactor float64
}

// DefaultCalibrationGoals are 0.9–1.1 geometric mean, 0.75–1.33 per row
// and TTFT within 2×.
var DefaultCalibrationGoals = CalibrationGoals{GeoMin: 0.9, GeoMax: 1.1, RowMin: 0.75, RowMax: 1.33, TTFTFactor: 2}

// Check lists every way results miss g, one line each; none means the
// goals are met. The geometric-mean goal applies to groups of at least
// minGroup rows (a CI subset of a few rows checks rows only).
func (g CalibrationGoals) Check(results []CalibrationResult, minGroup int) []string {
	var miss []string
	for _, r := range results {
		tp, sp, tt := r.Ratios()
		if !(tp >= g.RowMin && tp <= g.RowMax) {
			miss = append(miss, fmt.Sprintf("%s: tok/s/GPU sim ÷ public %.2f outside %.2f–%.2f", r.Row, tp, g.RowMin, g.RowMax))
		}
		if !(sp >= g.RowMin && sp <= g.RowMax) {
			miss = append(miss, fmt.Sprintf("%s: tok/s/user sim ÷ public %.2f outside %.2f–%.2f", r.Row, sp, g.RowMin, g.RowMax))
		}
		if !(tt >= 1/g.TTFTFactor && tt <= g.TTFTFactor) {
			miss = append(miss, fmt.Sprintf("%s: TTFT sim ÷ public %.2f outside %.2f–%.2f", r.Row, tt, 1/g.TTFTFactor, g.TTFTFactor))
		}
	}
	for _, s := range Summarize(results) {
		if s.Rows < minGroup {
			continue
		}
		if !(s.ThroughputGeoMean >= g.GeoMin && s.ThroughputGeoMean <= g.GeoMax) {
			miss = append(miss, fmt.Sprintf("%s %s: tok/s/GPU geometric mean %.2f outside %.2f–%.2f", s.Hardware, s.Engine, s.ThroughputGeoMean, g.GeoMin, g.GeoMax))
		}
		if !(s.SpeedGeoMean >= g.GeoMin && s.SpeedGeoMean <= g.GeoMax) {
			miss = append(miss, fmt.Sprintf("%s %s: tok/s/user geometric mean %.2f outside %.2f–%.2f", s.Hardware, s.Engine, s.SpeedGeoMean, g.GeoMin, g.GeoMax))
		}
	}
	return miss
}
