package catalog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultComplete(t *testing.T) {
	c := Default()
	for _, name := range []string{"h100", "h200", "b200", "b300", "gb200-nvl72", "gb300-nvl72", "mi300x", "mi325x", "mi355x"} {
		h, err := c.FindHardware(name)
		if err != nil {
			t.Fatal(err)
		}
		if h.MemoryGB <= 0 || h.HBMBandwidthTBps <= 0 || h.BF16TFLOPS <= 0 || h.FP8TFLOPS <= 0 ||
			h.TDPWatts <= 0 || h.DollarsPerHour <= 0 || h.AcceleratorsPerRack <= 0 || h.Source == "" ||
			h.IdleWatts <= 0 || h.IdleWatts >= h.TDPWatts || h.ComputeWatts <= 0 || h.MemoryWatts <= 0 {
			t.Errorf("%s has a missing figure: %+v", name, h)
		}
	}
	for _, name := range []string{"gpt-oss-120b", "deepseek-v3.2", "deepseek-r1", "deepseek-v4-pro"} {
		m, err := c.FindModel(name)
		if err != nil {
			t.Fatal(err)
		}
		if m.TotalParamsB <= 0 || m.ActiveParamsB <= 0 || m.WeightBytesGB <= 0 || m.Layers <= 0 ||
			m.KVBytesPerToken <= 0 || m.ContextTokens <= 0 || m.Source == "" {
			t.Errorf("%s has a missing figure: %+v", name, m)
		}
	}
}

func TestEngines(t *testing.T) {
	c := Default()
	for _, tc := range []struct {
		engine, hw string
		layerUs    float64 // of the fit found
		soft       float64
	}{
		{"vllm", "h100", 60.5, 0},
		{"VLLM", "gb300-nvl72", 47.1, 0}, // the B200 fit, by its hardware list
		{"vllm", "mi325x", 61.6, 0.5},
		{"sglang", "h200", 61.6, 0}, // no fit of its own: vllm's
	} {
		e, err := c.FindEngine(tc.engine)
		if err != nil {
			t.Fatal(err)
		}
		f := c.HardwareFit(e, tc.hw)
		if f == nil || f.LayerOverheadUs != tc.layerUs || f.SoftwareEfficiency != tc.soft {
			t.Errorf("%s on %s: fit %+v, want layer overhead %v µs, software efficiency %v", tc.engine, tc.hw, f, tc.layerUs, tc.soft)
		}
	}
	if e, _ := c.FindEngine("trt"); e == nil || e.Name != "trtllm" {
		t.Errorf("alias trt: %v", e)
	}
	if _, err := c.FindEngine("tgi"); err == nil || !strings.Contains(err.Error(), "known: sglang, trtllm, vllm") {
		t.Errorf("unknown engine error: %v", err)
	}
	p := filepath.Join(t.TempDir(), "e.yaml")
	os.WriteFile(p, []byte("engines:\n  - name: mine\n    step_overhead_us: 1\n    sequence_overhead_us: 0\n    request_latency_ms: 1\n    hardware:\n      - hardware: [h100]\n        layer_overhead_us: 1\n        collective_latency_us: 1\n        compute_efficiency: 1.5\n        memory_efficiency: 0.5\n"), 0o644)
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "efficiencies must be in [0, 1]") {
		t.Errorf("efficiency 1.5 accepted: %v", err)
	}
	os.WriteFile(p, []byte("models:\n  - name: m\n    compute_precision: fp2\n"), 0o644)
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "compute_precision") {
		t.Errorf("compute_precision fp2 accepted: %v", err)
	}
}

func TestLoadOverlay(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(p, []byte("hardware:\n  - name: h100\n    memory_gb: 94\n  - name: my-chip\n    memory_gb: 1\n"), 0o644)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := c.FindHardware("H100-SXM"); h != nil {
		t.Error("alias of replaced entry should be gone with the replaced entry")
	}
	if h, err := c.FindHardware("h100"); err != nil || h.MemoryGB != 94 {
		t.Errorf("override: %+v %v", h, err)
	}
	if _, err := c.FindHardware("my-chip"); err != nil {
		t.Error(err)
	}
	if _, err := c.FindHardware("nope"); err == nil || !strings.Contains(err.Error(), "known: ") {
		t.Errorf("unknown hardware error: %v", err)
	}
	os.WriteFile(p, []byte("hardware:\n  - name: x\n    memroy_gb: 1\n"), 0o644)
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "memroy_gb") {
		t.Errorf("misspelt field accepted: %v", err)
	}
}
