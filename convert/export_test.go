package convert

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestMooncakeSampleExportImport checks export(import(sample)) on the
// sample's first lines: the sample's ids happen to be dense in order of
// first appearance and its lines sorted by time, so the export must
// reproduce it byte for byte — lengths, timestamps and block-sharing
// structure included. The CLI test does the same on the whole sample.
func TestMooncakeSampleExportImport(t *testing.T) {
	in, set, _ := sampleSet(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	st, err := Export(context.Background(), set, out, nil, ExportOptions{Format: FormatMooncake})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(in)
	got, _ := os.ReadFile(out)
	if st.Requests != sampleHead() || st.Bytes != int64(len(got)) {
		t.Errorf("stats %+v, file %d bytes", st, len(got))
	}
	if !bytes.Equal(got, want) {
		gl, wl := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
		for i := range min(len(gl), len(wl)) {
			if !bytes.Equal(gl[i], wl[i]) {
				t.Fatalf("line %d differs:\n got %.200s\nwant %.200s", i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("got %d lines, want %d", len(gl), len(wl))
	}
}
