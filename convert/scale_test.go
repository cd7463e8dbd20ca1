package convert

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/agentperf/agentperf/internal/mooncakegen"
	"github.com/agentperf/agentperf/schemas"
)

// writeMooncake generates a Mooncake trace of shape s at path.
func writeMooncake(t testing.TB, path string, s mooncakegen.Shape) mooncakegen.Stats {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := mooncakegen.Write(f, s)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// heapInUse returns the bytes in in-use heap spans: live objects and
// garbage not yet collected, what the process's heap RSS follows.
func heapInUse() int64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}

// bodyScan is the result of building every request body of a set one
// after another through the on-demand reader.
type bodyScan struct {
	requests   int
	bodyBytes  int64 // rebuilt request JSON, summed
	maxBody    int
	peakGrowth int64 // peak heap in use over the heap before the scan
	liveGrowth int64 // heap in use after the scan and a GC, trace set open
}

// scanBodies opens the set with the given blob cache and rebuilds every
// request's body in file order (TraceSet.Parts, then schemas.Rebuild into
// one reused buffer, as a sender would), sampling the heap every sample
// requests (0 = never).
func scanBodies(t testing.TB, set string, cacheBytes int64, sample int) bodyScan {
	t.Helper()
	runtime.GC()
	runtime.GC() // and what sync.Pools kept through the first
	base := heapInUse()
	ts, err := schemas.OpenTraceSet(set, schemas.TraceSetOptions{BlobCacheBytes: cacheBytes})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	var (
		sc    bodyScan
		parts []schemas.Part
		body  []byte
	)
	err = ts.Requests(func(r *schemas.Request) error {
		parts, err = ts.Parts(parts[:0], r.Prompt)
		if err != nil {
			return err
		}
		body = schemas.Rebuild(body[:0], r.API, []byte(r.Params), parts)
		sc.requests++
		sc.bodyBytes += int64(len(body))
		sc.maxBody = max(sc.maxBody, len(body))
		if sample > 0 && sc.requests%sample == 0 {
			sc.peakGrowth = max(sc.peakGrowth, heapInUse()-base)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	sc.liveGrowth = heapInUse() - base
	return sc
}

// TestMooncakeBodiesBoundedMemory imports a Mooncake trace of the
// conversation trace's shape (an eighth of its size) and builds every
// request body one after another through the on-demand reader: the heap
// stays within a bound set by the blob cache and the largest body, far
// below the generated text the set stands for, which a reader holding
// its blobs in memory would need.
func TestMooncakeBodiesBoundedMemory(t *testing.T) {
	dir := t.TempDir()
	shape := mooncakegen.Conversation
	shape.Requests, shape.Sessions, shape.Duration = 1500, 875, 450*time.Second
	in := filepath.Join(dir, "trace.jsonl")
	gen := writeMooncake(t, in, shape)
	set := filepath.Join(dir, "set")
	if _, err := Import(context.Background(), in, set, ImportOptions{Format: FormatMooncake}); err != nil {
		t.Fatal(err)
	}
	const cache = 4 << 20
	sc := scanBodies(t, set, cache, 10)
	// The distinct blocks' text: what holding every blob would cost.
	distinct := int64(gen.Blocks-gen.ReusedBlocks) * mooncakegen.BlockSize * 5
	bound := int64(32 << 20)
	if sc.requests != shape.Requests || sc.bodyBytes < 2*bound || distinct < 2*bound {
		t.Fatalf("scanned %d requests, %d body bytes, %d distinct block bytes: too small to show a bound of %d", sc.requests, sc.bodyBytes, distinct, bound)
	}
	if sc.peakGrowth > bound {
		t.Errorf("heap grew by up to %.1f MB building %d bodies (%.0f MB, largest %.1f MB); want ≤ %.0f MB with a %d MB blob cache",
			float64(sc.peakGrowth)/1e6, sc.requests, float64(sc.bodyBytes)/1e6, float64(sc.maxBody)/1e6, float64(bound)/1e6, cache>>20)
	}
	t.Logf("%d bodies, %.0f MB rebuilt (largest %.2f MB), %.0f MB of distinct blocks; heap peak +%.1f MB, live after +%.1f MB",
		sc.requests, float64(sc.bodyBytes)/1e6, float64(sc.maxBody)/1e6, float64(distinct)/1e6, float64(sc.peakGrowth)/1e6, float64(sc.liveGrowth)/1e6)
}
