package analyze

import (
	"github.com/agentperf/agentperf/internal/hist"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPresets(t *testing.T) {
	for _, c := range []struct {
		name   string
		floors []float64
		ceils  []time.Duration
	}{
		{"gpt-oss-120b", []float64{100, 250, 500, 2000}, []time.Duration{5 * time.Second, 3 * time.Second, 2 * time.Second, time.Second}},
		{"DeepSeek-V3.2", []float64{30, 100, 300}, []time.Duration{15 * time.Second, 15 * time.Second, 15 * time.Second}},
		{"deepseek-v4-pro", []float64{20, 60, 180}, []time.Duration{10 * time.Second, 5 * time.Second, 3 * time.Second}},
		{"openai/gpt-oss-120b", []float64{100, 250, 500, 2000}, nil},
	} {
		tiers, err := Preset(c.name)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(tiers) != len(c.floors) {
			t.Fatalf("%s: %d tiers, want %d", c.name, len(tiers), len(c.floors))
		}
		for i, tr := range tiers {
			if tr.SpeedFloor != c.floors[i] || (c.ceils != nil && tr.TTFTCeiling != c.ceils[i]) ||
				tr.SpeedPercentile != 25 || tr.TTFTPercentile != 95 || tr.MaxErrorRate != 0.01 {
				t.Errorf("%s tier %d = %+v", c.name, i, tr)
			}
		}
	}
	if _, err := Preset("llama"); err == nil || !strings.Contains(err.Error(), "gpt-oss-120b") {
		t.Errorf("unknown preset error should list the known ones: %v", err)
	}
	a, _ := Preset("gpt-oss-120b")
	a[0].SpeedFloor = 1
	if b, _ := Preset("gpt-oss-120b"); b[0].SpeedFloor != 100 {
		t.Error("Preset returned shared memory")
	}
}

func TestParseTiers(t *testing.T) {
	yml := `tiers:
  - name: snappy
    speed_floor: 150
    ttft_ceiling: 1500ms
    speed_percentile: 10
    ttft_percentile: 99
    max_error_rate: 0
  - speed_floor: 40
    ttft_ceiling: 7.5
`
	got, err := parseTiers([]byte(yml), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []Tier{
		{Name: "snappy", SpeedFloor: 150, TTFTCeiling: 1500 * time.Millisecond, SpeedPercentile: 10, TTFTPercentile: 99, MaxErrorRate: -1},
		{Name: "40 tok/s", SpeedFloor: 40, TTFTCeiling: 7500 * time.Millisecond, SpeedPercentile: 25, TTFTPercentile: 95, MaxErrorRate: 0.01},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d tiers, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("tier %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	js := `{"tiers": [{"name": "j", "speed_floor": 10, "ttft_ceiling": "2s"}]}`
	if g, err := parseTiers([]byte(js), "t.json"); err != nil || g[0].TTFTCeiling != 2*time.Second {
		t.Errorf("JSON tier file: %+v %v", g, err)
	}
	for _, bad := range []struct{ in, want string }{
		{"tiers: []", "no tiers"},
		{"tier:\n  - speed_floor: 1", "not a tier file"},
		{"tiers:\n  - speed_flor: 1", "speed_flor"},
		{"tiers:\n  - speed_floor: 1\n    ttft_ceiling: soon", "ttft_ceiling"},
		{"tiers:\n  - speed_floor: -1", "speed_floor"},
		{"tiers:\n  - speed_floor: 1\n    speed_percentile: 0", "speed_percentile"},
		{"tiers:\n  - speed_floor: 1\n    ttft_percentile: 101", "ttft_percentile"},
		{"tiers:\n  - speed_floor: 1\n    max_error_rate: 2", "max_error_rate"},
		{"tiers:\n  - name: a\n    speed_floor: 1\n  - name: a\n    speed_floor: 2", "twice"},
		{"tiers:\n  - name: a", "needs a speed_floor"},
	} {
		if _, err := parseTiers([]byte(bad.in), "bad.yaml"); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("parseTiers(%q) error %v, want one mentioning %q", bad.in, err, bad.want)
		}
	}
}

func TestLoadTiers(t *testing.T) {
	if tiers, err := LoadTiers("deepseek-v3.2"); err != nil || len(tiers) != 3 {
		t.Errorf("preset via LoadTiers: %v %v", tiers, err)
	}
	p := filepath.Join(t.TempDir(), "tiers.yaml")
	os.WriteFile(p, []byte("tiers:\n  - speed_floor: 5\n    ttft_ceiling: 1s\n"), 0o644)
	if tiers, err := LoadTiers(p); err != nil || len(tiers) != 1 || tiers[0].SpeedFloor != 5 {
		t.Errorf("file via LoadTiers: %v %v", tiers, err)
	}
	if _, err := LoadTiers(filepath.Join(t.TempDir(), "nope.yaml")); err == nil || !strings.Contains(err.Error(), "neither a preset") {
		t.Errorf("missing tiers: %v", err)
	}
}

// statsWith builds LevelStats with given speeds, TTFTs (ms) and error count.
func statsWith(speeds, ttftsMS []float64, requests, errors int64) *LevelStats {
	s := &LevelStats{OutputSpeed: hist.New(speedScale), TTFT: hist.New(msScale), Requests: requests, Errors: errors}
	for _, v := range speeds {
		s.OutputSpeed.Add(v)
	}
	for _, v := range ttftsMS {
		s.TTFT.Add(v)
	}
	return s
}

func TestJudge(t *testing.T) {
	speeds := []float64{80, 120, 140, 160, 200} // P25 = 120
	ttfts := make([]float64, 100)               // P95 = 95 ms … 4095 ms
	for i := range ttfts {
		ttfts[i] = float64(i)
	}
	tier := NewTier(100, 5*time.Second)
	for _, c := range []struct {
		name    string
		tier    Tier
		s       *LevelStats
		pass    bool
		reasons []string
	}{
		{"passes", tier, statsWith(speeds, ttfts, 100, 1), true, nil},
		{"slow", NewTier(121, 5*time.Second), statsWith(speeds, ttfts, 100, 0), false, []string{"P25 output speed 120.0 tok/s < floor 121 tok/s"}},
		{"floor equal passes", NewTier(120, 5*time.Second), statsWith(speeds, ttfts, 100, 0), true, nil},
		{"ttft", NewTier(100, 90*time.Millisecond), statsWith(speeds, ttfts, 100, 0), false, []string{"P95 TTFT 94.05ms > ceiling 90ms"}},
		{"errors", tier, statsWith(speeds, ttfts, 100, 2), false, []string{"error rate 2.00 % > 1 %"}},
		{"zero errors allowed", Tier{Name: "z", SpeedFloor: 1, MaxErrorRate: -1}, statsWith(speeds, ttfts, 100, 1), false, []string{"error rate 1.00 % > 0 %"}},
		{"custom percentile", Tier{SpeedFloor: 100, SpeedPercentile: 10}, statsWith(speeds, ttfts, 100, 0), false, []string{"P10 output speed 96.0 tok/s < floor 100 tok/s"}},
		{"no speed", tier, statsWith(nil, ttfts, 10, 0), false, []string{"no request with a measurable output speed (all had ≤ 1 output token or failed)"}},
		{"no requests", tier, statsWith(nil, nil, 0, 0), false, []string{"no steady-state requests"}},
		{"all fail", tier, statsWith(nil, nil, 10, 10), false, []string{
			"no request with a measurable output speed (all had ≤ 1 output token or failed)",
			"no request received a first token", "error rate 100.00 % > 1 %"}},
	} {
		v := c.tier.Judge(c.s)
		if v.Pass != c.pass || strings.Join(v.Reasons, "|") != strings.Join(c.reasons, "|") {
			t.Errorf("%s: pass %v reasons %q, want %v %q", c.name, v.Pass, v.Reasons, c.pass, c.reasons)
		}
	}
	v := tier.Judge(statsWith(speeds, ttfts, 100, 0))
	if v.Speed != 120 || v.TTFT != 94050*time.Microsecond || v.ErrorRate != 0 || math.IsNaN(v.Speed) {
		t.Errorf("verdict values %+v", v)
	}
}

func TestParseTier(t *testing.T) {
	for _, tt := range []struct {
		in, model string
		speed     float64
		ttft      time.Duration
		bad       string
	}{
		{"", "gpt-oss-120b", 100, 5 * time.Second, ""},
		{"250", "openai/gpt-oss-120b", 250, 3 * time.Second, ""},
		{"250:3s", "", 250, 3 * time.Second, ""},
		{"250:1.5", "", 250, 1500 * time.Millisecond, ""}, // seconds, as in tier files
		{" 60 : 1500ms ", "", 60, 1500 * time.Millisecond, ""},
		{"", "llama", 0, 0, "no tier presets"},
		{"300", "gpt-oss-120b", 0, 0, "no 300 tok/s preset"},
		{"fast:5s", "", 0, 0, "want SPEED:TTFT"},
		{"-1:5s", "", 0, 0, "want SPEED:TTFT"},
		{"100:soon", "", 0, 0, "TTFT"},
		{"100:0s", "", 0, 0, "TTFT"},
	} {
		got, err := ParseTier(tt.in, tt.model)
		switch {
		case tt.bad != "" && (err == nil || !strings.Contains(err.Error(), tt.bad)):
			t.Errorf("ParseTier(%q, %q) error %v, want one mentioning %q", tt.in, tt.model, err, tt.bad)
		case tt.bad == "" && (err != nil || got.SpeedFloor != tt.speed || got.TTFTCeiling != tt.ttft):
			t.Errorf("ParseTier(%q, %q) = %+v, %v; want %g tok/s, %v", tt.in, tt.model, got, err, tt.speed, tt.ttft)
		}
		if err != nil && strings.Contains(err.Error(), "--") {
			t.Errorf("ParseTier(%q): error names a flag: %v", tt.in, err)
		}
	}
}
