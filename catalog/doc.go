// Package catalog holds the figures shared by the simulator and the
// analysis: accelerator memory, bandwidth, FLOPS, power, price and rack
// size; model sizes, KV-cache footprint and speculative-decoding heads;
// serving-engine profiles with their per-hardware fits. A default catalog
// is embedded (catalog.yaml); users override or extend it with their own
// YAML file, entry by entry.
//
// The contract: every figure of the embedded catalog cites its public
// source in the entry's `source` field (a test holds it to that), and a
// fitted figure says what it was fitted on.
package catalog
