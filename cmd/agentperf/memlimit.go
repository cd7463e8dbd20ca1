package main

import (
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
)

// Replay's memory: GOGC 400 (see replayAction) lets the heap grow to five
// times what is live before a collection, which keeps mark phases — and
// the late sends they cause — rare. With bodies built per send, what is
// live is the plan, the blob cache and the requests in flight (120–180 MB
// replaying the Mooncake conversation trace with --timestamps and the
// embedded simulator), so GOGC alone let RSS reach 633 MB for 150 MB of
// live data (BENCHMARKS.md, Real-trace scale). A soft memory limit caps
// that slack: the runtime collects early when total Go memory nears it.
//
// A fixed limit would be wrong at scale: a run whose live heap nears it
// (thousands of users with 100 KB bodies in flight) would collect back to
// back, and its sends would fall behind. So the limit is a floor, raised
// after every collection to twice the live heap plus the runtime's own
// memory (stacks, metadata): small runs stay within the floor, large ones
// keep at least GOGC 100's headroom.

// defaultMemoryLimit is the floor of replay's soft memory limit: below
// the 500 MB RSS budget of the Mooncake conversation replay (issue 12)
// with room for memory the Go runtime does not count.
const defaultMemoryLimit = "384MiB"

// parseByteSize reads a size in GOMEMLIMIT's syntax: a non-negative
// integer with an optional unit B, KiB, MiB, GiB or TiB.
func parseByteSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("want a size such as 384MiB or 2GiB (units B, KiB, MiB, GiB, TiB), or off")
	}
	return n * mult, nil
}

// memoryTuner raises the soft memory limit to twice the live heap plus the
// runtime's own memory after every collection, never below floor.
type memoryTuner struct {
	floor int64
	// mu orders stop against a collection's adjustment: once stop has
	// returned, no adjustment sets the limit again.
	mu      sync.Mutex
	stopped bool
	samples []metrics.Sample
}

// startMemoryLimit sets replay's soft memory limit with floor (bytes) and
// keeps it adjusted until stop is called. Setting GOMEMLIMIT in the
// environment overrides it, as GOGC overrides replay's GC percentage.
func startMemoryLimit(floor int64, getenv func(string) string) (stop func()) {
	if floor <= 0 || getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	t := newMemoryTuner(floor)
	t.adjust()
	t.arm()
	return func() {
		t.mu.Lock()
		t.stopped = true
		t.mu.Unlock()
	}
}

func newMemoryTuner(floor int64) *memoryTuner {
	return &memoryTuner{floor: floor, samples: []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
	}}
}

// arm makes the next collection call adjust: a cleanup of an object
// nothing refers to runs once the collection has found it unreachable.
func (t *memoryTuner) arm() {
	runtime.AddCleanup(new([64]byte), func(t *memoryTuner) {
		t.mu.Lock()
		defer t.mu.Unlock()
		if !t.stopped {
			t.adjust()
			t.arm()
		}
	}, t)
}

// limit returns the limit for the current figures.
func (t *memoryTuner) limit() int64 {
	metrics.Read(t.samples)
	v := func(i int) int64 {
		if t.samples[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return int64(t.samples[i].Value.Uint64())
	}
	live := v(0)
	runtimeOwn := max(v(1)-v(2)-v(3)-v(4)-v(5), 0) // stacks, metadata, other
	return max(t.floor, 2*live+runtimeOwn)
}

func (t *memoryTuner) adjust() { debug.SetMemoryLimit(t.limit()) }
