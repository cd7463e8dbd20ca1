package analyze

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentperf/agentperf/schemas"
)

const t0 = int64(1_700_000_000_000_000_000)

// req builds a successful steady row: sent at sentMS after t0, first chunk
// at ttftMS, n chunks every gapMS, reporting out output tokens.
func req(user int32, session string, turn int32, sentMS, ttftMS, gapMS float64, n int, out int32) schemas.Result {
	r := schemas.Result{
		RunID: "run", Level: 0, Users: 2, Phase: schemas.PhaseSteady, User: user, SessionID: session, Turn: turn,
		ScheduledNS: t0 + int64(sentMS*1e6), SentNS: t0 + int64(sentMS*1e6),
		InputTokens: 1000, CachedTokens: 600, OutputTokens: out, ReasoningTokens: -1,
		ExpectedInputTokens: 1000, ExpectedOutputTokens: out, Status: 200,
	}
	for i := range n {
		r.ChunkOffsetsUS = append(r.ChunkOffsetsUS, int32((ttftMS+gapMS*float64(i))*1000))
	}
	r.FirstTokenNS = r.SentNS + int64(ttftMS*1e6)
	r.EndNS = r.SentNS + int64((ttftMS+gapMS*float64(n-1)+1)*1e6)
	return r
}

func TestLevelAccumulator(t *testing.T) {
	rows := []schemas.Result{
		// user 0: session a (2 turns, ok), then b (unfinished: last session)
		req(0, "a", 0, 0, 100, 100, 11, 11),   // speed 10/1.0 s = 10 tok/s; e2e 11/1.1 s = 10
		req(0, "a", 1, 2000, 200, 50, 21, 21), // speed 20/1.0 = 20; e2e 21/1.2 = 17.5
		req(0, "b", 0, 4000, 300, 25, 41, 41), // speed 40/1.0 = 40; e2e 41/1.3
		// user 1: session c failed at turn 1, then d (3 turns ok), then e
		req(1, "c", 0, 0, 400, 100, 3, 3), // speed 2/0.2 = 10
		{RunID: "run", Users: 2, Phase: schemas.PhaseSteady, User: 1, SessionID: "c", Turn: 1, ScheduledNS: t0 + 1000e6, SentNS: t0 + 1002e6, EndNS: t0 + 1500e6, Status: 500, Error: "HTTP 500", InputTokens: -1, CachedTokens: -1, OutputTokens: -1},
		req(1, "d", 0, 2000, 100, 0, 1, 1),   // one token: no output speed, e2e 1/0.1 = 10
		req(1, "d", 1, 2500, 100, 10, 5, -1), // output tokens from 5 chunks: speed 4/0.04 = 100
		req(1, "d", 2, 3000, 100, 10, 2, 2),  // speed 1/0.01 = 100
		req(1, "e", 0, 3500, 100, 10, 2, 2),
	}
	rows[6].CachedTokens = -1
	// a warm-up row of session a and a drain row
	w := req(0, "a", 0, -5000, 100, 10, 2, 2)
	w.Phase = schemas.PhaseWarmup
	dr := req(1, "e", 1, 9000, 100, 10, 2, 2)
	dr.Phase = schemas.PhaseDrain
	rows[0].Turn = 1 // a's steady turns are 1 and 2; turn 0 was in warm-up
	rows[1].Turn = 2
	a := NewLevelAccumulator(1)
	a.Add(&w)
	for i := range rows {
		a.Add(&rows[i])
	}
	a.Add(&dr)
	s := a.Stats(Validity{}, 5*time.Second)

	check := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("requests", float64(s.Requests), 9)
	check("errors", float64(s.Errors), 1)
	check("warmup", float64(s.WarmupRequests), 1)
	check("drain", float64(s.DrainRequests), 1)
	check("users", float64(s.Users), 2)
	// user 0: a complete; b open. user 1: c failed, d complete, e open (its
	// drain turn does not matter).
	check("trajectories", float64(s.Trajectories), 2)
	check("speed count", float64(s.OutputSpeed.Count()), 7)
	check("speed P50", s.OutputSpeed.Percentile(50), 40) // 10 10 20 40 100 100 100
	check("speed P25", s.OutputSpeed.Percentile(25), 15)
	check("e2e count", float64(s.E2ESpeed.Count()), 8)
	check("e2e min (c turn 0: 3 tokens in 0.6 s)", s.E2ESpeed.Min(), 5)
	check("ttft count", float64(s.TTFT.Count()), 8)
	check("ttft max ms", s.TTFT.Max(), 400)
	check("ttft P50 ms", s.TTFT.Percentile(50), 100)
	check("itl count", float64(s.ITL.Count()), 10+20+40+2+0+4+1+1)
	check("itl max ms", s.ITL.Max(), 100)
	check("lag P100 ms", s.ClientLag.Max(), 2)
	check("output tokens", float64(s.OutputTokens), 11+21+41+3+1+5+2+2)
	check("chunk counted", float64(s.ChunkCounted), 1)
	check("input tokens", float64(s.InputTokens), 8000)
	check("cache hit", s.CacheHitRate(), 0.6)
	// window: first steady send (t0) to last steady end (b: 4000+300+1000+1 ms)
	check("window s", s.Window().Seconds(), 5.301)
	// steady-state window: from midway between the warm-up's last and the
	// steady phase's first schedule (−5 s, 0) to start + the configured
	// 5 s, held at the last steady schedule (4 s): [−2.5 s, 4 s). Output
	// tokens arriving inside it: a's 11 + 21, c's 3, d's 1 + 5 + 2, e's 2
	// (b's arrive from 4.3 s on, the warm-up's at −4.9 s); input tokens of
	// the 8 successful steady requests.
	check("steady window s", s.SteadyWindow().Seconds(), 6.5)
	check("window output tokens", s.WindowOutputTokens, 45)
	check("output tok/s", s.OutputTokPerSec(), 45/6.5)
	check("total tok/s", s.TotalTokPerSec(), (8000+45)/6.5)
	check("error rate", s.ErrorRate(), 1.0/9)
	codes := []string{}
	for _, f := range s.Flags {
		codes = append(codes, f.Code)
	}
	if got, want := strings.Join(codes, ","), "errors,few_trajectories,window_under_minimum"; got != want {
		t.Errorf("flags %s, want %s (%+v)", got, want, s.Flags)
	}
	s2 := a.Stats(Validity{MinTrajectories: -1, MaxErrorRate: 0.5, MinWindow: -1, MaxDelayedLoad: 0.00005}, 10*time.Second)
	codes = codes[:0]
	for _, f := range s2.Flags {
		codes = append(codes, f.Code)
	}
	if got, want := strings.Join(codes, ","), "client_lag,short_window"; got != want {
		t.Errorf("flags with custom validity %s, want %s (%+v)", got, want, s2.Flags)
	}
}

