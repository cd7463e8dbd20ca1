package schemas

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

func TestPowerPath(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"out/run.parquet", "out/run.power.parquet"},
		{"run-shard1.parquet", "run-shard1.power.parquet"},
		{"results", "results.power.parquet"},
		{"/a/b.PARQUET", "/a/b.PARQUET.power.parquet"},
	} {
		if got := PowerPath(tt.in); got != tt.want {
			t.Errorf("PowerPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPowerRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.power.parquet")
	want := []PowerRow{
		{RunID: "r1", System: "node-a", Source: "prom+http://node-a:9400/metrics", Event: PowerSample,
			TimeNS: 1e18, WallNS: 1e18 - 5, Watts: 700.5, GPUs: 2, GPUWatts: []float64{300.25, 400.25}, GPUIDs: []string{"0", "1"}},
		{RunID: "r1", System: "local", Source: "cmd:nvidia-smi", Event: PowerGap,
			TimeNS: 1e18 + 1e9, EndNS: 1e18 + 3e9, WallNS: 1e18 + 1e9, Error: "exited with status 3", Failures: 2, Open: true},
		{RunID: "r1", Shard: 1, System: "node-a", Source: "prom+http://node-a:9400/metrics", Event: PowerSample,
			TimeNS: 1e18 + 4e9, WallNS: 1e18 + 4e9, Watts: 10, GPUs: 1, GPUWatts: []float64{10}, GPUIDs: []string{"7"}},
	}
	w, err := CreatePower(path, false)
	if err != nil {
		t.Fatal(err)
	}
	w.SetMeta("run_id", "r1")
	if err := w.Write(want); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := CreatePower(path, false); !errors.Is(err, ErrExists) {
		t.Errorf("CreatePower over a file: %v, want ErrExists", err)
	}

	p, err := OpenPower(path)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.NumRows() != 3 || p.Meta()["run_id"] != "r1" {
		t.Errorf("rows %d, meta %v", p.NumRows(), p.Meta())
	}
	var got []PowerRow
	p.Each(func(r *PowerRow) error {
		c := *r
		c.GPUWatts, c.GPUIDs = slices.Clone(r.GPUWatts), slices.Clone(r.GPUIDs)
		if len(c.GPUWatts) == 0 {
			c.GPUWatts, c.GPUIDs = nil, nil
		}
		got = append(got, c)
		return nil
	})
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back\n got %+v\nwant %+v", got, want)
	}
}

func TestOpenPowerRejectsOtherKinds(t *testing.T) {
	dir := t.TempDir()
	res := filepath.Join(dir, "r.parquet")
	rw, err := CreateResults(res, false)
	if err != nil {
		t.Fatal(err)
	}
	rw.Write(&Result{RunID: "r"})
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenPower(res); !errors.Is(err, ErrFormat) {
		t.Errorf("OpenPower(results file) = %v, want ErrFormat", err)
	}
	junk := filepath.Join(dir, "junk.power.parquet")
	os.WriteFile(junk, []byte("PAR1 not really"), 0o644)
	if _, err := OpenPower(junk); !errors.Is(err, ErrFormat) {
		t.Errorf("OpenPower(junk) = %v, want ErrFormat", err)
	}
}

func TestPowerAbortLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	w, err := CreatePower(filepath.Join(dir, "x.power.parquet"), false)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]PowerRow{{Event: PowerSample}})
	w.Abort()
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("Abort left %v", ents)
	}
}
