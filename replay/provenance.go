package replay

import (
	"context"
	"net/http"

	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/target"
)

// Before the first level (and before the start barrier), Run prepares the
// target: it asks it what it is (Describe: provenance, the engine, the
// context length), picks the engine's dialect (how output is pinned, which
// keys the stream scanner reads), resolves the request settings (presets,
// then the user's), probes each API the plan sends, and cuts the plan's
// sessions to the target's context. Everything it learns goes into
// Config.Meta, and from there into the results footer.

// Engine sources recorded in RunMeta.EngineSource.
const (
	engineGiven    = "given"
	engineDetected = "detected"
	// engineDefault: nothing was detected or given: the generic dialect.
	engineDefault = "default"
	// EngineEmbedded marks the embedded simulator's metadata
	// (RunMeta.EngineSource; RunMeta.Engine is "sim"): replay speaks the
	// generic dialect to it and keeps both as given.
	EngineEmbedded = "embedded"
)

// prepareTarget returns cfg (defaults applied) ready to run against its
// target: Shaping carries the engine's dialect and the request settings,
// Plan is cut to the context, and Meta records provenance, engine,
// settings, probe and context. It fails when a setting or preset is bad,
// the probe refuses the target (*ProbeRefusedError), or no session fits the
// context.
func prepareTarget(ctx context.Context, cfg Config) (Config, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return cfg, err
	}
	m := &cfg.Meta
	apis := planAPIs(cfg)
	model := planModel(cfg)
	overHTTP := cfg.Sender == nil
	var client *http.Client
	if overHTTP && (cfg.Describe || cfg.Probe) {
		// A client of its own: a few short requests, kept out of the run's
		// connection pool.
		t := newTransport(TransportOptions{MaxConns: 4, HTTP2: cfg.Transport.HTTP2, Insecure: cfg.Transport.Insecure, ReadTimes: true})
		defer t.CloseIdleConnections()
		client = &http.Client{Transport: t}
	}
	var prov *schemas.Provenance
	if overHTTP && cfg.Describe {
		p := target.Describe(ctx, cfg.Target, target.DescribeOptions{Client: client, Header: cfg.Headers[apis[0]], Model: model})
		p.Client = schemas.ClientMachine{} // RunMeta.Client says it once
		prov = &p
		m.Provenance = prov
	}

	engine, source := cfg.Engine, engineGiven
	if m.EngineSource == EngineEmbedded {
		// The embedded simulator: it takes the generic dialect's pin and
		// reports usage as the API references define it.
		engine, source = target.EngineGeneric, EngineEmbedded
	} else if engine == "" || engine == target.EngineAuto {
		engine, source = target.EngineGeneric, engineDefault
		if prov != nil {
			engine, source = target.Engine(prov.Engine), engineDetected
		}
	}
	if source != EngineEmbedded {
		m.Engine, m.EngineSource = string(engine), source
	}
	cfg.Shaping.Dialect = target.DialectOf(engine)
	if prov != nil && source == engineGiven && prov.Engine != string(target.EngineGeneric) && prov.Engine != string(engine) {
		m.Warnings = append(m.Warnings, "the target looks like "+prov.Engine+" ("+prov.Evidence+"), but the engine was given as "+string(engine)+": its dialect is used")
	}

	settings, rs, err := resolveSettings(cfg, engine, apis, model)
	if err != nil {
		return cfg, err
	}
	cfg.Shaping.Settings, m.RequestSettings = settings, rs

	switch {
	case cfg.Probe && overHTTP:
		m.Probe = probeTarget(ctx, cfg, client, apis)
		if err := probeRefusal(m.Probe, cfg.Shaping.Output); err != nil {
			return cfg, err
		}
	case m.ProbeSkipped != "":
	case cfg.Probe:
		m.ProbeSkipped = "the run's Sender is not HTTP: there is no target to probe"
	default:
		m.ProbeSkipped = "not asked for"
	}

	plan, cm, warn, err := fitContext(cfg, prov)
	if err != nil {
		return cfg, err
	}
	cfg.Plan, m.Context = plan, cm
	m.Warnings = append(m.Warnings, warn...)
	return cfg, nil
}

// planAPIs returns the APIs the plan's turns are sent with, in a fixed
// order (schemas' order of the three APIs), at least one.
func planAPIs(cfg Config) []string {
	b := builder{api: cfg.API}
	seen := map[string]bool{}
	for _, s := range cfg.Plan.Sessions {
		for _, t := range s.Turns {
			seen[b.sendAPI(t)] = true
		}
	}
	var out []string
	for _, api := range []string{schemas.APIOpenAIChat, schemas.APIOpenAIResponses, schemas.APIAnthropic} {
		if seen[api] {
			out = append(out, api)
		}
	}
	if len(out) == 0 {
		out = []string{schemas.APIOpenAIChat}
	}
	return out
}

// planModel returns the model replay asks for: the Shaping's, else the
// model most turns recorded.
func planModel(cfg Config) string {
	if cfg.Shaping.Model != "" {
		return cfg.Shaping.Model
	}
	return recordedModel(cfg.Plan)
}

// recordedModel returns the model most turns recorded, "" when none did;
// ties go to the model seen first.
func recordedModel(p *Plan) string {
	count := map[string]int{}
	var order []string
	for _, s := range p.Sessions {
		for _, t := range s.Turns {
			if t.Model == "" {
				continue
			}
			if count[t.Model] == 0 {
				order = append(order, t.Model)
			}
			count[t.Model]++
		}
	}
	best := ""
	for _, m := range order {
		if count[m] > count[best] {
			best = m
		}
	}
	return best
}
