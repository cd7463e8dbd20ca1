package replay

import (
	"fmt"
	"strings"

	"github.com/agentperf/agentperf/catalog"
	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/target"
)

// ModelPresetNone turns the model presets off (Config.ModelPreset).
const ModelPresetNone = "none"

// resolveSettings returns, per API in apis, the request settings every
// body of that API gets — the sampling preset's rule for the API and
// engine, the model preset's, then the user's settings — and their record
// for the run metadata. model is the model replay asks for; it picks the
// model preset unless cfg.ModelPreset names one.
func resolveSettings(cfg Config, engine target.Engine, apis []string, model string) (map[string][]target.Setting, *schemas.RequestSettings, error) {
	rs := &schemas.RequestSettings{PerAPI: map[string][]string{}, Pin: map[string][]string{}}
	type chosen struct {
		kind string
		p    *catalog.Preset
	}
	var presets []chosen
	if cfg.Sampling != "" || cfg.ModelPreset != ModelPresetNone {
		all, err := catalog.DefaultPresets()
		if err != nil {
			return nil, nil, err
		}
		if cfg.Sampling != "" {
			p, err := all.SamplingPreset(cfg.Sampling)
			if err != nil {
				return nil, nil, err
			}
			presets, rs.Sampling = append(presets, chosen{"sampling", p}), p.Name
		}
		switch cfg.ModelPreset {
		case ModelPresetNone:
		case "":
			if p := all.ModelPreset(model); p != nil {
				presets, rs.ModelPreset = append(presets, chosen{"model", p}), p.Name
			}
		default:
			p := all.ModelPreset(cfg.ModelPreset)
			if p == nil {
				var names []string
				for _, m := range all.Models {
					names = append(names, m.Name)
				}
				return nil, nil, fmt.Errorf("no model preset matches %q (have %s, or none)", cfg.ModelPreset, strings.Join(names, ", "))
			}
			presets, rs.ModelPreset = append(presets, chosen{"model", p}), p.Name
		}
	}
	for _, s := range cfg.Settings {
		rs.User = append(rs.User, s.String())
	}
	out := map[string][]target.Setting{}
	for _, api := range apis {
		var list []target.Setting
		for _, c := range presets {
			rule, ok := c.p.For(api, string(engine))
			if !ok {
				rs.Dropped = append(rs.Dropped, fmt.Sprintf("%s preset %s: nothing for the %s API", c.kind, c.p.Name, api))
				continue
			}
			ss, err := target.ParseSettings(rule.Set)
			if err != nil {
				return nil, nil, fmt.Errorf("%s preset %s, %s API: %w", c.kind, c.p.Name, api, err)
			}
			list = append(list, ss...)
			if len(rule.Dropped) > 0 {
				rs.Dropped = append(rs.Dropped, fmt.Sprintf("%s preset %s on %s (engine %s): %s not sent: %s",
					c.kind, c.p.Name, api, engine, strings.Join(rule.Dropped, ", "), rule.Note))
			}
		}
		list = append(list, cfg.Settings...)
		out[api] = list
		for _, s := range list {
			rs.PerAPI[api] = append(rs.PerAPI[api], s.String())
		}
		if pf := cfg.Shaping.PinFields(api); len(pf) > 0 {
			rs.Pin[api] = pf
		}
	}
	return out, rs, nil
}
