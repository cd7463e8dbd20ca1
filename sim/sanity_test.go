package sim

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/internal/testutil/golden"
)

// publicFigure is one published measurement and the workload that
// reproduces it on the simulator.
type publicFigure struct {
	model, hardware string
	cfg             Config
	setup           string // engine and parallelism as published
	workload        Workload
	workloadText    string
	metric          string // "output tok/s", "total tok/s", "TPOT ms", "tok/s/user", "1/TPOT tok/s/user", "total tok/s/GPU"
	value           float64
	source          string
}

// publicFigures are the measured figures the simulator is checked against
// (docs/sim.md, sanity table). Burst workloads send every request at t=0
// (vllm bench serve with no rate limit); "concurrency N" is a closed loop.
// Bursts of ShareGPT prompts are left out: their makespan is set by the
// few longest outputs, which mean lengths cannot reproduce.
var publicFigures = []publicFigure{
	{"gpt-oss-120b", "h100", Config{Accelerators: 1}, "vLLM 0.10.2, TP1", Workload{Users: 4, Requests: 25, PromptTokens: 229, OutputTokens: 217},
		"ShareGPT, concurrency 4 (mean 229 in / 217 out)", "TPOT ms", 8.24, "gpustack performance-lab gpt-oss-120b/h100.md"},
	{"gpt-oss-120b", "h100", Config{Accelerators: 1}, "vLLM 0.10.2, TP1", Workload{Users: 1000, Requests: 1, PromptTokens: 128, OutputTokens: 4},
		"random 128 in / 4 out, 1000 at once", "total tok/s", 17059, "gpustack performance-lab gpt-oss-120b/h100.md"},
	{"gpt-oss-120b", "h100", Config{Accelerators: 1}, "vLLM 0.10.2, TP1", Workload{Users: 500, Requests: 1, PromptTokens: 2000, OutputTokens: 100},
		"random 2000 in / 100 out, 500 at once", "total tok/s", 14386, "gpustack performance-lab gpt-oss-120b/h100.md"},
	{"gpt-oss-120b", "h100", Config{Accelerators: 1}, "vLLM 0.10.2, TP1", Workload{Users: 100, Requests: 1, PromptTokens: 32000, OutputTokens: 100},
		"random 32000 in / 100 out, 100 at once", "total tok/s", 16137, "gpustack performance-lab gpt-oss-120b/h100.md"},
	{"gpt-oss-120b", "b200", Config{Accelerators: 1, KVCacheDtype: "fp8", DisablePrefixCache: true}, "InferenceMAX run, vLLM 0.13.0, MXFP4, TP1, FP8 KV",
		Workload{Users: 128, Requests: 10, PromptTokens: 1024, OutputTokens: 1024, RangeRatio: 0.8, Seed: 1},
		"random 1k in / 1k out (±20 %), concurrency 128", "1/TPOT tok/s/user", 70.1, "InferenceMAX CI run 20667906037 (sim/testdata/calibration)"},
	{"gpt-oss-120b", "b200", Config{Accelerators: 1, KVCacheDtype: "fp8", DisablePrefixCache: true}, "InferenceMAX run, vLLM 0.13.0, MXFP4, TP1, FP8 KV",
		Workload{Users: 128, Requests: 10, PromptTokens: 1024, OutputTokens: 1024, RangeRatio: 0.8, Seed: 1},
		"random 1k in / 1k out (±20 %), concurrency 128", "total tok/s/GPU", 17364, "InferenceMAX CI run 20667906037 (sim/testdata/calibration)"},
	{"gpt-oss-120b", "b200", Config{Accelerators: 8, TP: 8, Engine: "trtllm", KVCacheDtype: "fp8", DisablePrefixCache: true, MaxBatchTokens: 20000}, "InferenceMAX run, TensorRT-LLM, MXFP4, TP8, FP8 KV",
		Workload{Users: 4, Requests: 10, PromptTokens: 1024, OutputTokens: 1024, RangeRatio: 0.8, Seed: 1},
		"random 1k in / 1k out (±20 %), concurrency 4", "TPOT ms", 2.16, "InferenceMAX CI run 20786863188 (sim/testdata/calibration)"},
	{"deepseek-v3.2", "h200", Config{Accelerators: 8, TP: 8}, "vLLM 0.13.0, TP8, FP8 KV", Workload{Users: 100, Requests: 1, PromptTokens: 1000, OutputTokens: 2000},
		"random 1000 in / 2000 out, 100 at once", "TPOT ms", 45.83, "gpustack performance-lab deepseek-v3.2/h200.md"},
	{"deepseek-v3.2", "h200", Config{Accelerators: 8, TP: 8}, "vLLM 0.13.0, TP8, FP8 KV", Workload{Users: 100, Requests: 1, PromptTokens: 1000, OutputTokens: 2000},
		"random 1000 in / 2000 out, 100 at once", "output tok/s", 2075, "gpustack performance-lab deepseek-v3.2/h200.md"},
	{"deepseek-v3.2", "h200", Config{Accelerators: 8, TP: 8}, "vLLM 0.13.0, TP8, FP8 KV", Workload{Users: 500, Requests: 1, PromptTokens: 2000, OutputTokens: 100},
		"random 2000 in / 100 out, 500 at once", "total tok/s", 10926, "gpustack performance-lab deepseek-v3.2/h200.md"},
	{"deepseek-v3.2", "h200", Config{Accelerators: 8, TP: 8}, "vLLM 0.13.0, TP8, FP8 KV", Workload{Users: 100, Requests: 1, PromptTokens: 32000, OutputTokens: 100},
		"random 32000 in / 100 out, 100 at once", "total tok/s", 9709, "gpustack performance-lab deepseek-v3.2/h200.md"},
	{"deepseek-v3.2", "h200", Config{Accelerators: 8, TP: 8, ExpertParallel: true}, "SGLang 0.5.6, TP8 + DP-attention", Workload{Users: 500, Requests: 1, PromptTokens: 2000, OutputTokens: 100},
		"random 2000 in / 100 out, 500 at once", "total tok/s", 27713, "gpustack performance-lab deepseek-v3.2/h200.md"},
	{"deepseek-v3.2", "h200", Config{Accelerators: 8, TP: 8, ExpertParallel: true}, "SGLang 0.5.6, TP8 + DP-attention", Workload{Users: 100, Requests: 1, PromptTokens: 32000, OutputTokens: 100},
		"random 32000 in / 100 out, 100 at once", "total tok/s", 20045, "gpustack performance-lab deepseek-v3.2/h200.md"},
}