func TestRequestTimes(t *testing.T) {
	r := schemas.Result{SentNS: 1000, FirstTokenNS: 0, EndNS: 90000, ChunkOffsetsUS: []int32{5, 50}}
	if f, l, ok := requestTimes(&r); !ok || f != 6000 || l != 51000 {
		t.Errorf("from chunks: %d %d %v", f, l, ok)
	}
	r = schemas.Result{SentNS: 1000, FirstTokenNS: 3000, EndNS: 90000}
	if f, l, ok := requestTimes(&r); !ok || f != 3000 || l != 90000 {
		t.Errorf("no chunks falls back to end: %d %d %v", f, l, ok)
	}
	r = schemas.Result{SentNS: 1000, EndNS: 90000}
	if _, _, ok := requestTimes(&r); ok {
		t.Error("no first token should not be ok")
	}
}

func TestFailed(t *testing.T) {
	for _, c := range []struct {
		r    schemas.Result
		want bool
	}{
		{schemas.Result{Status: 200}, false},
		{schemas.Result{Status: 204}, false},
		{schemas.Result{Status: 200, Error: "truncated stream"}, true},
		{schemas.Result{Status: 429}, true},
		{schemas.Result{Status: 0}, true},
	} {
		if got := isFailed(&c.r); got != c.want {
			t.Errorf("isFailed(%+v) = %v, want %v", c.r, got, c.want)
		}
	}
}

