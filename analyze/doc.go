// Package analyze turns results files into capacity figures: per
// concurrency level metrics (output speed, TTFT, ITL, errors, client lag,
// throughput, prefix-cache hits), pass/fail at speed tiers with the
// AA-AgentPerf rule, the maximum users per tier, normalized per accelerator,
// kW, dollar-hour and rack, and the tables and HTML report that show them.
//
// The same rule is used by replay's capacity search: accumulate a level's
// rows with a LevelAccumulator, take its Stats, and Judge them with a Tier.
// docs/analyze.md defines every metric.
package analyze
