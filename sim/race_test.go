//go:build race

package sim

// raceEnabled is true under the race detector, which slows the
// single-threaded engine several-fold; the heaviest offline simulations
// then check less (the engine has no concurrency for -race to find).
const raceEnabled = true
