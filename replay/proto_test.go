package replay

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/agentperf/agentperf/replay/internal/fake"
)

// TestHTTP2Cleartext replays over h2c (--http2) to a server that speaks
// only unencrypted HTTP/2.
func TestHTTP2Cleartext(t *testing.T) {
	srv := &fake.Server{TTFT: time.Millisecond, ITL: time.Millisecond, Record: true}
	hs := httptest.NewUnstartedServer(srv)
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	hs.Config.Protocols = &p
	hs.Start()
	defer hs.Close()
	dir := writeTraces(t, traceSpec{sessions: 2, turns: 2, out: 5})
	cfg := Config{Plan: loadPlan(t, dir, PlanOptions{}), Target: hs.URL, Users: 2, Steady: 300 * time.Millisecond,
		Transport: TransportOptions{HTTP2: true}}
	rows, _, _ := runToFile(t, context.Background(), cfg)
	ok := 0
	for _, r := range rows {
		if r.Error == "" && r.OutputTokens == 5 {
			ok++
		}
	}
	as := srv.Arrivals()
	if ok == 0 || len(as) == 0 {
		t.Fatalf("%d ok rows, %d arrivals", ok, len(as))
	}
	for _, a := range as {
		if a.ProtoMajor != 2 {
			t.Fatalf("request over HTTP/%d, want 2", a.ProtoMajor)
		}
	}
}

// TestTimeScaleMismatchWarns: a target announcing another time scale than
// replay was given gets a warning in the results.
func TestTimeScaleMismatchWarns(t *testing.T) {
	srv := &fake.Server{TTFT: time.Millisecond, ITL: time.Millisecond, TimeScale: "5"}
	dir := writeTraces(t, traceSpec{sessions: 1, turns: 2, out: 3})
	cfg := Config{Plan: loadPlan(t, dir, PlanOptions{}), Target: startFake(t, srv), Users: 1, Steady: 200 * time.Millisecond}
	_, meta, rep := runToFile(t, context.Background(), cfg)
	if !strings.Contains(strings.Join(meta.Warnings, "\n"), "time scale 5") || len(rep.Warnings) == 0 {
		t.Errorf("warnings %q, want one about time scale 5", meta.Warnings)
	}
}

// TestHTTP2EmbeddedSim: --http2 against the in-process simulator (h2c);
// HTTP/2 streams are timed when read, and the metadata says so.
func TestHTTP2EmbeddedSim(t *testing.T) {
	s := startSim(t, 50)
	dir := writeTraces(t, traceSpec{sessions: 2, turns: 2, out: 5})
	cfg := Config{Plan: loadPlan(t, dir, PlanOptions{}), Target: s.URL, Users: 2, Steady: 300 * time.Millisecond,
		TimeScale: 50, Transport: TransportOptions{HTTP2: true}}
	rows, meta, _ := runToFile(t, context.Background(), cfg)
	ok := 0
	for _, r := range rows {
		if r.Error != "" && !strings.HasPrefix(r.Error, "cancelled") {
			t.Fatalf("row error over h2c: %s", r.Error)
		}
		if r.Error == "" && r.OutputTokens == 5 {
			ok++
		}
	}
	if ok == 0 || meta.ReceiveTimestamps != "read" {
		t.Fatalf("%d rows with 5 output tokens, receive_timestamps %q (want read)", ok, meta.ReceiveTimestamps)
	}
}
