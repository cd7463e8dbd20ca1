// Package power measures the power the systems under test draw while
// replay loads them, stores it beside the results, and turns it into the
// figures analyze reports: mean and P95 system power per level, energy per
// output token and per trajectory, and agents per megawatt of measured
// power (docs/power.md).
//
// Sources. ParseSource reads one source spec: a Prometheus text endpoint
// (prom+http://host:9400/metrics: dcgm-exporter, or the simulator's
// /metrics), scraped every interval, summing one metric (default
// DCGM_FI_DEV_POWER_USAGE, W per GPU) over the series a label filter
// selects; or a command (cmd:nvidia-smi --query-gpu=power.draw
// --format=csv,noheader,nounits -lms 200, amd-smi monitor -p …) run as a
// child process in its own process group, whose output lines are watts per
// GPU, grouped into one sample per system reading. "Measured" means what
// the source reports: accelerator board power for these tools, not the
// host, network or cooling, unless the source covers them.
//
// Sampling never fails a run. Start runs every source concurrently until
// its context ends or Stop; a source that cannot start, whose scrapes
// fail, or whose command dies is retried, and the span without readings is
// a Gap (when it began, why, when it ended, whether it ever recovered).
// Stop returns the Record: samples and gaps. Sample times are world time
// through Options.Clock, the base of the results' timestamps, so power
// lines up with the levels' windows under any time scale.
//
// Storage. Save writes a Record to schemas.PowerPath(results) — a sibling
// Parquet file of kind "power" that DuckDB reads — and Load reads it back;
// Merge joins the files of a run's shards. Every row carries the run id,
// shard, system and source, so several systems and shards sum correctly.
//
// Summaries are pure functions of a Record and a window [from, to) in
// world ns: Record.Summarize (all systems summed), SummarizeSystem and
// Points; then AgentsPerMW, Summary.JoulesPerToken and
// Summary.JoulesPerTrajectory. Summary documents the gap policy.
//
// Intended use in replay (cmd/agentperf adds a repeatable --power flag
// whose values go through ParseSource before the run starts):
//
//	var sources []power.Source
//	for _, spec := range powerFlags {
//		s, err := power.ParseSource(spec)
//		if err != nil {
//			return usageError(err) // exit code 2
//		}
//		sources = append(sources, s)
//	}
//	// In the run, once the clock exists and before the first level:
//	ps := power.Start(ctx, sources, power.Options{
//		RunID: cfg.RunID, Shard: shard, Clock: clock.World, Logger: log})
//	// … the levels run …
//	rec := ps.Stop()
//	for _, g := range rec.Gaps {
//		log.Warn("power gap", "gap", g.String()) // reported, never fatal
//	}
//	err := power.Save(schemas.PowerPath(resultsPath), rec, overwrite)
//	// or, streaming rows yourself:
//	//	w, _ := schemas.CreatePower(schemas.PowerPath(resultsPath), overwrite)
//	//	w.SetMeta("run_id", rec.RunID); w.Write(rec.Rows()); w.Close()
//
// And in analyze, per results file (shard) found:
//
//	rec, err := power.Load(schemas.PowerPath(resultsPath))
//	if errors.Is(err, fs.ErrNotExist) { /* no power measured: columns empty */ }
//	all := power.Merge(recs...)
//	s := all.Summarize(level.WindowStartNS, level.WindowEndNS)
//	// s.MeanW, s.P95W: W; s.JoulesPerToken(outputTokensInWindow): J;
//	// s.JoulesPerTrajectory(completedInWindow): J; s.Flags: level flags.
//	perMW := power.AgentsPerMW(float64(maxUsers), s.MeanW) // agents_per_mw
//	chart := all.Points(runStartNS, runEndNS)              // power over time
package power