// TestOutputNotPinned: with output policy exact, a successful response
// with fewer output tokens than pinned is counted per level and flagged;
// without the policy it is counted but not flagged.
func TestOutputNotPinned(t *testing.T) {
	for _, tc := range []struct {
		name     string
		policy   string
		short    int
		wantFlag bool
	}{
		{"exact, 3 short", "exact", 3, true},
		{"exact, none short", "exact", 0, false},
		{"cap, 3 short", "cap", 3, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "r.parquet")
			writeFixture(t, path, "pin", &schemas.RunMeta{RunID: "pin", Model: "gpt-oss-120b", OutputPolicy: tc.policy},
				[]fixtureLevel{{users: 4, perUser: 5, speed: 200, ttft: 0.5, out: 20, turns: 2, short: tc.short}})
			opt := Options{}
			opt.Bootstrap.Replicates = 50
			rep, err := Analyze(context.Background(), []string{path}, opt)
			if err != nil {
				t.Fatal(err)
			}
			st := rep.Sets[0].Levels[0]
			if st.PinChecked != 20 || st.Unpinned != int64(tc.short) {
				t.Errorf("pin checked %d, unpinned %d; want 20 and %d", st.PinChecked, st.Unpinned, tc.short)
			}
			if got := st.HasFlag(FlagOutputNotPinned); got != tc.wantFlag {
				t.Errorf("flag %s = %v, want %v (flags %+v)", FlagOutputNotPinned, got, tc.wantFlag, st.Flags)
			}
		})
	}
}

// TestWindowThroughput: 10-second requests sent back to back by 8 users
// around a 60-second window. Output tok/s is the tokens that arrived
// inside the window ÷ the window, within 1 % (the window's ends are
// estimated from the schedules around them); dividing the steady requests'
// tokens by their span instead runs low by about D ÷ (D + request time).
func TestWindowThroughput(t *testing.T) {
	const (
		users   = 8
		window  = 60e3 // ms
		ttft    = 200.0
		gap     = 19.6 // ms between chunks
		n       = 500  // chunks (= tokens) per request: 0.2 + 499 × 0.0196 ≈ 10 s
		reqMS   = ttft + gap*(n-1) + 1
		startMS = -30e3
	)
	a := NewLevelAccumulator(1)
	var inWindow float64 // tokens arriving in [0, window), counted here
	var steadyTokens int
	for u := range int32(users) {
		for sent := startMS + float64(u)*reqMS/users; sent < window+30e3; sent += reqMS + 1 {
			r := req(u, "s"+itoa(int(u)), 0, sent, ttft, gap, n, n)
			r.Users = users
			switch {
			case sent < 0:
				r.Phase = schemas.PhaseWarmup
			case sent >= window:
				r.Phase = schemas.PhaseDrain
			default:
				steadyTokens += n
			}
			for i := range n {
				if at := sent + ttft + gap*float64(i); at >= 0 && at < window {
					inWindow++
				}
			}
			a.Add(&r)
		}
	}
	st := a.Stats(Validity{}, time.Duration(window)*time.Millisecond)
	want := inWindow / (window / 1e3)
	if got := st.OutputTokPerSec(); math.Abs(got-want) > 0.01*want {
		t.Errorf("output tok/s %.2f, want %.2f ± 1 %% (tokens inside the window ÷ 60 s); window [%d, %d) ms", got, want,
			(st.SteadyStartNS-t0)/1e6, (st.SteadyEndNS-t0)/1e6)
	}
	span := float64(st.Window()) / 1e9
	if old := float64(steadyTokens) / span; math.Abs(old-want) < 0.05*want {
		t.Errorf("the span rule gives %.2f, within 5 %% of %.2f: the test does not tell the two rules apart", old, want)
	} else {
		t.Logf("window rule %.2f tok/s, span rule %.2f, truth %.2f", st.OutputTokPerSec(), old, want)
	}
}
