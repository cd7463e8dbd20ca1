package analyze

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Default pass-rule parameters: the published AA-AgentPerf rule.
const (
	DefaultSpeedPercentile = 25   // P25 output speed ≥ floor
	DefaultTTFTPercentile  = 95   // P95 TTFT ≤ ceiling
	DefaultMaxErrorRate    = 0.01 // errors ≤ 1 % of steady-state requests
)

// Tier is a speed tier: the service level a concurrency level must hold to
// count at that tier.
type Tier struct {
	// Name labels the tier in tables, e.g. "100 tok/s".
	Name string `json:"name"`
	// SpeedFloor is the minimum per-request output speed, tok/s, at
	// SpeedPercentile.
	SpeedFloor float64 `json:"speed_floor"`
	// TTFTCeiling is the maximum time to first token at TTFTPercentile;
	// 0 means no TTFT limit.
	TTFTCeiling time.Duration `json:"ttft_ceiling"`
	// SpeedPercentile and TTFTPercentile are percentiles (0–100]; 0 means
	// the defaults 25 and 95.
	SpeedPercentile float64 `json:"speed_percentile"`
	TTFTPercentile  float64 `json:"ttft_percentile"`
	// MaxErrorRate is the highest error fraction allowed (0.01 = 1 %); 0
	// means the default 0.01, a negative value allows no error at all.
	MaxErrorRate float64 `json:"max_error_rate"`
}

// NewTier returns a tier with the AA-AgentPerf defaults: P25 speed, P95
// TTFT, 1 % errors. Its name is "<floor> tok/s".
func NewTier(speedFloor float64, ttftCeiling time.Duration) Tier {
	return Tier{
		Name:            strconv.FormatFloat(speedFloor, 'f', -1, 64) + " tok/s",
		SpeedFloor:      speedFloor,
		TTFTCeiling:     ttftCeiling,
		SpeedPercentile: DefaultSpeedPercentile,
		TTFTPercentile:  DefaultTTFTPercentile,
		MaxErrorRate:    DefaultMaxErrorRate,
	}
}

// Normalized returns t with zero fields replaced by their defaults.
func (t Tier) Normalized() Tier {
	if t.SpeedPercentile == 0 {
		t.SpeedPercentile = DefaultSpeedPercentile
	}
	if t.TTFTPercentile == 0 {
		t.TTFTPercentile = DefaultTTFTPercentile
	}
	if t.MaxErrorRate == 0 {
		t.MaxErrorRate = DefaultMaxErrorRate
	}
	if t.Name == "" {
		t.Name = strconv.FormatFloat(t.SpeedFloor, 'f', -1, 64) + " tok/s"
	}
	return t
}

// Validate reports a tier that cannot be judged.
func (t Tier) Validate() error {
	switch {
	case math.IsNaN(t.SpeedFloor) || math.IsInf(t.SpeedFloor, 0) || t.SpeedFloor < 0:
		return fmt.Errorf("tier %q: speed_floor %v must be a finite number ≥ 0 tok/s", t.Name, t.SpeedFloor)
	case t.TTFTCeiling < 0:
		return fmt.Errorf("tier %q: ttft_ceiling %v must be ≥ 0", t.Name, t.TTFTCeiling)
	case t.SpeedPercentile < 0 || t.SpeedPercentile > 100 || math.IsNaN(t.SpeedPercentile):
		return fmt.Errorf("tier %q: speed_percentile %v must be in (0, 100]", t.Name, t.SpeedPercentile)
	case t.TTFTPercentile < 0 || t.TTFTPercentile > 100 || math.IsNaN(t.TTFTPercentile):
		return fmt.Errorf("tier %q: ttft_percentile %v must be in (0, 100]", t.Name, t.TTFTPercentile)
	case t.MaxErrorRate > 1 || math.IsNaN(t.MaxErrorRate):
		return fmt.Errorf("tier %q: max_error_rate %v must be ≤ 1 (a fraction: 0.01 = 1 %%)", t.Name, t.MaxErrorRate)
	case t.SpeedFloor == 0 && t.TTFTCeiling == 0:
		return fmt.Errorf("tier %q: needs a speed_floor or a ttft_ceiling", t.Name)
	}
	return nil
}

