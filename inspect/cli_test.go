package inspect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/internal/testutil"
	"github.com/agentperf/agentperf/schemas"
	"github.com/parquet-go/parquet-go"
)

// agentperf runs the built binary (testutil.Run).
func agentperf(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return testutil.Run(t, args...)
}

// TestCLISynthInspect runs synth at the size through the binary and
// checks the set with inspect --json --check: consistent, the published
// shape, and at least 20× smaller than one JSON body per line.
func TestCLISynthInspect(t *testing.T) {
	set := filepath.Join(t.TempDir(), "demo")
	out, errOut, code := agentperf(t, "synth", "--sessions", "20", "--max-turns", "200", "--seed", "1", "--out", set)
	if code != 0 || !strings.Contains(out, "wrote "+set+": 20 sessions") {
		t.Fatalf("synth exit %d: %s%s", code, out, errOut)
	}
	out, errOut, code = agentperf(t, "inspect", set, "--json", "--check")
	if code != 0 {
		t.Fatalf("inspect exit %d: %s%s", code, out, errOut)
	}
	var st Stats
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("inspect --json: %v\n%s", err, out)
	}
	if st.Problems == nil || len(st.Problems) != 0 {
		t.Errorf("problems = %v, want [] (checked, none)", st.Problems)
	}
	t.Logf("%d requests, input mean %.0f max %.0f, output p50 %.0f p95 %.0f, think p50 %.2fs, prefix reuse %.3f, %d bytes on disk vs %d JSONL: %.1f×",
		st.Requests, st.InputTokens.Mean, st.InputTokens.Max, st.OutputTokens.P50, st.OutputTokens.P95, st.ThinkSeconds.P50, st.PrefixReuse, st.DiskBytes, st.JSONLBytes, st.JSONLRatio)
	if st.Sessions != 20 || st.TurnsPerSession.Min < 20 || st.TurnsPerSession.Max > 200 {
		t.Errorf("sessions %d, turns %v–%v", st.Sessions, st.TurnsPerSession.Min, st.TurnsPerSession.Max)
	}
	if st.JSONLRatio < 20 {
		t.Errorf("trace set is %.1f× smaller than one body per line, want ≥ 20×", st.JSONLRatio)
	}
	if st.InputTokens.Max <= 100000 || st.InputTokens.Mean < 20000 || st.InputTokens.Mean > 35000 {
		t.Errorf("input tokens %+v: want mean 20K–35K and max > 100K", st.InputTokens)
	}
	// The table names the same figures.
	out, _, code = agentperf(t, "inspect", set)
	if code != 0 || !strings.Contains(out, "prefix reuse") || !strings.Contains(out, "× smaller") {
		t.Errorf("inspect table exit %d:\n%s", code, out)
	}
	// Same seed, same content: a second run's requests file is identical.
	again := filepath.Join(t.TempDir(), "again")
	if _, e, c := agentperf(t, "synth", "--sessions", "20", "--max-turns", "200", "--seed", "1", "--out", again); c != 0 {
		t.Fatalf("second synth: %s", e)
	}
	a, _ := os.ReadFile(filepath.Join(set, schemas.RequestsFile))
	b, _ := os.ReadFile(filepath.Join(again, schemas.RequestsFile))
	if !bytes.Equal(a, b) {
		t.Error("two synth runs with the same seed wrote different requests.parquet")
	}
}

func TestCLISynthUsage(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"synth"}, 2, "needs --out"},
		{[]string{"synth", "--out", filepath.Join(dir, "x"), "--min-turns", "50", "--max-turns", "10"}, 2, "--min-turns 50 is above --max-turns 10"},
		{[]string{"synth", "--out", filepath.Join(dir, "x"), "--sessions", "0"}, 2, "--sessions must be positive"},
		{[]string{"synth", "--out", filepath.Join(dir, "x"), "--sessions", "ten"}, 2, "invalid value"},
		{[]string{"synth", filepath.Join(dir, "x")}, 2, "needs --out"},
		{[]string{"inspect"}, 2, "needs one trace-set directory"},
	}
	for _, tt := range tests {
		_, errOut, code := agentperf(t, tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.msg) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tt.args, code, errOut, tt.code, tt.msg)
		}
	}
	set := filepath.Join(dir, "set")
	small := []string{"--sessions", "1", "--min-turns", "20", "--max-turns", "20", "--out", set}
	if _, e, c := agentperf(t, append([]string{"synth"}, small...)...); c != 0 {
		t.Fatal(e)
	}
	if _, e, c := agentperf(t, append([]string{"synth"}, small...)...); c != 1 || !strings.Contains(e, "already exists") {
		t.Errorf("synth over an existing set: exit %d, %s", c, e)
	}
	if _, e, c := agentperf(t, append([]string{"synth", "--overwrite"}, small...)...); c != 0 {
		t.Errorf("synth --overwrite: exit %d, %s", c, e)
	}
}

