package proxy

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"
)

// TestSlowDiskDoesNotSlowAgent makes every fsync take 200 ms and checks
// that calls through the proxy do not wait for it, that nothing is
// dropped, and that every call is recorded.
func TestSlowDiskDoesNotSlowAgent(t *testing.T) {
	for _, tc := range []struct {
		name      string
		queue     int
		spill     int64
		wantDrops bool
	}{
		{"queue", 0, 0, false},
		{"spill", 1, 0, false},   // a queue of one: calls spill, none is lost
		{"overflow", 1, 1, true}, // no room at all: drops are counted
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, _ := startFake(t, 2, 0)
			out := filepath.Join(t.TempDir(), "traces")
			rec, err := NewRecorder(Options{Out: out, QueueLen: tc.queue, SpillBytes: tc.spill})
			if err != nil {
				t.Fatal(err)
			}
			block := make(chan struct{})
			rec.beforeSync = func() { <-block; time.Sleep(200 * time.Millisecond) }
			srv := httptest.NewServer(NewReverse(rec, nil, FrontOptions{Upstream: mustURL(fake.URL)}))
			defer srv.Close()
			const calls = 40
			start := time.Now()
			for i := 0; i < calls; i++ {
				if st, _ := post(t, srv.URL+"/v1/chat/completions", nil, `{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}`); st != 200 {
					t.Fatal(st)
				}
			}
			elapsed := time.Since(start)
			close(block) // the disk comes back
			if elapsed > 2*time.Second {
				t.Errorf("%d calls took %v while the disk was stuck: the agent waited for the disk", calls, elapsed)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			rec.Flush(ctx)
			st := rec.Stats()
			err = rec.Close()
			if tc.wantDrops {
				var loss *LossError
				if st.Dropped == 0 || !errors.As(err, &loss) || loss.Dropped != st.Dropped || loss.Reasons[DropQueueFull] != st.Dropped {
					t.Errorf("drops %d, Close: %v; want drops counted and reported as queue_full", st.Dropped, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.Dropped != 0 || st.Turns != calls {
				t.Errorf("stats %+v: want %d turns, 0 drops", st, calls)
			}
			if tc.queue == 1 && st.Spilled == 0 {
				t.Errorf("a one-call queue never spilled: %+v", st)
			}
			if n := readTrace(t, out).turns(); n != calls {
				t.Errorf("%d turns in the trace set, want %d", n, calls)
			}
		})
	}
}

func TestParseRotate(t *testing.T) {
	tests := []struct {
		in    string
		every time.Duration
		size  int64
		bad   bool
	}{
		{"1h", time.Hour, 0, false}, {"30m", 30 * time.Minute, 0, false},
		{"512MB", 0, 512e6, false}, {"1GiB", 0, 1 << 30, false}, {"100000", 0, 100000, false},
		{"", 0, 0, false}, {"-1h", 0, 0, true}, {"12 parsecs", 0, 0, true}, {"0", 0, 0, true},
	}
	for _, tt := range tests {
		e, s, err := ParseRotate(tt.in)
		if (err != nil) != tt.bad || e != tt.every || s != tt.size {
			t.Errorf("ParseRotate(%q) = %v, %d, %v", tt.in, e, s, err)
		}
	}
}
