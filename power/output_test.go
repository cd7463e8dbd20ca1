package power

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentperf/agentperf/internal/testutil/golden"
)

// readOutput feeds a command's output to the reader of spec's source and
// returns what was recorded, as a command run would.
func readOutput(t testing.TB, spec string, out []byte) Record {
	t.Helper()
	src, err := ParseSource(spec)
	if err != nil {
		t.Fatal(err)
	}
	tr := &tracker{src: src, opt: &Options{Clock: func(time.Time) int64 { return 0 }, Logger: discard()}}
	c := cmdSource{src: src}
	n, err := c.read(bytes.NewReader(out), tr)
	if err != nil {
		t.Fatalf("%s: %v", spec, err)
	}
	if n != len(tr.samples) {
		t.Errorf("%s: read counted %d samples, recorded %d", spec, n, len(tr.samples))
	}
	tr.finish(time.Now())
	return Record{Samples: tr.samples, Gaps: tr.gaps}
}

// TestCommandOutputs reads the outputs of nvidia-smi and amd-smi kept in
// testdata/outputs (the first line of each is the source spec) and
// compares the samples and gaps with testdata/outputs.golden.
func TestCommandOutputs(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "outputs", "*.txt"))
	if len(files) == 0 {
		t.Fatal("no testdata/outputs/*.txt")
	}
	var b strings.Builder
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		first, out, _ := bytes.Cut(raw, []byte("\n"))
		spec := strings.TrimSpace(strings.TrimPrefix(string(first), "#"))
		rec := readOutput(t, spec, out)
		fmt.Fprintf(&b, "== %s\n", filepath.Base(f))
		for _, s := range rec.Samples {
			fmt.Fprintf(&b, "sample %v W, gpus %q %v\n", s.Watts, s.GPUIDs, s.GPUWatts)
		}
		for _, g := range rec.Gaps {
			fmt.Fprintf(&b, "gap: %d failure(s), open %v: %s\n", g.Failures, g.Open, g.Err)
		}
	}
	golden.Check(t, filepath.Join("testdata", "outputs.golden"), []byte(b.String()))
}

func TestParseLines(t *testing.T) {
	tests := []struct {
		line  string
		kind  lineKind
		watts float64
		err   string
	}{
		{"123.45", lineReading, 123.45, ""},
		{" 123.45 W ", lineReading, 123.45, ""},
		{"1.5 kW", lineReading, 1500, ""},
		{"900mW", lineReading, 0.9, ""},
		{"1e3", lineReading, 1000, ""},
		{"0, 71.5", lineReading, 71.5, ""},
		{"[N/A]", lineReading, 0, "not a number"},
		{"[Not Supported]", lineReading, 0, "not a number"},
		{"-5", lineReading, 0, "not a number of watts"},
		{"40 °C", lineReading, 0, "not in watts"},
		{"", lineIgnored, 0, ""},
		{"No devices were found", lineIgnored, 0, ""},
		{"power.draw [W]", lineHeader, 0, ""},
	}
	for _, tt := range tests {
		kind, r := newTable().parse(tt.line)
		errs := ""
		if r.Err != nil {
			errs = r.Err.Error()
		}
		if kind != tt.kind || r.Watts != tt.watts || (tt.err == "") != (errs == "") || !strings.Contains(errs, tt.err) {
			t.Errorf("parse(%q) = %v %v %q; want %v %v %q", tt.line, kind, r.Watts, errs, tt.kind, tt.watts, tt.err)
		}
	}
}

// TestGrouper checks how readings become samples: by count, by a repeated
// GPU id, and by a pause between lines.
func TestGrouper(t *testing.T) {
	t0 := time.Unix(0, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	type in struct {
		id string
		at int
	}
	tests := []struct {
		name  string
		g     grouper
		input []in
		want  string // sizes and first arrival of the samples completed, then the rest
	}{
		{"count", grouper{gpus: 2, pause: 50 * time.Millisecond}, []in{{"", 0}, {"", 0}, {"", 200}, {"", 200}, {"", 400}}, "2@0 2@200 | 1"},
		{"pause", grouper{pause: 50 * time.Millisecond}, []in{{"", 0}, {"", 1}, {"", 2}, {"", 200}, {"", 201}, {"", 202}, {"", 400}}, "3@0 3@200 | 1"},
		{"repeated id", grouper{}, []in{{"0", 0}, {"1", 0}, {"0", 0}, {"1", 0}, {"0", 0}}, "2@0 2@0 | 1"},
		{"no pause rule", grouper{}, []in{{"", 0}, {"", 500}, {"", 1000}}, "| 3"},
	}
	for _, tt := range tests {
		g := tt.g
		var parts []string
		for _, r := range tt.input {
			for _, gr := range g.add(reading{ID: r.id}, ms(r.at)) {
				parts = append(parts, fmt.Sprintf("%d@%d", len(gr.readings), gr.at.Sub(t0).Milliseconds()))
			}
		}
		got := strings.Join(parts, " ") + " | " + fmt.Sprint(len(g.cur))
		if strings.TrimSpace(got) != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestTakeChecksGPUCount: a sample with another number of GPUs than the
// first (a GPU gone from the scrape) is a failed reading, not less power.
func TestTakeChecksGPUCount(t *testing.T) {
	tr := &tracker{src: Source{Kind: KindProm, Label: "p", System: "s"}, opt: &Options{Clock: func(t time.Time) int64 { return t.UnixNano() }, Logger: discard()}}
	now := time.Now()
	two := []reading{{ID: "0", Watts: 1}, {ID: "1", Watts: 2}}
	kept := []bool{tr.take(now, two), tr.take(now.Add(time.Second), two[:1]), tr.take(now.Add(2*time.Second), two)}
	if fmt.Sprint(kept) != "[true false true]" || len(tr.samples) != 2 || len(tr.gaps) != 1 ||
		!strings.Contains(tr.gaps[0].Err, "1 GPU readings in a sample, want 2 (a GPU left the scrape") {
		t.Errorf("kept %v, samples %d, gaps %+v", kept, len(tr.samples), tr.gaps)
	}
}
