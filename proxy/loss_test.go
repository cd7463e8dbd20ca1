package proxy

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestSpoolWriteFailure makes the spool fail (a full disk) for three calls
// in the middle of a session: those turns are dropped — reported through
// OnDrop, counted in agentperf_record_drops_total{reason="spool_write"}
// and in the *LossError Close returns — and every other turn, before and
// after, is in the trace set.
func TestSpoolWriteFailure(t *testing.T) {
	fake, _ := startFake(t, 2, 0)
	out := filepath.Join(t.TempDir(), "traces")
	var mu sync.Mutex
	var reports []DropReport
	m := NewMetrics()
	rec, err := NewRecorder(Options{Out: out, Metrics: m, OnDrop: func(r DropReport) {
		mu.Lock()
		reports = append(reports, r)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	m.Attach(rec)
	srv := httptest.NewServer(NewReverse(rec, nil, FrontOptions{Upstream: mustURL(fake.URL), Metrics: m}))
	defer srv.Close()
	full := func(on bool) {
		if on {
			f := func() error { return syscall.ENOSPC }
			rec.spoolFault.Store(&f)
		} else {
			rec.spoolFault.Store(nil)
		}
	}
	msgs := []string{`{"role":"user","content":"go"}`}
	call := func() {
		body := `{"model":"m","stream":true,"messages":[` + strings.Join(msgs, ",") + `]}`
		if st, b := post(t, srv.URL+"/v1/chat/completions", map[string]string{"Helicone-Session-Id": "s1"}, body); st != 200 {
			t.Fatalf("status %d: %s", st, b)
		}
		msgs = append(msgs, `{"role":"assistant","content":"ok"}`, `{"role":"user","content":"more"}`)
	}
	flush := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rec.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	call()
	call()
	flush()
	full(true)
	for i := 0; i < 3; i++ {
		call()
		flush()
	}
	full(false)
	call()
	call()
	flush()
	if got := metricValue(t, srv.URL, `agentperf_record_drops_total{reason="spool_write"}`); got != 3 {
		t.Errorf("drops metric %v, want 3", got)
	}
	err = rec.Close()
	var loss *LossError
	if !errors.As(err, &loss) || loss.Dropped != 3 || loss.Reasons[DropSpoolWrite] != 3 {
		t.Fatalf("Close: %v, want a LossError of 3 spool_write drops", err)
	}
	mu.Lock()
	var n int64
	for _, r := range reports {
		n += r.Dropped
		if r.Reason != DropSpoolWrite || !strings.Contains(r.Detail, "no space left") || !strings.Contains(r.String(), "DROPPED") {
			t.Errorf("report %+v (%s)", r, r)
		}
	}
	mu.Unlock()
	if n != 3 {
		t.Errorf("reports %+v count %d drops, want 3", reports, n)
	}
	tr := readTrace(t, out)
	if got := len(tr.requests["s1"]); got != 4 {
		t.Errorf("%d turns in the trace set, want the 4 not dropped", got)
	}
	if rs := tr.requests["s1"]; len(rs) == 4 && rs[3].InputTokens <= rs[1].InputTokens {
		t.Errorf("turns after the failure missing: input tokens %d then %d", rs[1].InputTokens, rs[3].InputTokens)
	}
}

// TestLossReporterRateLimit checks that a burst of drops becomes one
// report per second at most, each counting what it covers, and that
// close reports the rest.
func TestLossReporterRateLimit(t *testing.T) {
	var mu sync.Mutex
	var got []DropReport
	l := newLossReporter(func(r DropReport) {
		mu.Lock()
		got = append(got, r)
		mu.Unlock()
	})
	for i := 0; i < 1000; i++ {
		l.add(1, DropQueueFull, "")
	}
	l.close()
	mu.Lock()
	defer mu.Unlock()
	var sum int64
	for _, r := range got {
		sum += r.Dropped
	}
	if len(got) == 0 || len(got) > 2 || sum != 1000 || got[len(got)-1].Total != 1000 {
		t.Errorf("reports %+v: want at most 2 covering 1000 drops", got)
	}
	var le *LossError
	if err := l.err(); !errors.As(err, &le) || le.Dropped != 1000 || !strings.Contains(err.Error(), "queue full 1000") {
		t.Errorf("err = %v", err)
	}
}
