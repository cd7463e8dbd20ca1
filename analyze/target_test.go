package analyze

import (
	"testing"

	"github.com/agentperf/agentperf/schemas"
)

// TestTargetLine: what served a run, as the report prints it, for the
// embedded simulator, a detected engine with its provenance, probe and
// context cut, and a file that predates the target fields.
func TestTargetLine(t *testing.T) {
	for _, tc := range []struct {
		name           string
		meta           *schemas.RunMeta
		target, settng string
	}{
		{"old file", &schemas.RunMeta{}, "", ""},
		{"virtual", &schemas.RunMeta{Engine: "sim", EngineSource: "embedded", ResponseClock: "virtual"}, "the embedded simulator, in virtual time", ""},
		{"vllm", &schemas.RunMeta{Engine: "vllm", EngineSource: "detected",
			Provenance:      &schemas.Provenance{BaseURL: "http://gpu:8000/v1", Evidence: "/version", Version: "0.11.0", ContextTokens: 131072},
			Probe:           []schemas.ProbeResult{{API: schemas.APIOpenAIChat, Status: 200}, {API: schemas.APIAnthropic, Status: 404, Err: "not found"}},
			Context:         &schemas.ContextMeta{Limit: 65536, Policy: "truncate", Truncated: 3},
			RequestSettings: &schemas.RequestSettings{Sampling: "aa", ModelPreset: "gpt-oss-120b", User: []string{`reasoning_effort="high"`}}},
			"vllm 0.11.0 (detected from /version); at http://gpu:8000/v1; context 131072 tokens; probe 1 of 2 APIs answered; context cut to 65536 tokens (truncate: 3 sessions truncated, 0 skipped)",
			`sampling aa, model preset gpt-oss-120b, reasoning_effort="high"`},
		{"given, no probe", &schemas.RunMeta{Engine: "tgi", EngineSource: "given", ProbeSkipped: "--no-probe",
			Provenance: &schemas.Provenance{ModelRevision: "abc123"}, Context: &schemas.ContextMeta{Limit: 8192, Policy: "truncate"}},
			"tgi (given); model revision abc123; probe skipped: --no-probe; context limit 8192 tokens, nothing cut", ""},
	} {
		if got := targetLine(tc.meta); got != tc.target {
			t.Errorf("%s: target line\n got %q\nwant %q", tc.name, got, tc.target)
		}
		if got := settingsLine(tc.meta); got != tc.settng {
			t.Errorf("%s: settings line\n got %q\nwant %q", tc.name, got, tc.settng)
		}
	}
}
