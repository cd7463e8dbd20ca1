// Package hist is agentperf's one histogram: Hist, a mergeable
// distribution that keeps the first ExactValues values exactly and then
// folds them into log-linear buckets (relative error ≤ 2^-11 plus half the
// resolution), with interpolated percentiles (numpy's default, DuckDB's
// quantile_cont), nearest-rank quantiles and the CDF; and Recorder, its
// lock-free, allocation-free counterpart for a load generator's hot path,
// whose snapshot is a Hist. analyze, inspect and replay use it; none keeps
// its own.
package hist
