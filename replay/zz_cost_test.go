package replay

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/sim"
)

func TestZZLevel(t *testing.T) {
	dir := os.Getenv("ZZ_TRACES")
	if dir == "" {
		t.Skip()
	}
	ts, err := schemas.OpenTraceSet(dir, schemas.TraceSetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := LoadPlan(ts, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	plan, _ := sim.Resolve(sim.Config{Hardware: "h200", Accelerators: 8, Seed: 1})
	cfg := Config{Plan: p, Sim: plan, Users: 64, Warmup: time.Minute, Steady: 10 * time.Minute, Shaping: Shaping{Model: "gpt-oss-120b"}}
	rw, _ := schemas.CreateResults(t.TempDir()+"/r.parquet", false)
	r, err := newRunner(cfg, rw)
	if err != nil {
		t.Fatal(err)
	}
	r.meta = r.runMeta()
	rw.SetRunMeta(r.meta)
	r.out = startWriter(rw)
	r.clock = newWorldClock(time.Now(), 1)
	for i := 0; i < 3; i++ {
		c0 := processCPU()
		t0 := time.Now()
		lr := r.runLevel(context.Background(), i, 64, time.Minute, 10*time.Minute)
		t.Logf("level %d: wall %s cpu %s requests %d", i, time.Since(t0), processCPU()-c0, lr.Requests)
		r.out.flush()
	}
}
