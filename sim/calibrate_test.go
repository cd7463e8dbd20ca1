package sim

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const calibrationDir = "testdata/calibration"

func readCalibration(t testing.TB, name string) []CalibrationRow {
	t.Helper()
	f, err := os.Open(filepath.Join(calibrationDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := ReadCalibrationCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

const calibrationHeader = "gpu_model,framework,precision,input_seq_len,output_seq_len,tensor_parallel,expert_parallel,concurrency,throughput_tokens_per_sec_per_gpu,output_throughput_per_gpu,mean_time_to_first_token_sec,p99_time_to_first_token_sec,mean_time_per_output_token_sec,mean_end_to_end_latency_sec,median_end_to_end_latency_sec,benchmark_date,run_id\n"

func TestReadCalibrationCSV(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		rows       int
		err        string
		check      func(*testing.T, []CalibrationRow)
	}{
		{name: "vllm row", body: calibrationHeader + "b200,vllm,fp4,1024,1024,1.0,1.0,128,17364.1,8672.5,0.1377,1.04,0.01425,13.2,13.2,2026-01-02T22:24:09Z,20667906037\n", rows: 1,
			check: func(t *testing.T, rs []CalibrationRow) {
				r := rs[0]
				if r.Hardware != "b200" || r.Engine != "vllm" || r.TP != 1 || r.EP != 1 || r.Concurrency != 128 || r.InputTokens != 1024 || r.Line != 2 {
					t.Errorf("row = %+v", r)
				}
				if got := r.UserSpeed(); math.Abs(got-1/0.01425) > 1e-9 {
					t.Errorf("UserSpeed = %v, want %v", got, 1/0.01425)
				}
			}},
		{name: "trt suffix and engine", body: calibrationHeader + "b200-trt,trt,fp4,8192,1024,2.0,2.0,64,28617,3174,0.559,3.5,0.00925,9.0,9.0,2026-01-06T22:51:14Z,1\n", rows: 1,
			check: func(t *testing.T, rs []CalibrationRow) {
				if rs[0].Hardware != "b200" || rs[0].Engine != "trtllm" || rs[0].EP != 2 {
					t.Errorf("row = %+v", rs[0])
				}
			}},
		{name: "disaggregated rows skipped", body: calibrationHeader + "gb200,dynamo-trt,fp4,1024,1024,,,256,14514,9034,0.25,2.2,0.0065,6.2,6.2,2026-01-07T15:36:44Z,2\n", rows: 0},
		{name: "columns by name", body: "concurrency,gpu_model,framework,precision,input_seq_len,output_seq_len,tensor_parallel,expert_parallel,throughput_tokens_per_sec_per_gpu,output_throughput_per_gpu,mean_time_to_first_token_sec,mean_time_per_output_token_sec\n4,h100,vllm,fp4,1024,1024,2,1,744,370,0.056,0.0052\n", rows: 1},
		{name: "missing column", body: "gpu_model,framework\nh100,vllm\n", err: `no "precision" column`},
		{name: "bad number", body: calibrationHeader + "h100,vllm,fp4,1024,1024,2.0,1.0,four,744,370,0.056,0.1,0.0052,4.8,4.8,d,r\n", err: "line 2: bad concurrency"},
		{name: "fractional TP", body: calibrationHeader + "h100,vllm,fp4,1024,1024,2.5,1.0,4,744,370,0.056,0.1,0.0052,4.8,4.8,d,r\n", err: "bad tensor_parallel"},
		{name: "negative throughput", body: calibrationHeader + "h100,vllm,fp4,1024,1024,2,1,4,-744,370,0.056,0.1,0.0052,4.8,4.8,d,r\n", err: "bad throughput_tokens_per_sec_per_gpu"},
		{name: "empty", body: "", err: "reading the header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := ReadCalibrationCSV(strings.NewReader(tc.body))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != tc.rows {
				t.Fatalf("got %d rows, want %d", len(rows), tc.rows)
			}
			if tc.check != nil {
				tc.check(t, rows)
			}
		})
	}
}

func TestVendoredCalibrationFiles(t *testing.T) {
	for name, want := range map[string]int{"inferencemax-gpt-oss-120b-vllm.csv": 150, "inferencemax-gpt-oss-120b-trt.csv": 60} {
		if rows := readCalibration(t, name); len(rows) != want {
			t.Errorf("%s: %d rows, want %d", name, len(rows), want)
		}
	}
}

