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

// TestCapacity checks max users, normalization and lower_level_failed on
// hand-built levels: 4 users pass, 8 fail, 16 pass.
func TestCapacity(t *testing.T) {
	mk := func(users int, speed float64) *LevelStats {
		s := statsWith([]float64{speed, speed, speed}, []float64{100, 100, 100}, 3, 0)
		s.Users, s.E2ESpeed, s.ITL, s.ClientLag = users, hist.New(1), hist.New(1), hist.New(1)
		return s
	}
	set := &ResultSet{
		Levels: []*LevelStats{mk(4, 200), mk(8, 50), mk(16, 150)},
		Tiers:  []Tier{NewTier(100, time.Second), NewTier(1000, time.Second)},
		System: System{Accelerators: 4, TDPWatts: 1000, DollarsPerHour: 2, AcceleratorsPerRack: 72},
	}
	set.Levels[2].Flags = []Flag{{Code: FlagClientLag}}
	set.judge()
	c := set.Capacity[0]
	if c.MaxUsers != 16 || c.Level != 2 || c.UsersPerAccelerator != 4 || c.UsersPerKW != 4 || c.UsersPerDollarHour != 2 || c.UsersPerRack != 288 {
		t.Errorf("capacity %+v", c)
	}
	if !slices.Equal(c.Flags, []string{FlagClientLag, FlagLowerLevelFailed}) {
		t.Errorf("flags %v, want client_lag and lower_level_failed", c.Flags)
	}
	if c := set.Capacity[1]; c.MaxUsers != 0 || c.Level != -1 || c.UsersPerAccelerator != 0 || len(c.Flags) != 0 {
		t.Errorf("no passing level: %+v", c)
	}
	set.System = System{}
	set.Capacity = nil
	set.judge()
	if !math.IsNaN(set.Capacity[0].UsersPerKW) {
		t.Errorf("unknown hardware should give NaN, got %v", set.Capacity[0].UsersPerKW)
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