func (f publicFigure) simulate(t testing.TB) float64 {
	cfg := f.cfg
	cfg.Hardware, cfg.Model = f.hardware, f.model
	p, err := Resolve(cfg)
	if err != nil {
		t.Fatalf("%s on %s: %v", f.model, f.hardware, err)
	}
	r := Simulate(p, f.workload)
	switch f.metric {
	case "output tok/s":
		return r.OutputTokensPerSecond
	case "total tok/s":
		return r.TotalTokensPerSecond
	case "total tok/s/GPU":
		return r.TotalTokensPerSecond / float64(p.Accelerators)
	case "TPOT ms":
		return 1000 * r.MeanTPOT
	case "tok/s/user":
		return r.UserTokensPerSecond
	case "1/TPOT tok/s/user":
		return 1 / r.MeanTPOT
	}
	t.Fatalf("unknown metric %q", f.metric)
	return 0
}

// TestSanityTable regenerates the sanity tables of docs/sim.md
// (testdata/sanity.md): the simulator beside every public figure, and
// single-user and saturated figures for each model × hardware pair. It
// fails when a figure leaves the 0.33–3× band, so a change to the model
// or the catalog that breaks calibration is seen.
func TestSanityTable(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("| model | hardware | setup | workload | metric | published | simulated | sim ÷ published | source |\n")
	sb.WriteString("|---|---|---|---|---|---:|---:|---:|---|\n")
	for _, f := range publicFigures {
		got := f.simulate(t)
		ratio := got / f.value
		fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s | %s | %s | %.2f | %s |\n", f.model, f.hardware, f.setup, f.workloadText, f.metric,
			num(f.value), num(got), ratio, f.source)
		if ratio < 0.33 || ratio > 3 {
			t.Errorf("%s %s %s %s: simulated %.1f vs published %.1f (ratio %.2f) is outside 0.33–3×", f.model, f.hardware, f.workloadText, f.metric, got, f.value, ratio)
		}
	}
	if raceEnabled {
		t.Log("race detector on: skipping the model × hardware table and the golden comparison")
		return
	}
	sb.WriteString("\n| model | hardware | accelerators (TP) | KV cache per instance, tokens | single-user decode tok/s (1k in / 1k out) | TTFT 1k, ms | saturated output tok/s per accelerator (1,024 requests of 1k in / 1k out at once) | per-user tok/s at saturation | W per accelerator: single user / saturated |\n")
	sb.WriteString("|---|---|---|---:|---:|---:|---:|---:|---|\n")
	for _, m := range []string{"gpt-oss-120b", "deepseek-v3.2", "deepseek-r1", "deepseek-v4-pro"} {
		for _, h := range []string{"h100", "h200", "b200", "b300", "gb200-nvl72", "gb300-nvl72", "mi300x", "mi325x", "mi355x"} {
			p, err := Resolve(Config{Hardware: h, Model: m})
			if err != nil {
				t.Fatal(err)
			}
			one := Simulate(p, Workload{Users: 1, Requests: 1, PromptTokens: 1024, OutputTokens: 1024})
			sat := Simulate(p, Workload{Users: 1024, Requests: 1, PromptTokens: 1024, OutputTokens: 1024})
			_, w1 := one.Energy.Since(EnergyReading{})
			_, ws := sat.Energy.Since(EnergyReading{})
			acc := float64(p.Accelerators)
			fmt.Fprintf(&sb, "| %s | %s | %d (%d) | %s | %s | %.0f | %s | %.1f | %.0f / %.0f |\n", m, h, p.Accelerators, p.TP, num(float64(p.KVTokens)),
				num(one.UserTokensPerSecond), one.TTFT*1000, num(sat.PerAccelerator), sat.UserTokensPerSecond, w1/acc, ws/acc)
		}
	}
	if !golden.Check(t, filepath.Join("testdata", "sanity.md"), []byte(sb.String())) {
		t.Error("after -update, copy the table into docs/sim.md")
	}
}

// num formats a figure with thousands separators and sensible precision.
func num(v float64) string {
	if v < 100 {
		return fmt.Sprintf("%.1f", v)
	}
	s := fmt.Sprintf("%.0f", v)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
