package replay

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/agentperf/agentperf/analyze"
)

// ParseTier reads a --tier value: "SPEED:TTFT" (e.g. "250:3s"), a bare
// speed naming one of the model's published presets (e.g. "250" for
// gpt-oss-120b), or "" for the model's slowest preset. Judging uses
// analyze's rule (P25 output speed ≥ floor, P95 TTFT ≤ ceiling, errors ≤
// 1 %), so replay's search and analyze's report agree.
func ParseTier(s, model string) (analyze.Tier, error) {
	presets, perr := analyze.Preset(model)
	if s == "" {
		if perr != nil {
			return analyze.Tier{}, fmt.Errorf("no tier presets for model %q: give --tier SPEED:TTFT (e.g. 100:5s)", model)
		}
		return presets[0], nil
	}
	sp, tt, hasTTFT := strings.Cut(s, ":")
	speed, err := strconv.ParseFloat(strings.TrimSpace(sp), 64)
	if err != nil || speed <= 0 {
		return analyze.Tier{}, fmt.Errorf("bad tier %q: want SPEED:TTFT such as 100:5s", s)
	}
	if !hasTTFT {
		for _, p := range presets {
			if p.SpeedFloor == speed {
				return p, nil
			}
		}
		return analyze.Tier{}, fmt.Errorf("tier %q: no %g tok/s preset for model %q; give SPEED:TTFT (e.g. %g:5s)", s, speed, model, speed)
	}
	d, err := time.ParseDuration(strings.TrimSpace(tt))
	if err != nil || d <= 0 {
		return analyze.Tier{}, fmt.Errorf("bad tier TTFT %q: want a duration such as 5s", tt)
	}
	return analyze.NewTier(speed, d), nil
}
