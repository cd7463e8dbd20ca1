package inspect

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/synth"
)

var benchDir = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "inspect-bench-")
	if err != nil {
		return "", err
	}
	dir = filepath.Join(dir, "set")
	_, err = synth.Write(context.Background(), dir, synth.Options{Seed: 1}, synth.WriteOptions{})
	return dir, err
})

func benchInspect(b *testing.B, opt Options) {
	dir, err := benchDir()
	if err != nil {
		b.Fatal(err)
	}
	var st *Stats
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ts, err := schemas.OpenTraceSet(dir, schemas.TraceSetOptions{})
		if err != nil {
			b.Fatal(err)
		}
		st, err = Inspect(ts, opt)
		ts.Close()
		if err != nil {
			b.Fatal(err)
		}
		if len(st.Problems) > 0 {
			b.Fatal(st.Problems)
		}
	}
	// MB/s of the request JSON the set stands for.
	if opt.SkipJSONL && !opt.Check {
		return
	}
	b.SetBytes(st.JSONLBytes)
}

// BenchmarkInspect computes the statistics of the default synthetic set,
// JSONL size included (every body rebuilt).
func BenchmarkInspect(b *testing.B) { benchInspect(b, Options{}) }

// BenchmarkInspectCheck inspects and validates the default synthetic set.
func BenchmarkInspectCheck(b *testing.B) { benchInspect(b, Options{Check: true}) }
