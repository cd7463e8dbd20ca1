package analyze

import (
	"context"
	"errors"
	"fmt"
	"github.com/agentperf/agentperf/internal/hist"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agentperf/agentperf/capacity"
	"github.com/agentperf/agentperf/schemas"
)

func TestLoadSystem(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "s.yaml")
		os.WriteFile(p, []byte(s), 0o644)
		return p
	}
	s, err := LoadSystem(write("name: mine\nhardware: b200\naccelerators: 8\ndollars_per_hour: 4\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.fill(testCatalog(t)); err != nil {
		t.Fatal(err)
	}
	if s.Name != "mine" || s.Accelerators != 8 || s.DollarsPerHour != 4 || s.TDPWatts <= 0 || s.AcceleratorsPerRack <= 0 ||
		!strings.Contains(s.Source, "catalog b200 (TDP, rack size)") {
		t.Errorf("system %+v", s)
	}
	for _, bad := range []struct{ in, want string }{
		{"accelerators: -1\n", "≥ 0"},
		{"acelerators: 8\n", "acelerators"},
		{"accelerators: 8\ntdp_watts: 500\n", "without a catalog hardware name"},
		{"tdp_watts: -5\n", "must be ≥ 0"},
	} {
		if _, err := LoadSystem(write(bad.in)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("LoadSystem(%q): %v, want error with %q", bad.in, err, bad.want)
		}
	}
	if _, err := LoadSystem(filepath.Join(dir, "none.yaml")); err == nil {
		t.Error("missing system file accepted")
	}
	// a custom accelerator without catalog entry
	s, err = LoadSystem(write("name: x\naccelerators: 2\ntdp_watts: 500\ndollars_per_hour: 1\naccelerators_per_rack: 10\n"))
	if err != nil || s.fill(testCatalog(t)) != nil || s.TDPWatts != 500 {
		t.Errorf("custom system: %+v %v", s, err)
	}
}

// levelOf returns the stats of a level at users whose every request
// streams at about speed tok/s (±10 % by session) after 100 ms: three
// sessions per user of five turns each.
func levelOf(users int, speed float64) *LevelStats {
	acc := NewLevelAccumulator(1)
	t0 := int64(1_767_225_600_000_000_000)
	for u := range users {
		for sess := range 3 {
			sp := speed * (0.9 + 0.2*float64((u*3+sess)%7)/6)
			for turn := range 5 {
				sent := t0 + int64(u)*1e7 + int64(sess*5+turn)*2e9
				offs := make([]int32, 20)
				for c := range offs {
					offs[c] = int32(100_000 + float64(c)*1e6/sp)
				}
				acc.Add(&schemas.Result{RunID: "r", Users: int32(users), User: int32(u), Phase: schemas.PhaseSteady,
					SessionID: fmt.Sprint("s", sess), Turn: int32(turn), ScheduledNS: sent, SentNS: sent,
					FirstTokenNS: sent + 100e6, EndNS: sent + int64(offs[19])*1000, ChunkOffsetsUS: offs,
					InputTokens: 100, CachedTokens: -1, OutputTokens: 20, ExpectedOutputTokens: 20, Status: 200})
			}
		}
	}
	return acc.Stats(Validity{}, 0)
}

