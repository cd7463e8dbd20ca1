// Package mooncakegen writes synthetic traces in the Mooncake FAST'25
// format ({timestamp, input_length, output_length, hash_ids}, one JSON
// object a line) of a chosen size and shape, for benchmarks and tests
// that need a trace as large as a real one without shipping it.
//
// The structure follows the Mooncake traces: requests grouped into
// sessions whose later turns are longer and start with the previous
// turn's full 512-token blocks; some sessions open with one of a few
// shared system prefixes; new hash ids are consecutive integers in order
// of first appearance. Input lengths are log-normal with the shape's
// median and 99th percentile, output lengths likewise. Output is a
// deterministic function of the Shape (its Seed included).
package mooncakegen
