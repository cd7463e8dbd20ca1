//go:build linux

package replay

import (
	"context"
	"testing"
	"time"

	"github.com/agentperf/agentperf/replay/internal/fake"
	"github.com/agentperf/agentperf/schemas"
)

// TestReceiveTimestampsMeta: a replay over HTTP/1.1 times output by kernel
// receive timestamps unless told to use read times, and says which in the
// results metadata.
func TestReceiveTimestampsMeta(t *testing.T) {
	dir := writeTraces(t, traceSpec{sessions: 2, turns: 3, api: schemas.APIOpenAIChat, out: 5})
	for _, readTimes := range []bool{false, true} {
		url := startFake(t, &fake.Server{TTFT: 2 * time.Millisecond, ITL: time.Millisecond})
		cfg := Config{Plan: loadPlan(t, dir, PlanOptions{}), Target: url, Users: 2,
			Warmup: 0, Steady: 300 * time.Millisecond, Transport: TransportOptions{ReadTimes: readTimes}}
		rows, meta, _ := runToFile(t, context.Background(), cfg)
		ok := 0
		for _, r := range rows {
			if r.Error == "" && len(r.ChunkOffsetsUS) == 5 && r.FirstTokenNS-r.SentNS >= int64(2*time.Millisecond) {
				ok++
			}
		}
		got, n := meta["receive_timestamps"], meta["receive_timestamps_kernel_requests"]
		switch {
		case ok == 0:
			t.Errorf("read times %v: no row with 5 chunks and TTFT ≥ 2 ms", readTimes)
		case readTimes && (got != "read" || n != "0"):
			t.Errorf("read times: receive_timestamps %q (%s kernel-timed), want read", got, n)
		case !readTimes && (got != "kernel" && got != "mixed" || n == "0"):
			t.Errorf("kernel times: receive_timestamps %q (%s kernel-timed), want kernel", got, n)
		}
	}
}