// presets holds the published tiers (REFERENCE.md, mid-2026).
var presets = map[string][]Tier{
	"gpt-oss-120b": {
		NewTier(100, 5*time.Second),
		NewTier(250, 3*time.Second),
		NewTier(500, 2*time.Second),
		NewTier(2000, 1*time.Second),
	},
	"deepseek-v3.2": {
		NewTier(30, 15*time.Second),
		NewTier(100, 15*time.Second),
		NewTier(300, 15*time.Second),
	},
	"deepseek-v4-pro": {
		NewTier(20, 10*time.Second),
		NewTier(60, 5*time.Second),
		NewTier(180, 3*time.Second),
	},
}

// presetAliases maps other spellings of model names to preset names.
var presetAliases = map[string]string{
	"gpt-oss":                       "gpt-oss-120b",
	"openai/gpt-oss-120b":           "gpt-oss-120b",
	"deepseek-v3.2-exp":             "deepseek-v3.2",
	"deepseek-ai/deepseek-v3.2":     "deepseek-v3.2",
	"deepseek-ai/deepseek-v3.2-exp": "deepseek-v3.2",
	"deepseek-v4":                   "deepseek-v4-pro",
	"deepseek-ai/deepseek-v4-pro":   "deepseek-v4-pro",
}

// presetNames returns the names of the built-in tier presets, sorted.
func presetNames() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Preset returns the published tiers for a model: "gpt-oss-120b" (100 tok/s
// & 5 s, 250 & 3 s, 500 & 2 s, 2000 & 1 s), "deepseek-v3.2" (30, 100, 300
// tok/s, 15 s) or "deepseek-v4-pro" (20 & 10 s, 60 & 5 s, 180 & 3 s); names
// are case-insensitive and a few model-id spellings are accepted.
func Preset(name string) ([]Tier, error) {
	key := strings.ToLower(strings.TrimSpace(name))
	if a, ok := presetAliases[key]; ok {
		key = a
	}
	t, ok := presets[key]
	if !ok {
		return nil, fmt.Errorf("unknown tier preset %q (known: %s; or give a tier file)", name, strings.Join(presetNames(), ", "))
	}
	return append([]Tier(nil), t...), nil
}

// tierFile is the layout of a tier file (YAML or JSON).
type tierFile struct {
	Tiers []tierEntry `yaml:"tiers"`
}

type tierEntry struct {
	Name            string   `yaml:"name"`
	SpeedFloor      *float64 `yaml:"speed_floor"`
	TTFTCeiling     string   `yaml:"ttft_ceiling"`
	SpeedPercentile *float64 `yaml:"speed_percentile"`
	TTFTPercentile  *float64 `yaml:"ttft_percentile"`
	MaxErrorRate    *float64 `yaml:"max_error_rate"`
}

// parseTiers reads tiers from YAML or JSON:
//
//	tiers:
//	  - name: fast            # optional; default "<floor> tok/s"
//	    speed_floor: 100      # tok/s
//	    ttft_ceiling: 5s      # Go duration, or a number of seconds
//	    speed_percentile: 25  # optional, default 25
//	    ttft_percentile: 95   # optional, default 95
//	    max_error_rate: 0.01  # optional fraction, default 0.01; 0 allows none
//
// name labels errors (a file name).
func parseTiers(data []byte, name string) ([]Tier, error) {
	var f tierFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: not a tier file: %w", name, err)
	}
	if len(f.Tiers) == 0 {
		return nil, fmt.Errorf("%s: no tiers (expected a top-level \"tiers:\" list)", name)
	}
	out := make([]Tier, 0, len(f.Tiers))
	seen := map[string]bool{}
	for i, e := range f.Tiers {
		t := Tier{Name: e.Name, SpeedPercentile: DefaultSpeedPercentile, TTFTPercentile: DefaultTTFTPercentile, MaxErrorRate: DefaultMaxErrorRate}
		if e.SpeedFloor != nil {
			t.SpeedFloor = *e.SpeedFloor
		}
		if e.TTFTCeiling != "" {
			d, err := parseDuration(e.TTFTCeiling)
			if err != nil {
				return nil, fmt.Errorf("%s: tier %d: ttft_ceiling: %w", name, i+1, err)
			}
			t.TTFTCeiling = d
		}
		if e.SpeedPercentile != nil {
			if *e.SpeedPercentile <= 0 {
				return nil, fmt.Errorf("%s: tier %d: speed_percentile %v must be in (0, 100]", name, i+1, *e.SpeedPercentile)
			}
			t.SpeedPercentile = *e.SpeedPercentile
		}
		if e.TTFTPercentile != nil {
			if *e.TTFTPercentile <= 0 {
				return nil, fmt.Errorf("%s: tier %d: ttft_percentile %v must be in (0, 100]", name, i+1, *e.TTFTPercentile)
			}
			t.TTFTPercentile = *e.TTFTPercentile
		}
		if e.MaxErrorRate != nil {
			if *e.MaxErrorRate < 0 {
				return nil, fmt.Errorf("%s: tier %d: max_error_rate %v must be in [0, 1]", name, i+1, *e.MaxErrorRate)
			}
			t.MaxErrorRate = *e.MaxErrorRate
			if t.MaxErrorRate == 0 {
				t.MaxErrorRate = -1 // explicit zero: no error allowed
			}
		}
		if t.Name == "" {
			t.Name = strconv.FormatFloat(t.SpeedFloor, 'f', -1, 64) + " tok/s"
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("%s: tier name %q appears twice", name, t.Name)
		}
		seen[t.Name] = true
		if err := t.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, t)
	}
	return out, nil
}

