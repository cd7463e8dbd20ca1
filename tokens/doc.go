// Package tokens counts o200k_base tokens, extracts the model-visible text of
// API JSON, builds exact-length filler text and computes chained 512-token
// prefix block hashes.
//
// Filler is part of the trace-set format: sets store generated blobs as a
// recipe naming FillerVersion and rebuild the text on read, so a version's
// output never changes (TestFillerFrozen pins version 1 byte for byte).
package tokens
