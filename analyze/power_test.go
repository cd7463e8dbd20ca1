package analyze

import (
	"bytes"
	"context"
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/power"
	"github.com/agentperf/agentperf/schemas"
)

// powerRecord is a constant draw of watts by system over [from, to), one
// sample a second.
func powerRecord(run, system string, shard int, watts float64, from, to int64) power.Record {
	rec := power.Record{RunID: run}
	for t := from; t <= to; t += 1e9 {
		rec.Samples = append(rec.Samples, power.Sample{Source: "fake", System: system, Shard: shard, TimeNS: t, WallNS: t,
			Watts: watts, GPUWatts: []float64{watts / 2, watts / 2}, GPUIDs: []string{"0", "1"}})
	}
	return rec
}

// TestPower: two shards of one run, each with its own power file and
// system (2 kW and 3 kW, constant): every level's power is their sum, the
// energy per token and per trajectory follow from the window, and agents
// per MW is max users ÷ the measured megawatts, by hand.
func TestPower(t *testing.T) {
	dir := t.TempDir()
	files := goldenFixtures(t, dir)[1:] // mi300x-run: two shards, one level of 6 users
	from, to := fixtureT0-10e9, fixtureT0+200e9
	for i, f := range files {
		rec := powerRecord("mi300x-run", []string{"node-a", "node-b"}[i], i, []float64{2000, 3000}[i], from, to)
		if err := power.Save(schemas.PowerPath(f), rec, false); err != nil {
			t.Fatal(err)
		}
	}
	opt := Options{Catalog: testCatalog(t)}
	opt.Bootstrap.Replicates = 100
	rep, err := Analyze(context.Background(), files, opt)
	if err != nil {
		t.Fatal(err)
	}
	set := rep.Sets[0]
	if len(set.PowerFiles) != 2 || set.Power == nil {
		t.Fatalf("power files %v, want both shards'", set.PowerFiles)
	}
	st := set.Levels[0]
	p := st.Power
	if p == nil {
		t.Fatal("level 0 has no power")
	}
	window := float64(st.SteadyEndNS-st.SteadyStartNS) / 1e9
	for _, x := range []struct {
		name      string
		got, want float64
	}{
		{"mean W", p.MeanW, 5000},
		{"P95 W", p.P95W, 5000},
		{"node-a W", p.BySystem["node-a"], 2000},
		{"node-b W", p.BySystem["node-b"], 3000},
		{"energy J", p.EnergyJ, 5000 * window},
		{"J per output token", p.JoulesPerToken, 5000 * window / st.WindowOutputTokens},
		{"J per trajectory", p.JoulesPerTrajectory, 5000 * window / float64(st.TrajectoriesInWindow)},
	} {
		if math.Abs(x.got-x.want) > 1e-6*math.Abs(x.want) {
			t.Errorf("%s = %v, want %v", x.name, x.got, x.want)
		}
	}
	c := set.Capacity[0] // 30 tok/s: every level passes, max users ≥ 6
	if want := c.Users.Point / (5000 / 1e6); math.Abs(c.AgentsPerMW.Point-want) > 1e-6 || math.Abs(c.PowerW-5000) > 1e-6 {
		t.Errorf("agents per MW %v at %v W, want %v (max users %v ÷ 5 kW)", c.AgentsPerMW.Point, c.PowerW, want, c.Users.Point)
	}
	// The same figures under the same column names in csv and json.
	var buf bytes.Buffer
	if err := Write(&buf, rep, FormatCSV, TableCapacity); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := func(name string) string { return recs[1][indexOf(recs[0], name)] }
	if got, _ := strconv.ParseFloat(col("agents_per_mw"), 64); math.Abs(got-c.AgentsPerMW.Point) > 1e-6 {
		t.Errorf("csv agents_per_mw %q, want %v", col("agents_per_mw"), c.AgentsPerMW.Point)
	}
	buf.Reset()
	if err := Write(&buf, rep, FormatJSON, ""); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"agents_per_mw": 1200`) {
		t.Errorf("json lacks agents_per_mw 1200:\n%.2000s", buf.String())
	}
	buf.Reset()
	if err := WriteHTML(&buf, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `data-chart="power"`) {
		t.Errorf("report has no power chart")
	}
	if keep := os.Getenv("AGENTPERF_KEEP_REPORT"); keep != "" {
		os.WriteFile(filepath.Join(keep, "power-report.html"), buf.Bytes(), 0o644)
	}
	// A power file of another run is not used, and says so.
	other := filepath.Join(dir, "other.parquet")
	writeFixture(t, other, "other-run", &schemas.RunMeta{RunID: "other-run", Model: "gpt-oss-120b"}, []fixtureLevel{{users: 2, perUser: 4, speed: 100, ttft: 1, out: 10, turns: 2}})
	if err := power.Save(schemas.PowerPath(other), powerRecord("mi300x-run", "x", 0, 1, from, to), false); err != nil {
		t.Fatal(err)
	}
	rep, err = Analyze(context.Background(), []string{other}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if s := rep.Sets[0]; s.Power != nil || !strings.Contains(strings.Join(s.Notes, "\n"), "not used") {
		t.Errorf("another run's power file: power %v, notes %q", s.Power != nil, s.Notes)
	}
}

func indexOf(xs []string, x string) int {
	for i, s := range xs {
		if s == x {
			return i
		}
	}
	return -1
}

// TestPowerNote: the simulator's power model is called modelled, a
// meter's (or several systems', one of them the simulator) measured.
func TestPowerNote(t *testing.T) {
	set := &ResultSet{PowerFiles: []string{"r.power.parquet"}}
	for _, tc := range []struct {
		systems []string
		want    string
	}{
		{[]string{power.SourceModelled}, "modelled power from r.power.parquet (2 samples): the embedded simulator's power model"},
		{[]string{"node-a"}, "measured power from r.power.parquet (2 samples, 0 gaps; systems node-a)"},
		{[]string{"node-a", power.SourceModelled}, "measured power from r.power.parquet (4 samples, 0 gaps; systems node-a, sim)"},
	} {
		var rec power.Record
		for _, sys := range tc.systems {
			r := powerRecord("run", sys, 0, 1000, 0, 1e9)
			rec.Samples = append(rec.Samples, r.Samples...)
		}
		if got := set.powerNote(&rec); !strings.HasPrefix(got, tc.want) {
			t.Errorf("systems %v: note %q, want prefix %q", tc.systems, got, tc.want)
		}
	}
}
