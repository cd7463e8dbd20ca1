//go:build linux && !386

package replay

import (
	"context"
	"net/http/httptest"
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
		got, n := meta.ReceiveTimestamps, meta.ReceiveTimestampsKernelRequests
		switch {
		case ok == 0:
			t.Errorf("read times %v: no row with 5 chunks and TTFT ≥ 2 ms", readTimes)
		case readTimes && (got != "read" || n != 0):
			t.Errorf("read times: receive_timestamps %q (%d kernel-timed), want read", got, n)
		case !readTimes && (got != "kernel" && got != "mixed" || n == 0):
			t.Errorf("kernel times: receive_timestamps %q (%d kernel-timed), want kernel", got, n)
		}
	}
}

// TestReceiveTimestampsTLS: an https:// target (test certificate,
// --insecure) over HTTP/1.1 is timed by kernel receive timestamps through
// the TLS layer; one that negotiates HTTP/2 by ALPN is timed when read.
func TestReceiveTimestampsTLS(t *testing.T) {
	dir := writeTraces(t, traceSpec{sessions: 2, turns: 3, api: schemas.APIOpenAIChat, out: 5})
	for _, h2 := range []bool{false, true} {
		srv := &fake.Server{TTFT: 2 * time.Millisecond, ITL: time.Millisecond, Record: true}
		hs := httptest.NewUnstartedServer(srv)
		hs.EnableHTTP2 = h2
		hs.StartTLS()
		cfg := Config{Plan: loadPlan(t, dir, PlanOptions{}), Target: hs.URL, Users: 2,
			Warmup: 0, Steady: 300 * time.Millisecond, Transport: TransportOptions{Insecure: true}}
		rows, meta, _ := runToFile(t, context.Background(), cfg)
		hs.Close()
		ok := 0
		for _, r := range rows {
			if r.Error == "" && len(r.ChunkOffsetsUS) == 5 && r.FirstTokenNS-r.SentNS >= int64(2*time.Millisecond) {
				ok++
			}
		}
		proto := 0
		for _, a := range srv.Arrivals() {
			proto = a.ProtoMajor
		}
		got := meta.ReceiveTimestamps
		switch {
		case ok == 0:
			t.Errorf("h2 %v: no row with 5 chunks and TTFT ≥ 2 ms", h2)
		case h2 && (proto != 2 || got != "read"):
			t.Errorf("h2 %v: HTTP/%d, receive_timestamps %q, want HTTP/2 timed by reads", h2, proto, got)
		case !h2 && (proto != 1 || got != "kernel" && got != "mixed"):
			t.Errorf("h2 %v: HTTP/%d, receive_timestamps %q, want HTTP/1.1 timed by the kernel", h2, proto, got)
		}
	}
}
