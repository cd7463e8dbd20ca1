package analyze

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/agentperf/agentperf/internal/testutil"
	"github.com/agentperf/agentperf/internal/testutil/golden"
)

// TestSchema11Results analyzes a results file written by replay at schema
// 1.1 (run metadata as one footer key per value) and compares the tables
// with testdata/results-1.1.*.golden. Those were written by the analyze of
// that release and rewritten (-update) only when analyze's output changed
// on purpose: issue 12 added the intervals, uncertain verdicts and max
// users fitted over the levels, and measures throughput over the steady
// window; every figure the release printed but throughput is unchanged.
func TestSchema11Results(t *testing.T) {
	file := filepath.Join(testutil.Root(), "testdata", "results", "results-1.1.parquet")
	rep, err := Analyze(context.Background(), []string{file}, Options{Catalog: testCatalog(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct{ format, table, golden string }{
		{FormatTable, "", "results-1.1.txt.golden"},
		{FormatCSV, TableLevels, "results-1.1.levels.csv.golden"},
		{FormatCSV, TableCapacity, "results-1.1.capacity.csv.golden"},
	} {
		var buf bytes.Buffer
		if err := Write(&buf, rep, f.format, f.table); err != nil {
			t.Fatal(err)
		}
		got := bytes.ReplaceAll(buf.Bytes(), []byte(file), []byte("results-1.1.parquet"))
		golden.Check(t, filepath.Join("testdata", f.golden), got)
	}
}
