package replay

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/agentperf/agentperf/replay/internal/fake"
	"github.com/agentperf/agentperf/schemas"
)

// TestClosedLoopOrderThinkAndPinning replays 3 sessions × 4 turns with 2
// users at time scale 10 against the fake server, and checks from the
// server's own log that every user sends a session's turns in order, each
// after the previous response ended plus the recorded think time, with the
// output length pinned; and that every results column is filled.
func TestClosedLoopOrderThinkAndPinning(t *testing.T) {
	const scale = 10.0
	const think = 3 * time.Second // world; 300 ms wall
	for _, api := range []string{schemas.APIOpenAIChat, schemas.APIAnthropic, schemas.APIOpenAIResponses} {
		t.Run(api, func(t *testing.T) {
			dir := writeTraces(t, traceSpec{sessions: 3, turns: 4, api: api, think: think, out: 12})
			srv := &fake.Server{TTFT: 2 * time.Millisecond, ITL: time.Millisecond, DefaultTokens: 50, Record: true, TimeScale: "10"}
			url := startFake(t, srv)
			cfg := Config{Plan: loadPlan(t, dir, PlanOptions{}), Target: url, Users: 2, TimeScale: scale,
				Warmup: 0, Steady: 12 * time.Second, RampUp: time.Second, CacheSalt: "u{user}p{pass}", RunID: "t1"}
			rows, meta, rep := runToFile(t, context.Background(), cfg)
			if len(rows) < 8 {
				t.Fatalf("only %d rows", len(rows))
			}
			checkOrderAndThink(t, srv.Arrivals(), think, scale)
			for _, a := range srv.Arrivals() {
				if a.MaxTokens != 12 || a.MinTokens != 12 || !a.IgnoreEOS || !a.Stream {
					t.Fatalf("request not pinned: max %d min %d ignore_eos %v stream %v, want 12 12 true true", a.MaxTokens, a.MinTokens, a.IgnoreEOS, a.Stream)
				}
			}
			checkRows(t, rows, api, 12, scale)
			if meta.TimeScale != 10 || meta.RunID != "t1" || meta.Level(0) == nil || meta.Level(0).Users != 2 {
				t.Errorf("metadata: time_scale %v run_id %q levels %+v", meta.TimeScale, meta.RunID, meta.Levels)
			}
			if rep.Levels[0].CompletedSessions == 0 {
				t.Errorf("no completed sessions reported")
			}
			if strings.Contains(strings.Join(meta.Warnings, "\n"), "time scale") {
				t.Errorf("unexpected time scale warning: %s", meta.Warnings)
			}
		})
	}
}

// checkOrderAndThink groups server arrivals by salt (user, pass) and
// session and checks turn order and the gap between a response's end and
// the next turn's arrival.
func checkOrderAndThink(t *testing.T, as []fake.Arrival, think time.Duration, scale float64) {
	t.Helper()
	type key struct{ salt, session string }
	seqs := map[key][]fake.Arrival{}
	for _, a := range as {
		sid, _, ok := fake.ParseMarker(a.Marker)
		if !ok || a.Salt == "" {
			t.Fatalf("arrival without marker or salt: %q %q", a.Marker, a.Salt)
		}
		seqs[key{a.Salt, sid}] = append(seqs[key{a.Salt, sid}], a)
	}
	wantGap := time.Duration(float64(think) / scale)
	checked := 0
	for k, seq := range seqs {
		sort.Slice(seq, func(i, j int) bool { return seq[i].Start.Before(seq[j].Start) })
		for i, a := range seq {
			_, turn, _ := fake.ParseMarker(a.Marker)
			if turn != i {
				t.Fatalf("%v: request %d is turn %d; turns out of order", k, i, turn)
			}
			if i == 0 {
				continue
			}
			gap := a.Start.Sub(seq[i-1].End)
			// The server's End is taken after its last write returns: the
			// client can read the last event, and start its think time,
			// before the server's goroutine takes that time on a busy
			// machine (3 ms seen under -race with the load at 8). Allow
			// scheduling noise above and that much below.
			if gap < wantGap-5*time.Millisecond || gap > wantGap+80*time.Millisecond {
				t.Errorf("%v turn %d: sent %s after the previous response ended, want ≈ %s", k, turn, gap, wantGap)
			}
			checked++
		}
	}
	if checked < 4 {
		t.Fatalf("only %d think gaps checked", checked)
	}
}