// TestCapacity checks max users (the highest passing level and the fit
// with its interval), normalization and lower_level_failed on levels of
// 4 users passing, 8 failing and 16 passing.
func TestCapacity(t *testing.T) {
	set := &ResultSet{
		Levels: []*LevelStats{levelOf(4, 200), levelOf(8, 50), levelOf(16, 150)},
		Tiers:  []Tier{NewTier(100, time.Second), NewTier(1000, time.Second)},
		System: System{Accelerators: 4, TDPWatts: 1000, DollarsPerHour: 2, AcceleratorsPerRack: 72},
	}
	set.Levels[2].Flags = []Flag{{Code: FlagClientLag}}
	opt := capacity.Options{Replicates: 200}
	set.judge(opt)
	c := set.Capacity[0]
	if c.MaxUsers != 16 || c.Level != 2 {
		t.Errorf("highest passing %d (level %d), want 16 (2)", c.MaxUsers, c.Level)
	}
	if c.Fit == nil || c.Censored != capacity.Bounded || !(c.Users.Lo <= c.Users.Point && c.Users.Point <= c.Users.Hi) || c.Users.Point < 4 || c.Users.Point >= 16 {
		t.Fatalf("fitted max users %+v (%v): the failing 8 users pool with 16 and bound it", c.Users, c.Censored)
	}
	if c.Users.Point != math.Floor(c.Users.Point) || c.Users.Lo != math.Floor(c.Users.Lo) {
		t.Errorf("max users %+v not rounded down to whole users", c.Users)
	}
	for _, x := range []struct {
		name     string
		got      capacity.Estimate
		perPoint float64
	}{
		{"users/accelerator", c.UsersPerAccelerator, 1.0 / 4},
		{"users/kW", c.UsersPerKW, 1.0 / 4},
		{"users/$h", c.UsersPerDollarHour, 1.0 / 8},
		{"users/rack", c.UsersPerRack, 72.0 / 4},
	} {
		want := capacity.Estimate{Point: c.Users.Point * x.perPoint, Lo: c.Users.Lo * x.perPoint, Hi: c.Users.Hi * x.perPoint}
		if math.Abs(x.got.Point-want.Point) > 1e-9 || math.Abs(x.got.Lo-want.Lo) > 1e-9 || math.Abs(x.got.Hi-want.Hi) > 1e-9 {
			t.Errorf("%s = %+v, want %+v", x.name, x.got, want)
		}
	}
	if !slices.Equal(c.Flags, []string{FlagClientLag, FlagLowerLevelFailed}) {
		t.Errorf("flags %v, want client_lag and lower_level_failed", c.Flags)
	}
	if c := set.Capacity[1]; c.MaxUsers != 0 || c.Level != -1 || c.Censored != capacity.Below || c.Users.Point != 0 || len(c.Flags) != 0 {
		t.Errorf("no passing level: %+v", c)
	}
	if got := fmtEstimate(set.Capacity[1].Users, capacity.Below, 0); !strings.HasPrefix(got, "< ") {
		t.Errorf("censored below shown as %q", got)
	}
	set.System = System{}
	set.Capacity = nil
	set.judge(opt)
	if !math.IsNaN(set.Capacity[0].UsersPerKW.Point) || math.IsNaN(set.Capacity[0].Users.Point) {
		t.Errorf("unknown hardware should give NaN normalized figures and a max users, got %+v", set.Capacity[0])
	}
	// hand-built stats have no requests to resample: no interval, a note
	bare := statsWith([]float64{200, 200}, []float64{100, 100}, 2, 0)
	bare.Users, bare.E2ESpeed, bare.ITL, bare.ClientLag = 4, hist.New(1), hist.New(1), hist.New(1)
	set = &ResultSet{Levels: []*LevelStats{bare}, Tiers: []Tier{NewTier(100, time.Second)}}
	set.judge(opt)
	if c := set.Capacity[0]; c.MaxUsers != 4 || !math.IsNaN(c.Users.Point) || len(set.Notes) != 1 {
		t.Errorf("level without a sample: %+v, notes %q", c, set.Notes)
	}
}

func TestAnalyzeErrors(t *testing.T) {
	dir := t.TempDir()
	files := goldenFixtures(t, dir)
	ctx := context.Background()
	if _, err := Analyze(ctx, nil, Options{}); err == nil {
		t.Error("no files accepted")
	}
	// mi300x-run's model has a preset; a run without a model needs tiers
	p := filepath.Join(dir, "nomodel.parquet")
	writeFixture(t, p, "anon", nil, []fixtureLevel{{users: 2, perUser: 3, speed: 50, ttft: 1, out: 10, turns: 2}})
	if _, err := Analyze(ctx, []string{p}, Options{}); !errors.Is(err, ErrNoTiers) || strings.Contains(err.Error(), "--") {
		t.Errorf("run without model: %v", err)
	}
	if rep, err := Analyze(ctx, []string{p}, Options{DefaultPreset: "deepseek-v3.2"}); err != nil || !strings.Contains(rep.Sets[0].TierSource, "default") {
		t.Errorf("default preset: %v", err)
	}
	if _, err := Analyze(ctx, files[:1], Options{Hardware: "nope"}); err == nil || !strings.Contains(err.Error(), "unknown hardware") {
		t.Errorf("unknown hardware: %v", err)
	}
	ctx2, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Analyze(ctx2, files, Options{}); err == nil {
		t.Error("cancelled analysis succeeded")
	}
}

// TestClientLagInWallTime checks that client lag, stored in world time by a
// replay at --time-scale K, is reported in wall-clock time, while the load
// it left undelivered is judged in world time, whatever K.
func TestClientLagInWallTime(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		scale   string
		lagUS   int64   // world
		wantLag float64 // ms, wall
		flagged bool
	}{{"", 20_000, 20, false}, {"1", 20_000, 20, false}, {"20", 20_000, 1, false}, {"1", 600_000, 600, true}, {"20", 600_000, 30, true}} {
		k, _ := strconv.ParseFloat(tt.scale, 64)
		lv := []fixtureLevel{{users: 2, perUser: 4, speed: 50, ttft: 1, out: 10, turns: 2, lagUS: tt.lagUS}}
		p := filepath.Join(dir, fmt.Sprintf("k%s-%d.parquet", tt.scale, tt.lagUS))
		writeFixture(t, p, "run-k"+tt.scale, &schemas.RunMeta{Model: "gpt-oss-120b", TimeScale: k}, lv)
		rep, err := Analyze(context.Background(), []string{p}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		st := rep.Sets[0].Levels[0]
		if got := st.ClientLag.Percentile(99); math.Abs(got-tt.wantLag) > 0.01 {
			t.Errorf("time_scale %q, lag %d µs: lag p99 %.3f ms, want %.3f", tt.scale, tt.lagUS, got, tt.wantLag)
		}
		if flagged := st.HasFlag(FlagClientLag) || st.HasFlag(FlagClientSaturated); flagged != tt.flagged {
			t.Errorf("time_scale %q, lag %d µs: client_lag flag %v, want %v (%+v)", tt.scale, tt.lagUS, st.HasFlag(FlagClientLag), tt.flagged, st.Client)
		}
	}
}
