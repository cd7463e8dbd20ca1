// Package analyze turns results files into capacity figures: per
// concurrency level metrics (output speed, TTFT, ITL, errors, client lag,
// throughput over the steady-state window, prefix-cache hits, measured
// power), pass/fail at speed tiers with the AA-AgentPerf rule, the maximum
// users per tier, normalized per accelerator, kW, dollar-hour, rack and
// megawatt of measured power, and the tables and HTML report that show
// them.
//
// Uncertainty: every level is bootstrapped by whole sessions with package
// capacity (90 % intervals of P25 output speed, P95 TTFT and the error
// rate; a verdict of pass, fail or uncertain per tier), and max users per
// tier is fitted over every level with its interval (capacity.Fit); the
// highest passing level is kept beside it. Measured power is read from
// the power files beside the results (package power), summed over
// systems and shards.
//
// The same rule is used by replay's capacity search: accumulate a level's
// rows with a LevelAccumulator, take its Stats, Judge them with a Tier,
// and Assess them for the adaptive search. docs/analyze.md defines every
// metric.
package analyze