// TestCLIBadInput checks that inspect reports broken sets with a clear
// message naming the file and a non-zero exit, without panicking.
func TestCLIBadInput(t *testing.T) {
	base := t.TempDir()
	good := filepath.Join(base, "good")
	handSet(t, good)
	copySet := func(name string) string {
		d := filepath.Join(base, name)
		os.MkdirAll(d, 0o755)
		for _, f := range []string{schemas.SessionsFile, schemas.RequestsFile, schemas.BlobsFile} {
			b, err := os.ReadFile(filepath.Join(good, f))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(d, f), b, 0o644)
		}
		return d
	}
	tests := []struct {
		name   string
		mutate func(dir string)
		args   []string
		msg    string
	}{
		{"truncated parquet", func(d string) {
			p := filepath.Join(d, schemas.RequestsFile)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)*2/3], 0o644)
		}, nil, "requests.parquet: invalid agentperf file: not a readable Parquet file"},
		{"foreign parquet", func(d string) {
			type other struct {
				Name string `parquet:"name"`
			}
			f, _ := os.Create(filepath.Join(d, schemas.BlobsFile))
			w := parquet.NewGenericWriter[other](f)
			w.Write([]other{{"x"}})
			w.Close()
			f.Close()
		}, nil, "blobs.parquet: invalid agentperf file: a Parquet file, but not one agentperf wrote"},
		{"unknown major version", func(d string) {
			f, _ := os.Create(filepath.Join(d, schemas.SessionsFile))
			w := parquet.NewGenericWriter[schemas.Session](f, parquet.KeyValueMetadata(schemas.MetaVersion, "9.1"), parquet.KeyValueMetadata(schemas.MetaKind, schemas.FileSessions))
			w.Write([]schemas.Session{{ID: "a"}})
			w.Close()
			f.Close()
		}, nil, "sessions.parquet: invalid agentperf file: schema version 9.1 is not supported"},
		{"not parquet at all", func(d string) {
			os.WriteFile(filepath.Join(d, schemas.RequestsFile), []byte("session_id,turn\na,0\n"), 0o644)
		}, nil, "requests.parquet: invalid agentperf file"},
		{"missing file", func(d string) { os.Remove(filepath.Join(d, schemas.BlobsFile)) }, nil, "blobs.parquet: missing"},
		{"not a directory", func(d string) {}, []string{"FILE"}, "is not a directory"},
		{"inconsistent set", func(d string) {
			r := readRows(t, d)
			r.requests[0].InputTokens++
			r.write(t, d)
		}, []string{"--check"}, `requests.parquet: session "a" turn 0: input_tokens 651`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := copySet(strings.ReplaceAll(tt.name, " ", "_"))
			tt.mutate(d)
			args := []string{"inspect", d}
			for _, a := range tt.args {
				if a == "FILE" {
					args[1] = filepath.Join(d, schemas.RequestsFile)
					continue
				}
				args = append(args, a)
			}
			out, errOut, code := agentperf(t, args...)
			if code != 1 {
				t.Errorf("exit %d, want 1\n%s%s", code, out, errOut)
			}
			if !strings.Contains(errOut, tt.msg) {
				t.Errorf("stderr %q, want it to contain %q", errOut, tt.msg)
			}
			if strings.Contains(out+errOut, "panic") || strings.Contains(out+errOut, "goroutine ") {
				t.Errorf("panicked:\n%s%s", out, errOut)
			}
		})
	}
}

// TestCorruptPagesDoNotPanic overwrites bytes inside the column data of
// each file and checks that inspect --check fails or reports, never panics.
func TestCorruptPagesDoNotPanic(t *testing.T) {
	base := t.TempDir()
	good := filepath.Join(base, "good")
	handSet(t, good)
	for _, f := range []string{schemas.BlobsFile, schemas.RequestsFile, schemas.SessionsFile} {
		for _, at := range []float64{0.1, 0.3, 0.5} {
			d := filepath.Join(base, fmt.Sprintf("%s-%.0f", f, at*100))
			os.MkdirAll(d, 0o755)
			for _, g := range []string{schemas.BlobsFile, schemas.RequestsFile, schemas.SessionsFile} {
				b, _ := os.ReadFile(filepath.Join(good, g))
				if g == f {
					i := 4 + int(float64(len(b)-12)*at)
					for j := i; j < i+8 && j < len(b)-8; j++ {
						b[j] ^= 0x5a
					}
				}
				os.WriteFile(filepath.Join(d, g), b, 0o644)
			}
			out, errOut, code := agentperf(t, "inspect", d, "--check")
			t.Logf("%s at %.0f%%: exit %d: %.200s", f, at*100, code, errOut)
			if strings.Contains(out+errOut, "goroutine ") || code > 1 {
				t.Errorf("%s corrupted at %.0f%%: exit %d\n%s%s", f, at*100, code, out, errOut)
			}
		}
	}
}
