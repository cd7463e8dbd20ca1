//go:build unix

package power

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeExporter is a dcgm-exporter stand-in: it serves watts per GPU that
// the test changes, and counts scrapes.
type fakeExporter struct {
	*httptest.Server
	watts   atomic.Pointer[[]float64]
	status  atomic.Int32 // non-zero: answer with this status
	scrapes atomic.Int64
}

func newFakeExporter(t *testing.T, watts []float64) *fakeExporter {
	f := &fakeExporter{}
	f.watts.Store(&watts)
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s := f.status.Load(); s != 0 {
			http.Error(w, "exporter is down", int(s))
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprint(w, dcgmBody("node", *f.watts.Load()))
		f.scrapes.Add(1)
	}))
	t.Cleanup(f.Close)
	return f
}

// fakeCommand writes a script that prints the watts in a file, one line per
// GPU, every 20 ms and counts its rounds; the test rewrites the file to
// change them, or creates <file>.dead to kill the command.
type fakeCommand struct {
	file, spec string
}

func newFakeCommand(t *testing.T, opts string, watts ...float64) *fakeCommand {
	dir := t.TempDir()
	f := &fakeCommand{file: filepath.Join(dir, "watts")}
	f.set(t, watts...)
	script := `f=$0; [ -e "$f.dead" ] && { echo "lost the GPU" >&2; exit 3; }
while [ ! -e "$f.dead" ]; do cat "$f"; echo >> "$f.rounds"; sleep 0.02; done
echo >> "$f.deaths"; echo "lost the GPU" >&2; exit 3`
	f.spec = fmt.Sprintf("cmd(%s):sh -c '%s' %s", opts, script, f.file)
	return f
}

// set replaces the watts atomically (a rename), so a read sees old or new.
func (f *fakeCommand) set(t *testing.T, watts ...float64) {
	var b strings.Builder
	for _, w := range watts {
		fmt.Fprintf(&b, "%v\n", w)
	}
	tmp := f.file + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, f.file); err != nil {
		t.Fatal(err)
	}
}

func (f *fakeCommand) count(suffix string) int {
	b, _ := os.ReadFile(f.file + suffix)
	return len(b)
}

