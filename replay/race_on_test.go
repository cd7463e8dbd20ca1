//go:build race

package replay

// raceEnabled is true when tests run under the race detector, which slows
// every wall-clock cost several times.
const raceEnabled = true