// checkRows checks that every column of successful rows is filled and
// consistent, with world-time durations.
func checkRows(t *testing.T, rows []schemas.Result, api string, out int32, scale float64) {
	t.Helper()
	ok := 0
	for _, r := range rows {
		if r.Error != "" {
			if !strings.Contains(r.Error, "level ended") {
				t.Errorf("unexpected error row: %+v", r)
			}
			continue
		}
		ok++
		if r.RunID == "" || r.SessionID == "" || r.API != api || r.Phase == "" || r.Users != 2 || r.Status != 200 {
			t.Fatalf("row misses identity columns: %+v", r)
		}
		if !(r.ScheduledNS > 0 && r.SentNS >= r.ScheduledNS && r.FirstTokenNS > r.SentNS && r.EndNS >= r.FirstTokenNS) {
			t.Fatalf("row times not ordered: sched %d sent %d first %d end %d", r.ScheduledNS, r.SentNS, r.FirstTokenNS, r.EndNS)
		}
		if r.OutputTokens != out || len(r.ChunkOffsetsUS) != int(out) {
			t.Errorf("output tokens %d, chunks %d; want %d", r.OutputTokens, len(r.ChunkOffsetsUS), out)
		}
		if r.InputTokens <= 0 || r.CachedTokens <= 0 || r.ExpectedInputTokens <= 0 || r.ExpectedOutputTokens != out {
			t.Errorf("token columns: in %d cached %d expected in %d out %d", r.InputTokens, r.CachedTokens, r.ExpectedInputTokens, r.ExpectedOutputTokens)
		}
		if api != schemas.APIAnthropic && r.ReasoningTokens < 0 {
			t.Errorf("reasoning tokens %d, want reported", r.ReasoningTokens)
		}
		if api == schemas.APIAnthropic && r.ReasoningTokens != -1 {
			t.Errorf("anthropic reasoning tokens %d, want -1 (not reported)", r.ReasoningTokens)
		}
		// The fake's TTFT is 2 ms wall: ≥ 20 ms world at scale 10.
		if ttft := time.Duration(r.FirstTokenNS - r.SentNS); ttft < time.Duration(float64(2*time.Millisecond)*scale) {
			t.Errorf("TTFT %s world, want ≥ %s (2 ms wall × %g)", ttft, time.Duration(float64(2*time.Millisecond)*scale), scale)
		}
		for i := 1; i < len(r.ChunkOffsetsUS); i++ {
			if r.ChunkOffsetsUS[i] < r.ChunkOffsetsUS[i-1] {
				t.Fatalf("chunk offsets not monotonic: %v", r.ChunkOffsetsUS)
			}
		}
	}
	if ok == 0 {
		t.Fatal("no successful rows")
	}
}

func TestShardSplitsSessions(t *testing.T) {
	dir := writeTraces(t, traceSpec{sessions: 40, turns: 1})
	all := loadPlan(t, dir, PlanOptions{})
	seen := map[string]int{}
	total := 0
	for i := 0; i < 3; i++ {
		p := loadPlan(t, dir, PlanOptions{Shard: Shard{Index: i, Count: 3}})
		for _, s := range p.Sessions {
			seen[s.ID]++
		}
		total += len(p.Sessions)
		if len(p.Sessions) == 0 || len(p.Sessions) == 40 {
			t.Errorf("shard %d has %d of 40 sessions", i, len(p.Sessions))
		}
	}
	if total != len(all.Sessions) || len(seen) != 40 {
		t.Fatalf("shards cover %d sessions (%d distinct), want 40", total, len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("session %s in %d shards", id, n)
		}
	}
}

func TestUserOffsets(t *testing.T) {
	p := &Plan{Sessions: make([]*Session, 10)}
	tests := []struct{ u, n, want int }{{0, 4, 0}, {1, 4, 2}, {2, 4, 5}, {3, 4, 7}, {5, 20, 2}, {19, 20, 9}}
	for _, tt := range tests {
		if got := p.UserOffset(tt.u, tt.n); got != tt.want {
			t.Errorf("UserOffset(%d, %d) = %d, want %d", tt.u, tt.n, got, tt.want)
		}
	}
}

func TestSaltText(t *testing.T) {
	if got := saltText("run7-u{user}-p{pass}", 3, 1); got != "[cache-salt run7-u3-p1]\n" {
		t.Errorf("saltText = %q", got)
	}
}
