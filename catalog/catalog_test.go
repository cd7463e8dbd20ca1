package catalog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultComplete(t *testing.T) {
	c := Default()
	for _, name := range []string{"h100", "h200", "b200", "gb200-nvl72", "mi300x", "mi355x"} {
		h, err := c.FindHardware(name)
		if err != nil {
			t.Fatal(err)
		}
		if h.MemoryGB <= 0 || h.HBMBandwidthTBps <= 0 || h.BF16TFLOPS <= 0 || h.FP8TFLOPS <= 0 ||
			h.TDPWatts <= 0 || h.DollarsPerHour <= 0 || h.AcceleratorsPerRack <= 0 || h.Source == "" {
			t.Errorf("%s has a missing figure: %+v", name, h)
		}
	}
	for _, name := range []string{"gpt-oss-120b", "deepseek-v3.2"} {
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
