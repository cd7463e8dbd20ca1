package convert

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/schemas"
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

// TestAAExportDropsRequestMetadata exports a captured Claude Code turn
// whose system list starts with the billing block: the line's system
// message holds the prompt, not the block.
func TestAAExportDropsRequestMetadata(t *testing.T) {
	set := filepath.Join(t.TempDir(), "set")
	w, err := schemas.CreateTraceSet(set, schemas.TraceWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"model":"claude","max_tokens":100,"system":[{"type":"text","text":"x-anthropic-billing-header: cc_version=2.1.120.cf9; cc_entrypoint=cli; cch=543cf;"},{"type":"text","text":"You are Claude Code."}],"messages":[{"role":"user","content":"hi"}]}`
	if _, err := w.WriteTurn(&schemas.Turn{SessionID: "s", API: schemas.APIAnthropic, Body: []byte(body)}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := Export(context.Background(), set, "-", &out, ExportOptions{Format: FormatAAJSONL}); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); strings.Contains(s, "billing") || !strings.Contains(s, "You are Claude Code.") {
		t.Errorf("exported line: %s", s)
	}
}
