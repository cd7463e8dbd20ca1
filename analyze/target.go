package analyze

import (
	"fmt"
	"strings"

	"github.com/agentperf/agentperf/schemas"
)

// targetLine describes what served a run, from its metadata: the engine
// and how replay knew it, what the target said about itself (version,
// model revision, context length), the probe's outcome and the context
// cut. "" when the metadata says nothing of the target (files written
// before schema 1.2's target fields).
func targetLine(m *schemas.RunMeta) string {
	if m == nil || m.Engine == "" {
		return ""
	}
	if m.Engine == "sim" {
		clock := "over HTTP"
		if m.ResponseClock == "virtual" {
			clock = "in virtual time"
		}
		return "the embedded simulator, " + clock
	}
	var parts []string
	engine := m.Engine
	if p := m.Provenance; p != nil && p.Version != "" {
		engine += " " + p.Version
	}
	if m.EngineSource != "" {
		engine += " (" + m.EngineSource
		if p := m.Provenance; p != nil && p.Evidence != "" && m.EngineSource == "detected" {
			engine += " from " + p.Evidence
		}
		engine += ")"
	}
	parts = append(parts, engine)
	if p := m.Provenance; p != nil {
		if p.BaseURL != "" {
			parts = append(parts, "at "+p.BaseURL)
		}
		if p.ModelRevision != "" {
			parts = append(parts, "model revision "+p.ModelRevision)
		}
		if p.ContextTokens > 0 {
			parts = append(parts, fmt.Sprintf("context %d tokens", p.ContextTokens))
		}
	}
	switch {
	case m.ProbeSkipped != "":
		parts = append(parts, "probe skipped: "+m.ProbeSkipped)
	case len(m.Probe) > 0:
		ok := 0
		for _, r := range m.Probe {
			if r.Status == 200 && r.Err == "" {
				ok++
			}
		}
		parts = append(parts, fmt.Sprintf("probe %d of %d APIs answered", ok, len(m.Probe)))
	}
	if c := m.Context; c != nil && c.Limit > 0 {
		if c.Truncated == 0 && c.Skipped == 0 {
			parts = append(parts, fmt.Sprintf("context limit %d tokens, nothing cut", c.Limit))
		} else {
			parts = append(parts, fmt.Sprintf("context cut to %d tokens (%s: %d sessions truncated, %d skipped)", c.Limit, c.Policy, c.Truncated, c.Skipped))
		}
	}
	return strings.Join(parts, "; ")
}

// settingsLine lists the request settings of a run: the sampling and
// model presets and the user's own PATH=JSON settings; "" when none.
func settingsLine(m *schemas.RunMeta) string {
	if m == nil || m.RequestSettings == nil {
		return ""
	}
	rs := m.RequestSettings
	var parts []string
	if rs.Sampling != "" {
		parts = append(parts, "sampling "+rs.Sampling)
	}
	if rs.ModelPreset != "" {
		parts = append(parts, "model preset "+rs.ModelPreset)
	}
	parts = append(parts, rs.User...)
	return strings.Join(parts, ", ")
}
