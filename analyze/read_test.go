package analyze

import (
	"cmp"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/schemas"
	"github.com/parquet-go/parquet-go"
)

// TestColumnReaderMatchesRows checks the column-wise reader against the
// row API (schemas.ResultsFile.Each + LevelAccumulator.Add) on files with
// row groups larger and smaller than a decoding window, several levels and
// shards, errors, missing usage and empty chunk lists.
func TestColumnReaderMatchesRows(t *testing.T) {
	defer func(w, b int) { windowRows, bootBudget = w, b }(windowRows, bootBudget)
	windowRows = 1000 // row groups below span several windows
	bootBudget = 700  // the bootstrap samples sessions of the larger levels
	dir := t.TempDir()
	specs := []genSpec{
		{RunID: "r1", Seed: 1, Rows: 5000, Levels: []int32{8, 32}, GroupRows: 0, ErrorRate: 0.02, NoUsage: 0.1, ChunkScale: 0.03},
		{RunID: "r1", Seed: 2, Rows: 3000, Levels: []int32{8, 32}, Shard: 1, GroupRows: 777, ErrorRate: 0.05, ChunkScale: 0.1},
		{RunID: "r2", Seed: 3, Rows: 2000, Levels: []int32{4}, GroupRows: 1000, ChunkScale: 0.05},
	}
	var files []*schemas.ResultsFile
	for i, s := range specs {
		p := filepath.Join(dir, "r"+string(rune('0'+i))+".parquet")
		s.write(t, p)
		f, err := schemas.OpenResults(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files = append(files, f)
	}
	want := newLevelSet()
	for _, f := range files {
		err := f.Each(func(r *schemas.Result) error {
			want.get(r.RunID, r.Level).Add(r)
			want.rows++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, workers := range []int{1, 3} {
		got, err := readFiles(context.Background(), files, workers, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got.rows != want.rows || len(got.levels) != len(want.levels) || len(want.levels) != 3 {
			t.Fatalf("workers %d: %d rows in %d levels, want %d in %d", workers, got.rows, len(got.levels), want.rows, len(want.levels))
		}
		for k, wa := range want.levels {
			ga := got.levels[k]
			if ga == nil {
				t.Fatalf("level %v missing", k)
			}
			g, w := ga.Stats(Validity{}, 0), wa.Stats(Validity{}, 0)
			if g.Requests != w.Requests || g.Errors != w.Errors || g.WarmupRequests != w.WarmupRequests ||
				g.DrainRequests != w.DrainRequests || g.Trajectories != w.Trajectories || g.OutputTokens != w.OutputTokens ||
				g.InputTokens != w.InputTokens || g.CachedTokens != w.CachedTokens || g.ChunkCounted != w.ChunkCounted ||
				g.WindowStartNS != w.WindowStartNS || g.WindowEndNS != w.WindowEndNS || g.Shards != w.Shards || g.Users != w.Users {
				t.Errorf("workers %d level %v:\n got %+v\nwant %+v", workers, k, g, w)
			}
			if g.SteadyStartNS != w.SteadyStartNS || g.SteadyEndNS != w.SteadyEndNS || w.SteadyEndNS <= w.SteadyStartNS ||
				math.Abs(g.WindowOutputTokens-w.WindowOutputTokens) > 1e-9*w.WindowOutputTokens || w.WindowOutputTokens <= 0 ||
				g.PinChecked != w.PinChecked || g.Unpinned != w.Unpinned || g.SteadySessions != w.SteadySessions || g.TrajectoriesInWindow != w.TrajectoriesInWindow {
				t.Errorf("workers %d level %v: steady window [%d, %d) %v tokens, pins %d/%d, %d sessions, %d in window; want [%d, %d) %v, %d/%d, %d, %d",
					workers, k, g.SteadyStartNS, g.SteadyEndNS, g.WindowOutputTokens, g.Unpinned, g.PinChecked, g.SteadySessions, g.TrajectoriesInWindow,
					w.SteadyStartNS, w.SteadyEndNS, w.WindowOutputTokens, w.Unpinned, w.PinChecked, w.SteadySessions, w.TrajectoriesInWindow)
			}
			if g.boot.thr != w.boot.thr || !slices.Equal(sortedRecs(g.boot.recs), sortedRecs(w.boot.recs)) || len(w.boot.recs) == 0 || len(w.boot.recs) > bootBudget {
				t.Errorf("workers %d level %v: bootstrap sample of %d requests (threshold %x), want %d (%x)", workers, k, len(g.boot.recs), g.boot.thr, len(w.boot.recs), w.boot.thr)
			}
			if w.Trajectories == 0 || w.Errors == 0 && k.run == "r1" {
				t.Errorf("level %v: test data should have trajectories and errors: %+v", k, w)
			}
			for _, d := range []struct {
				name string
				g, w *Dist
			}{{"speed", g.OutputSpeed, w.OutputSpeed}, {"e2e", g.E2ESpeed, w.E2ESpeed}, {"ttft", g.TTFT, w.TTFT}, {"itl", g.ITL, w.ITL}, {"lag", g.ClientLag, w.ClientLag}} {
				if d.g.Count() != d.w.Count() || d.w.Count() == 0 {
					t.Errorf("level %v %s: count %d, want %d (> 0)", k, d.name, d.g.Count(), d.w.Count())
				}
				for _, p := range []float64{1, 25, 50, 95, 99} {
					if gp, wp := d.g.Percentile(p), d.w.Percentile(p); gp != wp {
						t.Errorf("level %v %s P%v: %v, want %v", k, d.name, p, gp, wp)
					}
				}
			}
		}
	}
}

// sortedRecs returns the bootstrap records in a canonical order (NaN
// speeds as −1 so that equal records compare equal).
func sortedRecs(rs []bootRecord) []bootRecord {
	out := slices.Clone(rs)
	for i := range out {
		if math.IsNaN(out[i].speed) {
			out[i].speed = -1
		}
	}
	slices.SortFunc(out, func(a, b bootRecord) int {
		if c := cmp.Compare(a.session, b.session); c != 0 {
			return c
		}
		if c := cmp.Compare(a.ttft, b.ttft); c != 0 {
			return c
		}
		return cmp.Compare(a.speed, b.speed)
	})
	return out
}

func TestReadCancelled(t *testing.T) {
	p := filepath.Join(t.TempDir(), "r.parquet")
	genSpec{RunID: "r", Seed: 1, Rows: 2000, Levels: []int32{4}, ChunkScale: 0.1}.write(t, p)
	f, err := schemas.OpenResults(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := readFiles(ctx, []*schemas.ResultsFile{f}, 1, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled read: %v", err)
	}
}

// TestReadCorrupt damages a results file's column data (keeping its footer)
// and expects a clear error, not a panic.
func TestReadCorrupt(t *testing.T) {
	p := filepath.Join(t.TempDir(), "r.parquet")
	genSpec{RunID: "r", Seed: 1, Rows: 3000, Levels: []int32{4}, ChunkScale: 0.5}.write(t, p)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	for i := 4; i < len(data)/2; i += 7 {
		data[i] ^= 0x5a
	}
	os.WriteFile(p, data, 0o644)
	f, err := schemas.OpenResults(p)
	if err != nil {
		t.Fatalf("damaging column data should leave the footer readable: %v", err)
	}
	defer f.Close()
	_, err = readFiles(context.Background(), []*schemas.ResultsFile{f}, 1, 1)
	if err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("corrupt data: error %v, want one naming %s", err, p)
	}
}

// TestColumnReaderSmallPages writes results with tiny pages (a page per
// write of three rows: many page boundaries inside each decoding window) and
// compares the column reader with the row API. parquet-go never splits one
// row's list across pages, so the reader's continued-row path (for other
// writers) is not exercised here.
func TestColumnReaderSmallPages(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src.parquet")
	genSpec{RunID: "r", Seed: 7, Rows: 600, Levels: []int32{4, 8}, ErrorRate: 0.05, ChunkScale: 1}.write(t, src)
	in, err := schemas.OpenResults(src)
	if err != nil {
		t.Fatal(err)
	}
	var rows []schemas.Result
	in.Each(func(r *schemas.Result) error {
		c := *r
		c.ChunkOffsetsUS = append([]int32(nil), r.ChunkOffsetsUS...)
		rows = append(rows, c)
		return nil
	})
	in.Close()
	p := filepath.Join(dir, "small.parquet")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[schemas.Result](f, parquet.PageBufferSize(512),
		parquet.KeyValueMetadata(schemas.MetaVersion, schemas.Version), parquet.KeyValueMetadata(schemas.MetaKind, schemas.FileResults))
	for i := 0; i < len(rows); i += 3 {
		if _, err := w.Write(rows[i:min(i+3, len(rows))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	rf, err := schemas.OpenResults(p)
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	want := newLevelSet()
	for i := range rows {
		want.get(rows[i].RunID, rows[i].Level).Add(&rows[i])
	}
	got, err := readFiles(context.Background(), []*schemas.ResultsFile{rf}, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	for k, wa := range want.levels {
		g, w := got.levels[k].Stats(Validity{}, 0), wa.Stats(Validity{}, 0)
		if g.ITL.Count() != w.ITL.Count() || g.OutputSpeed.Count() != w.OutputSpeed.Count() || g.WindowEndNS != w.WindowEndNS {
			t.Errorf("level %v: ITL %d speed %d end %d; want %d %d %d", k, g.ITL.Count(), g.OutputSpeed.Count(), g.WindowEndNS, w.ITL.Count(), w.OutputSpeed.Count(), w.WindowEndNS)
		}
		for _, q := range []float64{5, 50, 95} {
			if g.ITL.Percentile(q) != w.ITL.Percentile(q) || g.OutputSpeed.Percentile(q) != w.OutputSpeed.Percentile(q) {
				t.Errorf("level %v P%v: ITL %v/%v speed %v/%v", k, q, g.ITL.Percentile(q), w.ITL.Percentile(q), g.OutputSpeed.Percentile(q), w.OutputSpeed.Percentile(q))
			}
		}
	}
}
