package proxy

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/agentperf/agentperf/proxy/internal/fakellm"
	"github.com/agentperf/agentperf/schemas"
)

func startFake(t testing.TB, tokens int, delay time.Duration) (*httptest.Server, *fakellm.Server) {
	t.Helper()
	f := &fakellm.Server{Tokens: tokens, Delay: delay}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv, f
}

// running is a Run in a goroutine.
type running struct {
	url    string
	cancel context.CancelFunc
	done   chan error
}

func (r *running) stop(t testing.TB) {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("record: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("record did not stop")
	}
}

func startRun(t testing.TB, cfg Config) *running {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	ready := make(chan string, 1)
	cfg.Ready = func(u string) { ready <- u }
	go func() { r.done <- Run(ctx, cfg) }()
	select {
	case r.url = <-ready:
	case err := <-r.done:
		t.Fatalf("record failed to start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("record did not start")
	}
	t.Cleanup(func() { cancel() })
	return r
}

// trace is a trace set read whole.
type trace struct {
	sessions map[string]schemas.Session
	order    []string
	requests map[string][]schemas.Request
	set      *schemas.TraceSet
}

func readTrace(t testing.TB, dir string) *trace {
	t.Helper()
	ts, err := schemas.OpenTraceSet(dir, schemas.TraceSetOptions{})
	if err != nil {
		t.Fatalf("open trace set: %v", err)
	}
	t.Cleanup(func() { ts.Close() })
	tr := &trace{sessions: map[string]schemas.Session{}, requests: map[string][]schemas.Request{}, set: ts}
	if err := ts.Sessions(func(s *schemas.Session) error {
		tr.sessions[s.ID] = *s
		tr.order = append(tr.order, s.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := ts.Requests(func(r *schemas.Request) error {
		c := *r
		c.Prompt = append([]int64(nil), r.Prompt...)
		c.Response = append([]int64(nil), r.Response...)
		c.ChunkNS = append([]int64(nil), r.ChunkNS...)
		tr.requests[r.SessionID] = append(tr.requests[r.SessionID], c)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return tr
}

func (tr *trace) turns() int {
	n := 0
	for _, rs := range tr.requests {
		n += len(rs)
	}
	return n
}
