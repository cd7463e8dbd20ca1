package replay

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/sim"
	"github.com/agentperf/agentperf/synth"
)

// Virtual-time cost (make bench; figures in BENCHMARKS.md, "Virtual-time
// replay"): one closed-loop level of 64 users over the demo's trace set
// (synth, 40 sessions, seed 1) on 8×H200, in virtual time (1-minute
// warm-up, 10-minute steady window) and, as the baseline measured in the
// same run, over HTTP against the simulator at time scale 20 for a
// 30-second steady window. Each reports simulated seconds per wall second
// and CPU per simulated second; use -benchtime 1x. The trace set is written
// in the same process, so the tokenizer's piece cache is warm from synth's
// own counting: a CLI run, whose cache starts cold, spends about 0.9 s more
// CPU tokenizing the turns' new messages (BENCHMARKS.md).

var (
	demoTracesOnce sync.Once
	demoTraces     string
	demoTracesErr  error
)

// benchDemoTraces writes the demo's trace set once per process.
func benchDemoTraces(b *testing.B) string {
	demoTracesOnce.Do(func() {
		dir, err := os.MkdirTemp("", "agentperf-bench-")
		if err != nil {
			demoTracesErr = err
			return
		}
		demoTraces = filepath.Join(dir, "traces")
		_, demoTracesErr = synth.Write(context.Background(), demoTraces, synth.Options{Sessions: 40, Seed: 1}, synth.WriteOptions{})
	})
	if demoTracesErr != nil {
		b.Fatal(demoTracesErr)
	}
	return demoTraces
}

func benchLevel(b *testing.B, virtual bool) {
	dir := benchDemoTraces(b)
	simCfg := sim.Config{Hardware: "h200", Model: "gpt-oss-120b", Accelerators: 8, Seed: 1}
	warmup, steady := time.Minute, 10*time.Minute
	if !virtual {
		warmup, steady = 10*time.Second, 30*time.Second
	}
	var simulated, wall, cpu time.Duration
	var requests int
	for range b.N {
		cfg := Config{Plan: loadPlan(b, dir, PlanOptions{}), Users: 64, Warmup: warmup, Steady: steady, MaxSteady: -1,
			Shaping: Shaping{Model: "gpt-oss-120b"}}
		if virtual {
			cfg.Sim = simPlan(b, simCfg)
		} else {
			cfg.TimeScale, cfg.SimClock = 20, true
			c := simCfg
			c.TimeScale = 20
			s, err := StartSimulator(c)
			if err != nil {
				b.Fatal(err)
			}
			cfg.Target = s.URL
			b.Cleanup(func() { s.Close() })
		}
		rw, err := schemas.CreateResults(filepath.Join(b.TempDir(), "r.parquet"), false)
		if err != nil {
			b.Fatal(err)
		}
		c0, t0 := processCPU(), time.Now()
		rep, err := Run(context.Background(), cfg, rw)
		if err != nil {
			b.Fatal(err)
		}
		wall += time.Since(t0)
		cpu += processCPU() - c0
		rw.Close()
		l := rep.Levels[0]
		requests += int(l.Requests)
		simulated += warmup + steady
	}
	b.ReportMetric(simulated.Seconds()/wall.Seconds(), "sim-s/wall-s")
	b.ReportMetric(float64(cpu.Milliseconds())/simulated.Seconds(), "cpu-ms/sim-s")
	b.ReportMetric(float64(requests)/float64(b.N), "requests/op")
}

// BenchmarkVirtualLevel: one 64-user level in virtual time.
func BenchmarkVirtualLevel(b *testing.B) { benchLevel(b, true) }

// BenchmarkHTTPLevelBaseline: the same level over HTTP at time scale 20
// (a shorter window), the baseline of BenchmarkVirtualLevel.
func BenchmarkHTTPLevelBaseline(b *testing.B) { benchLevel(b, false) }