// ParseTier reads one tier given as text: "SPEED:TTFT" (e.g. "250:3s" or
// "250:3", TTFT as a duration or a number of seconds, the syntax of tier
// files), a bare speed naming one of model's published presets (e.g. "250"
// for gpt-oss-120b), or "" for the model's slowest preset.
func ParseTier(s, model string) (Tier, error) {
	presets, perr := Preset(model)
	if strings.TrimSpace(s) == "" {
		if perr != nil {
			return Tier{}, fmt.Errorf("no tier presets for model %q: give a tier as SPEED:TTFT (e.g. 100:5s)", model)
		}
		return presets[0], nil
	}
	sp, tt, hasTTFT := strings.Cut(s, ":")
	speed, err := strconv.ParseFloat(strings.TrimSpace(sp), 64)
	if err != nil || !(speed > 0) || math.IsInf(speed, 0) {
		return Tier{}, fmt.Errorf("tier %q: want SPEED:TTFT such as 100:5s (speed in tok/s > 0)", s)
	}
	if !hasTTFT {
		for _, p := range presets {
			if p.SpeedFloor == speed {
				return p, nil
			}
		}
		return Tier{}, fmt.Errorf("tier %q: model %q has no %g tok/s preset; give SPEED:TTFT (e.g. %g:5s)", s, model, speed, speed)
	}
	d, err := parseDuration(tt)
	if err != nil || d <= 0 {
		return Tier{}, fmt.Errorf("tier %q: TTFT %q: want a duration > 0 such as 5s, 1500ms or 5", s, tt)
	}
	t := NewTier(speed, d)
	return t, t.Validate()
}

func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("%q must be ≥ 0 seconds", s)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is neither a number of seconds nor a duration like 5s or 1500ms", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q must be ≥ 0", s)
	}
	return d, nil
}

