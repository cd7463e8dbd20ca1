package catalog

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

//go:embed presets.yaml
var presetsYAML []byte

// Presets are the request presets: sampling presets chosen by name and
// per-model presets chosen by the model replay asks for.
type Presets struct {
	Sampling []Preset `yaml:"sampling"`
	Models   []Preset `yaml:"models"`
}

// Preset is a named set of request fields, expressed per API.
type Preset struct {
	Name string `yaml:"name"`
	// Aliases match model ids (model presets only): a model matches when
	// its last path segment, lowercased, starts with an alias
	// (openai/gpt-oss-120b matches gpt-oss-120b).
	Aliases     []string `yaml:"aliases,omitempty"`
	Description string   `yaml:"description,omitempty"`
	// Source cites where the fields and their values come from.
	Source   string          `yaml:"source"`
	Requests []PresetRequest `yaml:"requests"`
}

// PresetRequest is a preset's fields for one API, on some engines.
type PresetRequest struct {
	// API is the API (openai-chat, openai-responses, anthropic).
	API string `yaml:"api"`
	// Engines restricts the rule to these engines; empty means any.
	Engines []string `yaml:"engines,omitempty"`
	// Set are PATH=JSON settings, in order.
	Set []string `yaml:"set"`
	// Dropped names the preset's fields this API or engine does not take;
	// Note says why.
	Dropped []string `yaml:"dropped,omitempty"`
	Note    string   `yaml:"note,omitempty"`
}

// DefaultPresets returns the embedded presets.
func DefaultPresets() (*Presets, error) {
	return ParsePresets(presetsYAML)
}

// ParsePresets reads presets YAML.
func ParsePresets(b []byte) (*Presets, error) {
	var p Presets
	if err := yaml.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("presets: %v", err)
	}
	for _, list := range [][]Preset{p.Sampling, p.Models} {
		for _, pr := range list {
			if pr.Name == "" || pr.Source == "" || len(pr.Requests) == 0 {
				return nil, fmt.Errorf("presets: preset %q needs a name, a source and requests", pr.Name)
			}
			for _, r := range pr.Requests {
				if r.API == "" || len(r.Set) == 0 {
					return nil, fmt.Errorf("presets: preset %q has a request rule without api or set", pr.Name)
				}
			}
		}
	}
	return &p, nil
}

// SamplingNames lists the sampling presets' names, sorted.
func (p *Presets) SamplingNames() []string {
	out := make([]string, 0, len(p.Sampling))
	for _, s := range p.Sampling {
		out = append(out, s.Name)
	}
	sort.Strings(out)
	return out
}

// SamplingPreset returns the sampling preset called name.
func (p *Presets) SamplingPreset(name string) (*Preset, error) {
	for i := range p.Sampling {
		if strings.EqualFold(p.Sampling[i].Name, name) {
			return &p.Sampling[i], nil
		}
	}
	return nil, fmt.Errorf("unknown sampling preset %q (have %s)", name, strings.Join(p.SamplingNames(), ", "))
}

// ModelPreset returns the preset of model (a model id such as
// openai/gpt-oss-120b or deepseek-ai/DeepSeek-V3.2), or nil when none
// matches. The longest matching alias wins.
func (p *Presets) ModelPreset(model string) *Preset {
	m := strings.ToLower(model)
	if i := strings.LastIndexByte(m, '/'); i >= 0 {
		m = m[i+1:]
	}
	var best *Preset
	bestLen := 0
	for i := range p.Models {
		for _, a := range p.Models[i].Aliases {
			if strings.HasPrefix(m, strings.ToLower(a)) && len(a) > bestLen {
				best, bestLen = &p.Models[i], len(a)
			}
		}
	}
	return best
}

// For returns the preset's rule for api on engine: the first rule of that
// API whose engines include engine or are empty.
//
// Replay resolves each preset once per API it sends, parses Set with
// target.ParseSettings, and applies the settings to every request of that
// API before the user's own settings.
func (pr *Preset) For(api, engine string) (PresetRequest, bool) {
	for _, r := range pr.Requests {
		if r.API != api {
			continue
		}
		if len(r.Engines) == 0 {
			return r, true
		}
		for _, e := range r.Engines {
			if e == engine {
				return r, true
			}
		}
	}
	return PresetRequest{}, false
}