// FuzzReadCalibrationCSV: any input gives rows or an error, never a
// panic, and every row it accepts is one the simulator can be configured
// from (positive lengths, parallelism and concurrency).
func FuzzReadCalibrationCSV(f *testing.F) {
	f.Add(calibrationHeader + "b200,vllm,fp4,1024,1024,1.0,1.0,128,17364.1,8672.5,0.1377,1.04,0.01425,13.2,13.2,d,r\n")
	f.Add(calibrationHeader + "b200-trt,trt,fp4,8192,1024,2,2,64,1,1,1,1,1,1,1,d,r\n")
	f.Add("gpu_model\n\"unterminated")
	f.Fuzz(func(t *testing.T, s string) {
		rows, err := ReadCalibrationCSV(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, r := range rows {
			if r.TP < 1 || r.EP < 1 || r.Concurrency < 1 || r.InputTokens < 1 || r.OutputTokens < 1 || r.Hardware == "" {
				t.Fatalf("accepted an unusable row %+v", r)
			}
		}
	})
}

// TestCalibrationWorkloadShape checks the replay of a row follows the
// benchmark's definitions: 10 × concurrency requests, lengths in [0.8·L, L]
// and the throughput counting prompt and output tokens.
func TestCalibrationWorkloadShape(t *testing.T) {
	row := CalibrationRow{Hardware: "h100", Engine: "vllm", TP: 2, EP: 1, Concurrency: 4, InputTokens: 1024, OutputTokens: 256}
	p, err := Resolve(CalibrationConfig(row, Config{}))
	if err != nil {
		t.Fatal(err)
	}
	r := Simulate(p, CalibrationWorkload(row, 7))
	n := int64(10 * row.Concurrency)
	if lo, hi := n*819, n*1024; r.PromptTokens < lo || r.PromptTokens > hi {
		t.Errorf("prompt tokens %d outside [%d, %d]", r.PromptTokens, lo, hi)
	}
	if lo, hi := n*204, n*256; r.OutputTokens < lo || r.OutputTokens > hi {
		t.Errorf("output tokens %d outside [%d, %d]", r.OutputTokens, lo, hi)
	}
	if want := float64(r.PromptTokens+r.OutputTokens) / r.Seconds; math.Abs(r.TotalTokensPerSecond-want) > 1e-9*want {
		t.Errorf("total throughput %v, want %v", r.TotalTokensPerSecond, want)
	}
	if r.MeanTPOT <= 0 || r.MeanTTFT <= 0 {
		t.Errorf("TPOT %v, TTFT %v", r.MeanTPOT, r.MeanTTFT)
	}
	again := Simulate(p, CalibrationWorkload(row, 7))
	if again.Seconds != r.Seconds || again.PromptTokens != r.PromptTokens {
		t.Error("the same seed gave a different run")
	}
}

// calibrationSubset is a handful of rows across hardware, TP, lengths and
// concurrency that replays in a few seconds.
var calibrationSubset = []struct {
	hw            string
	tp, conc      int
	input, output int
}{
	{"h100", 2, 4, 1024, 1024},
	{"h100", 8, 32, 1024, 1024},
	{"h100", 4, 16, 8192, 1024},
	{"h200", 1, 4, 1024, 1024},
	{"h200", 4, 32, 1024, 1024},
	{"h200", 2, 8, 8192, 1024},
	{"b200", 1, 32, 1024, 1024},
	{"b200", 8, 4, 1024, 1024},
	{"b200", 2, 16, 8192, 1024},
}

// TestCalibrationGoals replays a subset of the public runs and asserts
// the per-row goals (throughput and per-user speed within 0.75–1.33, TTFT
// within 2×). The whole file, with the per-hardware geometric means, is
// TestCalibrationGoalsAll and `make calibrate`.
func TestCalibrationGoals(t *testing.T) {
	rows := readCalibration(t, "inferencemax-gpt-oss-120b-vllm.csv")
	var res []CalibrationResult
	for _, s := range calibrationSubset {
		found := false
		for _, r := range rows {
			if r.Hardware == s.hw && r.TP == s.tp && r.Concurrency == s.conc && r.InputTokens == s.input && r.OutputTokens == s.output {
				c, err := Calibrate(r, Config{}, 1)
				if err != nil {
					t.Fatal(err)
				}
				res = append(res, c)
				found = true
			}
		}
		if !found {
			t.Fatalf("no row %+v in the calibration file", s)
		}
	}
	for _, m := range DefaultCalibrationGoals.Check(res, len(res)+1) {
		t.Error(m)
	}
}

// TestCalibrationGoalsAll replays every vLLM row and asserts all goals,
// including the per-hardware geometric means. Seconds without the race
// detector; skipped under it and with -short.
func TestCalibrationGoalsAll(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("the whole calibration file takes too long under -race or -short; TestCalibrationGoals covers a subset")
	}
	var res []CalibrationResult
	for _, r := range readCalibration(t, "inferencemax-gpt-oss-120b-vllm.csv") {
		c, err := Calibrate(r, Config{}, 1)
		if err != nil {
			t.Fatal(err)
		}
		res = append(res, c)
	}
	for _, m := range DefaultCalibrationGoals.Check(res, 2) {
		t.Error(m)
	}
	for _, s := range Summarize(res) {
		t.Logf("%s %s: tok/s/GPU %.2f (worst %.2f), tok/s/user %.2f (worst %.2f), TTFT %.2f (worst %.2f)", s.Hardware, s.Engine,
			s.ThroughputGeoMean, s.ThroughputWorst, s.SpeedGeoMean, s.SpeedWorst, s.TTFTGeoMean, s.TTFTWorst)
	}
}

func TestCalibrationGoalsCheck(t *testing.T) {
	row := CalibrationRow{Hardware: "x", Engine: "vllm", TP: 1, EP: 1, Concurrency: 4, InputTokens: 1, OutputTokens: 1,
		TotalPerGPU: 100, MeanTPOT: 0.01, MeanTTFT: 0.1}
	ok := CalibrationResult{Row: row, TotalPerGPU: 100, UserSpeed: 100, MeanTTFT: 0.1}
	slow := CalibrationResult{Row: row, TotalPerGPU: 70, UserSpeed: 100, MeanTTFT: 0.25}
	if m := DefaultCalibrationGoals.Check([]CalibrationResult{ok, ok}, 2); len(m) != 0 {
		t.Errorf("exact results missed goals: %v", m)
	}
	m := DefaultCalibrationGoals.Check([]CalibrationResult{ok, slow}, 2)
	want := []string{"tok/s/GPU sim ÷ public 0.70", "TTFT sim ÷ public 2.50", "tok/s/GPU geometric mean 0.84"}
	if len(m) != len(want) {
		t.Fatalf("misses %q, want %d", m, len(want))
	}
	for i, w := range want {
		if !strings.Contains(m[i], w) {
			t.Errorf("miss %d = %q, want it to contain %q", i, m[i], w)
		}
	}
}