// LoadTiers returns the tiers named by spec: a preset name (see Presets) or
// the path of a tier file (see parseTiers).
func LoadTiers(spec string) ([]Tier, error) {
	if t, err := Preset(spec); err == nil {
		return t, nil
	}
	data, err := os.ReadFile(spec)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("tiers %q: neither a preset (%s) nor a file", spec, strings.Join(presetNames(), ", "))
		}
		return nil, err
	}
	return parseTiers(data, spec)
}

// Verdict is the judgement of one level at one tier.
type Verdict struct {
	Tier string `json:"tier"`
	// Pass is true when every rule holds.
	Pass bool `json:"pass"`
	// Speed is the measured output speed at the tier's percentile, tok/s
	// (NaN when no request had a measurable speed).
	Speed float64 `json:"speed"`
	// TTFT is the measured TTFT at the tier's percentile (-1 when no request
	// had a first token).
	TTFT time.Duration `json:"ttft"`
	// ErrorRate is the level's error fraction.
	ErrorRate float64 `json:"error_rate"`
	// Reasons says why the level failed; empty when it passed.
	Reasons []string `json:"reasons,omitempty"`
}

// Judge applies the tier's rule to a level: it passes when, over the
// steady-state window, the SpeedPercentile of output speed ≥ SpeedFloor, the
// TTFTPercentile of TTFT ≤ TTFTCeiling, and the error rate ≤ MaxErrorRate.
// A level without any steady-state request, or without a request whose
// output speed can be measured while the tier has a speed floor, fails.
// Validity flags (LevelStats.Flags) do not change the verdict.
func (t Tier) Judge(s *LevelStats) Verdict {
	t = t.Normalized()
	v := Verdict{Tier: t.Name, Speed: math.NaN(), TTFT: -1, ErrorRate: s.ErrorRate()}
	if s.Requests == 0 {
		v.Reasons = append(v.Reasons, "no steady-state requests")
		return v
	}
	if s.OutputSpeed.Count() > 0 {
		v.Speed = s.OutputSpeed.Percentile(t.SpeedPercentile)
	}
	if s.TTFT.Count() > 0 {
		v.TTFT = time.Duration(math.Round(s.TTFT.Percentile(t.TTFTPercentile) * float64(time.Millisecond)))
	}
	if t.SpeedFloor > 0 {
		switch {
		case math.IsNaN(v.Speed):
			v.Reasons = append(v.Reasons, "no request with a measurable output speed (all had ≤ 1 output token or failed)")
		case v.Speed < t.SpeedFloor:
			v.Reasons = append(v.Reasons, fmt.Sprintf("P%s output speed %.1f tok/s < floor %s tok/s",
				fmtNum(t.SpeedPercentile), v.Speed, fmtNum(t.SpeedFloor)))
		}
	}
	if t.TTFTCeiling > 0 {
		switch {
		case v.TTFT < 0:
			v.Reasons = append(v.Reasons, "no request received a first token")
		case v.TTFT > t.TTFTCeiling:
			v.Reasons = append(v.Reasons, fmt.Sprintf("P%s TTFT %s > ceiling %s",
				fmtNum(t.TTFTPercentile), v.TTFT.Round(time.Microsecond), t.TTFTCeiling))
		}
	}
	maxErr := t.MaxErrorRate
	if maxErr < 0 {
		maxErr = 0
	}
	if v.ErrorRate > maxErr {
		v.Reasons = append(v.Reasons, fmt.Sprintf("error rate %.2f %% > %s %%", 100*v.ErrorRate, fmtNum(100*maxErr)))
	}
	v.Pass = len(v.Reasons) == 0
	return v
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// fmtDur prints a duration rounded to the millisecond (whole seconds as "5s").
func fmtDur(d time.Duration) string {
	return d.Round(time.Millisecond).String()
}
