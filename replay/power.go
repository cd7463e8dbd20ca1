package replay

import (
	"context"
	"path/filepath"

	"github.com/agentperf/agentperf/power"
	"github.com/agentperf/agentperf/schemas"
)

// startPower starts sampling the run's power sources on the world clock
// (the results' time base); no-op without sources. The run calls it once
// its clock exists, before the first level.
func (r *runner) startPower(ctx context.Context) {
	if len(r.cfg.Power) == 0 || r.power != nil {
		return
	}
	r.power = power.Start(ctx, r.cfg.Power, power.Options{
		RunID: r.cfg.RunID, Shard: max(r.plan.Shard.Index, 0), Clock: r.clock.World, Logger: r.log})
}

// finishTarget ends what the run measured beside its rows: it stops the
// power sampler, writes the power file, records both in the metadata and
// reports each gap as a warning (a source that failed never fails the
// run), and gives the report the engine, probe, context and power
// records. Later calls
// do nothing.
func (r *runner) finishTarget(rep *Report) {
	rep.Context, rep.Engine, rep.Probe = r.meta.Context, r.meta.Engine, r.meta.Probe
	if p := r.meta.Provenance; p != nil {
		rep.EngineVersion = p.Version
	}
	if r.power == nil || r.powerDone {
		rep.Power = r.meta.Power
		return
	}
	r.powerDone = true
	rec := r.power.Stop()
	pm := &schemas.PowerMeta{Samples: len(rec.Samples)}
	for _, s := range r.cfg.Power {
		pm.Sources = append(pm.Sources, s.Label)
	}
	for _, g := range rec.Gaps {
		pm.Gaps = append(pm.Gaps, g.String())
		r.warn("power: %s", g)
	}
	if len(rec.Samples) == 0 {
		r.warn("power: no source gave a reading: no power was measured")
	}
	if f := r.cfg.PowerFile; f != "" {
		if err := power.Save(f, rec, r.cfg.PowerOverwrite); err != nil {
			pm.Error = err.Error()
			r.warn("power: the samples were not saved: %v", err)
		} else {
			pm.File = filepath.Base(f)
		}
	}
	r.meta.Power = pm
	rep.Power = pm
}