// saveLoad writes rec to a power file and reads it back.
func saveLoad(t *testing.T, rec Record) Record {
	t.Helper()
	path := filepath.Join(t.TempDir(), "run.power.parquet")
	if err := Save(path, rec, false); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func mustParse(t *testing.T, spec string) Source {
	t.Helper()
	s, err := ParseSource(spec)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// world runs 10 times faster than the wall clock from origin, as replay's
// clock does with a time scale of 10.
func worldClock(origin time.Time) func(time.Time) int64 {
	return func(t time.Time) int64 { return origin.UnixNano() + 10*int64(t.Sub(origin)) }
}

// span returns the first and last time a source's samples had the given
// watts.
func span(rec Record, source string, watts []float64) (first, last int64, n int) {
	for _, s := range rec.Samples {
		if s.Source == source && slices.Equal(s.GPUWatts, watts) {
			if n == 0 {
				first = s.TimeNS
			}
			last, n = s.TimeNS, n+1
		}
	}
	return first, last, n
}

// TestSamplerMeasuresKnownWatts runs a fake dcgm-exporter (4 GPUs, 2
// selected) and a fake power command (2 GPUs) through two load levels of
// known power, stores the samples, and checks them and agents per MW
// against figures computed by hand.
func TestSamplerMeasuresKnownWatts(t *testing.T) {
	// Level 0: node-a 300+500 (GPUs 2 and 3 are not selected), node-b
	// 150.5+249.5: 1,200 W in all. Level 1: 600+600 and 300+300: 1,800 W.
	exp := newFakeExporter(t, []float64{300, 500, 77, 88})
	cmd := newFakeCommand(t, "gpus=2,system=node-b,interval=20ms", 150.5, 249.5)
	promSpec := "prom+" + exp.URL + `/metrics?match=gpu=~"0|1"&system=node-a&interval=20ms`
	sources := []Source{mustParse(t, promSpec), mustParse(t, cmd.spec)}

	origin := time.Now()
	world := worldClock(origin)
	// instants maps each world time the clock gave to its wall time: a
	// sample must carry the pair of one instant.
	var mu sync.Mutex
	instants := map[int64]int64{}
	clock := func(t time.Time) int64 {
		w := world(t)
		mu.Lock()
		instants[w] = t.UnixNano()
		mu.Unlock()
		return w
	}
	ps := Start(context.Background(), sources, Options{RunID: "run-1", Clock: clock, Logger: discard()})
	enough := func(scrapes int64, rounds int) func() bool {
		return func() bool { return exp.scrapes.Load() >= scrapes && cmd.count(".rounds") >= rounds }
	}
	waitFor(t, "level 0 samples", enough(8, 8))
	s0, r0 := exp.scrapes.Load(), cmd.count(".rounds")
	exp.watts.Store(&[]float64{600, 600, 77, 88})
	cmd.set(t, 300, 300)
	waitFor(t, "level 1 samples", enough(s0+8, r0+8))
	rec := ps.Stop()

	if len(rec.Gaps) != 0 {
		t.Errorf("gaps in a clean run: %v", rec.Gaps)
	}
	// Every stored sample is one of the known readings, level 0 then level 1.
	known := map[string][][]float64{
		sources[0].Label: {{300, 500}, {600, 600}},
		sources[1].Label: {{150.5, 249.5}, {300, 300}},
	}
	level := map[string]int{}
	for _, s := range rec.Samples {
		i := slices.IndexFunc(known[s.Source], func(w []float64) bool { return slices.Equal(w, s.GPUWatts) })
		switch {
		case i < 0:
			t.Fatalf("sample of %s with unknown watts %v", s.Source, s.GPUWatts)
		case i < level[s.Source]:
			t.Fatalf("%s went back to level %d watts at %d", s.Source, i, s.TimeNS)
		}
		level[s.Source] = i
		wantIDs := []string{"0", "1"}
		if s.Source == sources[1].Label {
			wantIDs = []string{"", ""}
		}
		if !slices.Equal(s.GPUIDs, wantIDs) || s.Watts != s.GPUWatts[0]+s.GPUWatts[1] {
			t.Fatalf("sample %+v", s)
		}
		// World and wall time of one instant, the world time through
		// Options.Clock. (Recomputing the world time from WallNS would
		// compare the wall clock with the monotonic one, which a clock
		// adjustment moves apart: 0.5 ms here became 5 ms of world time.)
		mu.Lock()
		wall, ok := instants[s.TimeNS]
		mu.Unlock()
		if !ok || wall != s.WallNS {
			t.Fatalf("sample time %d wall %d: want a world time the clock gave, with its wall time (%d, %v)", s.TimeNS, s.WallNS, wall, ok)
		}
	}

	// Stored and read back unchanged.
	back := saveLoad(t, rec)
	if !reflect.DeepEqual(back, rec) {
		t.Errorf("loaded record differs from the one saved")
	}

	// Each level's window: where every source shows that level's watts.
	type levelWant struct {
		watts          [2][]float64
		total, a, b    float64
		maxUsers, want float64
	}
	for i, lv := range []levelWant{
		// 30 users ÷ 0.0012 MW = 25,000 agents per MW.
		{[2][]float64{{300, 500}, {150.5, 249.5}}, 1200, 800, 400, 30, 25000},
		// 54 users ÷ 0.0018 MW = 30,000 agents per MW.
		{[2][]float64{{600, 600}, {300, 300}}, 1800, 1200, 600, 54, 30000},
	} {
		af, al, an := span(back, sources[0].Label, lv.watts[0])
		bf, bl, bn := span(back, sources[1].Label, lv.watts[1])
		from, to := max(af, bf), min(al, bl)
		if an < 2 || bn < 2 || from >= to {
			t.Fatalf("level %d: %d and %d samples, no common window", i, an, bn)
		}
		s := back.Summarize(from, to)
		sa, sb := back.SummarizeSystem("node-a", from, to), back.SummarizeSystem("node-b", from, to)
		for _, c := range []struct {
			what      string
			got, want float64
		}{
			{"mean W", s.MeanW, lv.total}, {"P95 W", s.P95W, lv.total},
			{"energy J", s.EnergyJ, lv.total * float64(to-from) / 1e9},
			{"node-a mean W", sa.MeanW, lv.a}, {"node-b mean W", sb.MeanW, lv.b},
			{"agents per MW", AgentsPerMW(lv.maxUsers, s.MeanW), lv.want},
			{"J per token", s.JoulesPerToken(1000), lv.total * float64(to-from) / 1e9 / 1000},
		} {
			if !near(c.got, c.want) {
				t.Errorf("level %d: %s = %v, want %v", i, c.what, c.got, c.want)
			}
		}
		if slices.Contains(s.Flags, FlagGap) || s.Sources != 2 {
			t.Errorf("level %d: flags %v, sources %d", i, s.Flags, s.Sources)
		}
	}
}

// TestSamplerSourceDies: one command dies mid-run and stays dead, one
// exporter starts failing, one command never starts; the healthy exporter
// keeps sampling, and each failure is a recorded, flagged gap.
func TestSamplerSourceDies(t *testing.T) {
	good := newFakeExporter(t, []float64{250, 250})
	flaky := newFakeExporter(t, []float64{100})
	cmd := newFakeCommand(t, "gpus=1,system=node-b,interval=20ms", 400)
	sources := []Source{
		mustParse(t, "prom+"+good.URL+"/metrics?system=node-a&interval=20ms"),
		mustParse(t, cmd.spec),
		mustParse(t, "prom+"+flaky.URL+"/metrics?system=node-c&interval=20ms"),
		mustParse(t, "cmd(system=node-d,interval=20ms):/nonexistent/nvidia-smi -lms 200"),
	}
	ps := Start(context.Background(), sources, Options{RunID: "run-2", Shard: 1, Logger: discard()})
	waitFor(t, "samples before the failure", func() bool {
		return good.scrapes.Load() >= 5 && flaky.scrapes.Load() >= 5 && cmd.count(".rounds") >= 5
	})
	died := time.Now().UnixNano()
	flaky.status.Store(http.StatusServiceUnavailable)
	os.WriteFile(cmd.file+".dead", nil, 0o644)
	n := good.scrapes.Load()
	waitFor(t, "the command to die and the exporter to keep going", func() bool {
		return cmd.count(".deaths") > 0 && good.scrapes.Load() >= n+8
	})
	rec := ps.Stop()

	// The healthy source sampled on after the others failed.
	var after []Sample
	for _, s := range rec.Samples {
		if s.System == "node-a" && s.TimeNS > died {
			after = append(after, s)
		}
		if s.Shard != 1 {
			t.Fatalf("sample of shard %d, want 1", s.Shard)
		}
	}
	if len(after) < 2 {
		t.Fatalf("%d node-a samples after the failure", len(after))
	}
	// One open gap per failed source, saying why.
	want := map[string]string{"node-b": "lost the GPU", "node-c": "503", "node-d": "starting /nonexistent/nvidia-smi"}
	for _, g := range rec.Gaps {
		w, ok := want[g.System]
		if !ok || !g.Open || !strings.Contains(g.Err, w) || g.Failures < 1 || g.EndNS < g.StartNS {
			t.Errorf("gap %+v, want an open gap of %q", g, w)
		}
		delete(want, g.System)
	}
	if len(want) != 0 {
		t.Errorf("no gap recorded for %v", want)
	}

	// The file keeps the gaps; summaries flag them.
	back := saveLoad(t, rec)
	if len(back.Gaps) != 3 || !back.Gaps[0].Open {
		t.Fatalf("gaps read back: %+v", back.Gaps)
	}
	last := after[len(after)-1].TimeNS
	all := back.Summarize(died, last)
	if !slices.Contains(all.Flags, FlagGap) || !slices.Contains(all.Flags, FlagLowCoverage) || !math.IsNaN(all.MeanW) {
		t.Errorf("summary over the failure: %+v", all)
	}
	live := back.SummarizeSystem("node-a", after[0].TimeNS, last)
	if live.Flags != nil || !near(live.MeanW, 500) {
		t.Errorf("node-a after the failure: %+v, want 500 W and no flags", live)
	}
}
