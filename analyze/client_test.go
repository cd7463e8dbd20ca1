package analyze

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentperf/agentperf/schemas"
)

// clientLevel builds a steady window of users closed-loop users at time
// scale k: sends every cycle (world) per user over window, each request
// lasting dur (world); lag(i) gives send i's wall-clock lag.
func clientLevel(users int, k float64, cycle, window, dur time.Duration, lag func(i, n int) time.Duration) *LevelStats {
	a := NewLevelAccumulator(k)
	perUser := int(window / cycle)
	n := users * perUser
	i := 0
	for u := range users {
		for j := range perUser {
			sched := t0 + int64(j)*int64(cycle) + int64(u)*int64(cycle)/int64(users)
			sent := sched + int64(float64(lag(i, n))*k)
			a.Add(&schemas.Result{RunID: "r", Users: int32(users), Phase: schemas.PhaseSteady, User: int32(u), SessionID: "s",
				Turn: int32(j), ScheduledNS: sched, SentNS: sent, FirstTokenNS: sent + int64(dur)/2, EndNS: sent + int64(dur),
				OutputTokens: 10, InputTokens: 100, CachedTokens: 0, Status: 200})
			i++
		}
	}
	return a.Stats(Validity{MinTrajectories: -1, MinWindow: -1}, window)
}

func TestJudgeClient(t *testing.T) {
	const ms = time.Millisecond
	every := func(k int, late, base time.Duration) func(i, n int) time.Duration {
		return func(i, n int) time.Duration {
			if i%k == k-1 {
				return late
			}
			return base
		}
	}
	for _, tt := range []struct {
		name          string
		st            *LevelStats
		cpu           float64
		ok, saturated bool
		want          string // in the reasons
	}{
		// Issue 17's demo level: 2 users at K = 15, 60 sends in a 2-minute
		// window, p50 ~1 ms, a tenth of the sends 9.5 ms late (timer
		// wake-ups on an idle 2-core VM).
		{"idle client, isolated wake-ups", clientLevel(2, 15, 4*time.Second, 2*time.Minute, 2*time.Second, every(10, 9500*time.Microsecond, ms)), 0.05, true, false, ""},
		// The same late sends at 2,000 sends: p99 is now judged, and 9.5 ms
		// is below a tenth of the cycle (4 s world = 267 ms wall).
		{"many sends, late wake-ups", clientLevel(50, 15, 4*time.Second, 160*time.Second, 2*time.Second, every(20, 9500*time.Microsecond, ms)), 0.3, true, false, ""},
		// Every send 150 ms late at K = 1 on a 3 s cycle: 5 % of the load.
		{"delayed load", clientLevel(4, 1, 3*time.Second, time.Minute, time.Second, func(int, int) time.Duration { return 150 * ms }), 0.2, false, false, "undelivered"},
		// p99 beyond a tenth of a 1 s cycle with 1,200 sends, little load lost.
		{"p99 beyond the cycle share", clientLevel(20, 1, time.Second, time.Minute, 500*ms, every(50, 150*ms, 0)), 0.2, false, false, "p99"},
		// Lag growing from 0 to 1.5 s over the window: saturated.
		{"growing lag", clientLevel(8, 1, 2*time.Second, time.Minute, time.Second, func(i, n int) time.Duration {
			return time.Duration(i%30) * 50 * ms
		}), 0.5, false, true, "rose"},
		{"CPU saturated", clientLevel(2, 1, time.Second, 20*time.Second, 100*ms, func(int, int) time.Duration { return 0 }), 0.95, false, true, "CPU 95 %"},
		{"CPU unknown", clientLevel(2, 1, time.Second, 20*time.Second, 100*ms, func(int, int) time.Duration { return 0 }), -1, true, false, ""},
	} {
		h := tt.st.JudgeClient(Validity{}, tt.cpu, 2)
		why := strings.Join(h.Reasons, "; ")
		if h.OK != tt.ok || h.Saturated != tt.saturated || !strings.Contains(why, tt.want) {
			t.Errorf("%s: ok %v saturated %v (%s); want ok %v saturated %v mentioning %q\n  figures: %d sends, p99 %v, cycle %v, delayed %.4f, growth %v",
				tt.name, h.OK, h.Saturated, why, tt.ok, tt.saturated, tt.want, h.Sends, h.LagP99, h.Cycle, h.DelayedLoad, h.LagGrowth)
		}
	}
}

// TestLagTrendMerge: a fit merged from two halves equals the fit of all.
func TestLagTrendMerge(t *testing.T) {
	var all, a, b lagTrend
	for i := range 100 {
		at, lag := t0+int64(i)*int64(time.Second), float64(i*i)
		all.add(at, lag)
		if i%3 == 0 {
			a.add(at, lag)
		} else {
			b.add(at, lag)
		}
	}
	b.merge(&a)
	if g, w := b.growth(), all.growth(); g < w*0.999999 || g > w*1.000001 {
		t.Errorf("merged growth %v, want %v", g, w)
	}
}

// TestCountsTowardCapacity: the windows analyze leaves out of capacity are
// those replay's search leaves out of its fit — remeasured ones and its
// client ceiling (CPU-bound, or saturated in every attempt at its users).
func TestCountsTowardCapacity(t *testing.T) {
	type lvl struct {
		users          int
		remeasured     bool
		saturated, cpu bool
	}
	for _, c := range []struct {
		name   string
		levels []lvl // in level order; the last is judged
		want   bool
	}{
		{"a plain window", []lvl{{users: 8}}, true},
		{"remeasured", []lvl{{users: 8, remeasured: true}}, false},
		{"CPU-bound", []lvl{{users: 8, saturated: true, cpu: true}}, false},
		{"saturated in its only attempt", []lvl{{users: 4}, {users: 8, saturated: true}}, false},
		{"saturated in every attempt", []lvl{{users: 8, remeasured: true, saturated: true}, {users: 8, remeasured: true, saturated: true}, {users: 8, saturated: true}}, false},
		{"saturated last, behind but not saturated before", []lvl{{users: 8, remeasured: true}, {users: 8, remeasured: true, saturated: true}, {users: 8, saturated: true}}, true},
		{"an earlier measurement of the same users does not chain", []lvl{{users: 8}, {users: 8, saturated: true}}, false},
		{"nor does a remeasured window of other users", []lvl{{users: 4, remeasured: true}, {users: 8, saturated: true}}, false},
	} {
		set := &ResultSet{}
		for i, l := range c.levels {
			st := &LevelStats{Level: i, Users: l.users}
			st.Client.Saturated, st.Client.CPUBound = l.saturated, l.cpu
			if l.remeasured {
				st.Flags = append(st.Flags, Flag{Code: FlagRemeasured})
			}
			if l.saturated {
				st.Flags = append(st.Flags, Flag{Code: FlagClientSaturated})
			}
			set.Levels = append(set.Levels, st)
		}
		// Levels are held in increasing users: the judged level's index
		// need not be its level number.
		slices.SortStableFunc(set.Levels, func(a, b *LevelStats) int { return a.Users - b.Users })
		i := slices.IndexFunc(set.Levels, func(st *LevelStats) bool { return st.Level == len(c.levels)-1 })
		if got := set.countsTowardCapacity(i); got != c.want {
			t.Errorf("%s: counts %v, want %v", c.name, got, c.want)
		}
	}
}
