package analyze

import (
	"strings"
	"testing"
)

// FuzzParseTiers checks that any tier file either parses into valid tiers
// or fails with an error naming the file, never panicking.
func FuzzParseTiers(f *testing.F) {
	f.Add([]byte("tiers:\n  - name: a\n    speed_floor: 100\n    ttft_ceiling: 5s\n"))
	f.Add([]byte(`{"tiers": [{"speed_floor": 30, "ttft_ceiling": 15, "max_error_rate": 0}]}`))
	f.Add([]byte("tiers:\n  - speed_floor: 1e309\n"))
	f.Add([]byte("tiers: [{ttft_ceiling: -1s}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tiers, err := parseTiers(data, "fuzz.yaml")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Errorf("error does not name the file: %v", err)
			}
			return
		}
		if len(tiers) == 0 {
			t.Error("no error and no tiers")
		}
		for _, tr := range tiers {
			if err := tr.Validate(); err != nil {
				t.Errorf("parsed an invalid tier: %v", err)
			}
		}
	})
}

// FuzzParseTier checks the one-tier parser: a parsed tier is valid.
func FuzzParseTier(f *testing.F) {
	f.Add("250:3s", "gpt-oss-120b")
	f.Add("100", "deepseek-v3.2")
	f.Add(":", "")
	f.Fuzz(func(t *testing.T, s, model string) {
		tier, err := ParseTier(s, model)
		if err == nil {
			if verr := tier.Validate(); verr != nil {
				t.Errorf("ParseTier(%q) gave an invalid tier: %v", s, verr)
			}
		}
	})
}
