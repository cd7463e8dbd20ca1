package convert

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/agentperf/agentperf/schemas"
)

// benchSampleSet imports the whole Mooncake sample for the export
// benchmarks.
func benchSampleSet(b *testing.B) string {
	b.Helper()
	set := filepath.Join(b.TempDir(), "set")
	if _, err := Import(context.Background(), mooncakeSample(b), set, ImportOptions{Format: FormatMooncake}); err != nil {
		b.Fatal(err)
	}
	return set
}

func benchExport(b *testing.B, format string) {
	set := benchSampleSet(b)
	out := filepath.Join(b.TempDir(), "out.jsonl")
	b.ResetTimer()
	var bytes int64
	for i := 0; i < b.N; i++ {
		st, err := Export(context.Background(), set, out, nil, ExportOptions{Format: format, Overwrite: true})
		if err != nil {
			b.Fatal(err)
		}
		bytes = st.Bytes
	}
	b.SetBytes(bytes)
	b.ReportMetric(float64(b.N*3993)/b.Elapsed().Seconds(), "requests/s")
}

// BenchmarkExportMooncakeSample exports the imported sample as Mooncake
// JSONL; MB/s is of output.
func BenchmarkExportMooncakeSample(b *testing.B) { benchExport(b, FormatMooncake) }

// BenchmarkExportAASample exports the imported sample as AA JSONL (about
// 300 MB: every request carries its whole prompt); MB/s is of output.
func BenchmarkExportAASample(b *testing.B) { benchExport(b, FormatAAJSONL) }

// BenchmarkImportAA imports an AA JSONL file of 8 agent sessions of 60
// turns (exported from a constructed set); MB/s is of input. Distinct
// messages are tokenized once each, which dominates.
func BenchmarkImportAA(b *testing.B) {
	dir := b.TempDir()
	a := agentSet{api: schemas.APIOpenAIChat, sessions: 8, turns: 60}
	set := filepath.Join(dir, "x")
	a.write(b, set)
	in := filepath.Join(dir, "aa.jsonl")
	if _, err := Export(context.Background(), set, in, nil, ExportOptions{Format: FormatAAJSONL}); err != nil {
		b.Fatal(err)
	}
	st, _ := os.Stat(in)
	b.SetBytes(st.Size())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out := filepath.Join(b.TempDir(), "set")
		if _, err := Import(context.Background(), in, out, ImportOptions{Format: FormatAAJSONL}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*8*60)/b.Elapsed().Seconds(), "requests/s")
}
