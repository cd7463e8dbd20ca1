// Package capacity puts confidence intervals on the capacity figures: a
// level's pass/fail at a speed tier, and the maximum users per tier over a
// run. It is pure statistics — plain records in, figures out, no I/O, no
// clock, deterministic for a given input and seed — so analyze and replay's
// search can share it.
//
// The contract:
//
//   - The pass rule is analyze's (P25 output speed ≥ floor, P95 TTFT ≤
//     ceiling, error rate ≤ 1 %, every limit explicit in a Tier), and the
//     point figures are analyze's: the same percentile definition
//     (Percentile), output speed excluding TTFT, TTFT in milliseconds.
//     analyze owns the rule and its defaults; a caller converts its
//     analyze.Tier and result rows into Tier and Request.
//   - Assess bootstraps one steady-state window: it resamples whole
//     sessions (Request.Session), never single requests, because a
//     session's requests share context and are correlated. Intervals are
//     percentile intervals (90 % by default), widened for few sessions
//     (Hesterberg's expanded percentile); the error rate's also holds the
//     Wilson interval. A level's Verdict is Pass, Fail or Uncertain (an
//     interval straddles its limit). One session: unbounded intervals,
//     Uncertain. No request: Fail.
//   - Fit combines every window of a run for one tier: repeats at the same
//     users are pooled (inverse-variance, plus a between-window variance
//     when windows scatter beyond their errors), the margin is fitted
//     non-increasing in users (isotonic),
//     and MaxUsers is where the fit crosses zero, with a percentile interval
//     from refitting each bootstrap replicate. All levels passing, or none,
//     gives a one-sided interval (Censored). HighestPassing keeps the
//     AA-style figure.
//   - Next is the adaptive search as a pure function of the windows so far
//     and their fit: run, repeat, or stop with one of the Stop* reasons.
//
// What the intervals do not cover: variation that is common to a whole
// window (the target's state, a noisy neighbour, the time scale's host
// jitter) is invisible to a bootstrap inside the window; only the scatter
// between windows reveals it (Capacity.Heterogeneity), and with a 2 % such
// factor the 90 % intervals cover 83 % in the coverage test. The crossing
// is interpolated between the two measured user counts around it, so the
// grid must be fine there — Next bisects until it is. docs/capacity.md
// gives the method, its assumptions and its measured coverage.
//
// Call sites: analyze converts each level's steady rows to Requests
// (LevelStats.Assess), Assesses them at its tiers, and Fits each tier over
// the run's levels; replay's adaptive search Assesses each window at its
// tier, Fits, and asks Next what to do.
package capacity
