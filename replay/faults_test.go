package replay

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/agentperf/agentperf/replay/internal/fake"
	"github.com/agentperf/agentperf/schemas"
)

// TestFaults injects one kind of failure per case and checks that each
// failed request is a row with its status and error, that the others
// succeed, and that the run completes with a valid results file.
func TestFaults(t *testing.T) {
	tests := []struct {
		name       string
		fault      func(n int, body []byte) fake.Fault
		cfg        func(*Config)
		wantStatus int32
		wantErr    string
	}{
		{name: "500", fault: every(3, fake.Fault500), wantStatus: 500, wantErr: "HTTP 500: {\"error\""},
		{name: "429", fault: every(3, fake.Fault429), wantStatus: 429, wantErr: "HTTP 429"},
		{name: "truncated", fault: every(3, fake.FaultTruncate), wantStatus: 200, wantErr: "truncated stream"},
		{name: "stall", fault: every(3, fake.FaultStall), wantStatus: 200, wantErr: "stalled",
			cfg: func(c *Config) { c.StallTimeout = 150 * time.Millisecond }},
		{name: "timeout", fault: every(3, fake.FaultStall), wantStatus: 200, wantErr: "timed out",
			cfg: func(c *Config) { c.RequestTimeout = 150 * time.Millisecond }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // nothing here depends on timing precision
			dir := writeTraces(t, traceSpec{sessions: 4, turns: 3, think: 20 * time.Millisecond, out: 10})
			srv := &fake.Server{TTFT: time.Millisecond, ITL: time.Millisecond, FaultFor: tt.fault}
			cfg := Config{Plan: loadPlan(t, dir, PlanOptions{}), Target: startFake(t, srv), Users: 3,
				Steady: 1500 * time.Millisecond, ErrorBackoff: 50 * time.Millisecond}
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			rows, meta, _ := runToFile(t, context.Background(), cfg)
			var failed, ok int
			for _, r := range rows {
				switch {
				case r.Error == "":
					if r.Status != 200 || r.OutputTokens != 10 {
						t.Errorf("ok row: status %d output %d", r.Status, r.OutputTokens)
					}
					ok++
				case strings.Contains(r.Error, "level ended"):
				default:
					if r.Status != tt.wantStatus || !strings.Contains(r.Error, tt.wantErr) {
						t.Errorf("failed row: status %d error %q; want %d and %q", r.Status, r.Error, tt.wantStatus, tt.wantErr)
					}
					if r.EndNS < r.SentNS || r.SessionID == "" {
						t.Errorf("failed row lacks times or identity: %+v", r)
					}
					failed++
				}
			}
			if failed == 0 || ok == 0 {
				t.Fatalf("%d failed and %d ok rows; want both", failed, ok)
			}
			if meta.Level(0) == nil || meta.Level(0).Errors == 0 {
				t.Errorf("level errors not counted in metadata")
			}
		})
	}
}

func every(k int, f fake.Fault) func(int, []byte) fake.Fault {
	return func(n int, _ []byte) fake.Fault {
		if n%k == 1 {
			return f
		}
		return fake.FaultNone
	}
}

// TestTargetKilled stops the target mid-run: requests after that fail with
// a connection error (no status), the users back off instead of spinning,
// and the run still ends with a valid file.
func TestTargetKilled(t *testing.T) {
	dir := writeTraces(t, traceSpec{sessions: 4, turns: 5, think: 20 * time.Millisecond, out: 20})
	srv := &fake.Server{TTFT: time.Millisecond, ITL: 2 * time.Millisecond}
	hs, ln, err := fake.Listen(srv)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(400 * time.Millisecond)
		hs.Close() // closes the listener and every open connection
	}()
	cfg := Config{Plan: loadPlan(t, dir, PlanOptions{}), Target: "http://" + ln.Addr().String(), Users: 3,
		Steady: 1500 * time.Millisecond, ErrorBackoff: 100 * time.Millisecond}
	rows, _, _ := runToFile(t, context.Background(), cfg)
	var ok, refused, broken int
	for _, r := range rows {
		switch {
		case r.Error == "":
			ok++
		case r.Status == 0 && strings.Contains(r.Error, "connection refused"):
			refused++
		case strings.Contains(r.Error, "level ended"):
		default:
			broken++ // streams cut when the server closed
		}
	}
	if ok == 0 || refused == 0 {
		t.Fatalf("ok %d, refused %d, broken %d; want ok and refused rows", ok, refused, broken)
	}
	// 3 users for ~1.1 s at ≥ 100 ms backoff: at most ~40 refused rows.
	if refused > 60 {
		t.Errorf("%d refused requests: users hammer a dead target instead of backing off", refused)
	}
}

// TestInterruptLeavesValidFile cancels the context mid-run: Run returns
// without error, in-flight requests are rows, Interrupted is set.
func TestInterruptLeavesValidFile(t *testing.T) {
	dir := writeTraces(t, traceSpec{sessions: 2, turns: 5, think: 10 * time.Millisecond, out: 200})
	srv := &fake.Server{TTFT: time.Millisecond, ITL: time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	cfg := Config{Plan: loadPlan(t, dir, PlanOptions{}), Target: startFake(t, srv), Users: 2, Steady: time.Hour}
	rows, meta, rep := runToFile(t, ctx, cfg)
	if !rep.Interrupted || !meta.Interrupted {
		t.Errorf("interrupted %v, meta %v", rep.Interrupted, meta.Interrupted)
	}
	if len(rows) == 0 {
		t.Fatal("no rows")
	}
	cancelled := 0
	for _, r := range rows {
		if strings.HasPrefix(r.Error, "cancelled") {
			cancelled++
		}
	}
	if cancelled == 0 {
		for _, r := range rows {
			t.Logf("%s turn %d: %q", r.SessionID, r.Turn, r.Error)
		}
		t.Errorf("no in-flight request recorded as cancelled")
	}
}

// TestTranslatedReplay sends Anthropic-recorded traces to an OpenAI Chat
// target: every request arrives at /v1/chat/completions and succeeds.
func TestTranslatedReplay(t *testing.T) {
	for _, tc := range []struct{ from, to, path string }{
		{schemas.APIAnthropic, schemas.APIOpenAIChat, "/v1/chat/completions"},
		{schemas.APIOpenAIChat, schemas.APIAnthropic, "/v1/messages"},
		{schemas.APIOpenAIResponses, schemas.APIOpenAIChat, "/v1/chat/completions"},
	} {
		t.Run(tc.from+"→"+tc.to, func(t *testing.T) {
			dir := writeTraces(t, traceSpec{sessions: 2, turns: 3, api: tc.from, out: 7})
			srv := &fake.Server{TTFT: time.Millisecond, ITL: time.Millisecond, Record: true}
			cfg := Config{Plan: loadPlan(t, dir, PlanOptions{}), Target: startFake(t, srv), API: tc.to, Users: 2,
				Steady: 400 * time.Millisecond, CacheSalt: "x", Shaping: Shaping{Model: "m1"}}
			rows, _, _ := runToFile(t, context.Background(), cfg)
			for _, a := range srv.Arrivals() {
				if a.Path != tc.path || a.MaxTokens != 7 || a.Marker == "" || a.Salt != "[cache-salt x]" {
					t.Fatalf("arrival %s max %d marker %q salt %q", a.Path, a.MaxTokens, a.Marker, a.Salt)
				}
			}
			for _, r := range rows {
				if r.API != tc.to || (r.Error != "" && !strings.Contains(r.Error, "level ended")) {
					t.Fatalf("row api %s error %q", r.API, r.Error)
				}
			}
		})
	}
}
