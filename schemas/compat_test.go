package schemas

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// request10 is the requests row of schema 1.0 (before first_byte_ns and
// chunk_ns).
type request10 struct {
	SessionID       string  `parquet:"session_id,dict"`
	Turn            int32   `parquet:"turn"`
	API             string  `parquet:"api,dict"`
	Model           string  `parquet:"model,dict"`
	Stream          bool    `parquet:"stream"`
	Params          string  `parquet:"params,dict"`
	Prompt          []int64 `parquet:"prompt,list"`
	Response        []int64 `parquet:"response,list"`
	HashIDs         []int64 `parquet:"hash_ids,list"`
	StartNS         int64   `parquet:"start_ns"`
	FirstTokenNS    int64   `parquet:"first_token_ns"`
	EndNS           int64   `parquet:"end_ns"`
	ThinkNS         int64   `parquet:"think_ns"`
	InputTokens     int32   `parquet:"input_tokens"`
	OutputTokens    int32   `parquet:"output_tokens"`
	UsageInput      *int64  `parquet:"usage_input_tokens,optional"`
	UsageCached     *int64  `parquet:"usage_cached_tokens,optional"`
	UsageCacheWrite *int64  `parquet:"usage_cache_write_tokens,optional"`
	UsageOutput     *int64  `parquet:"usage_output_tokens,optional"`
	UsageReasoning  *int64  `parquet:"usage_reasoning_tokens,optional"`
	Status          int32   `parquet:"status"`
	Error           string  `parquet:"error"`
}

// TestReadsOlderMinor checks the versioning promise: a reader of 1.x opens
// a 1.0 requests file, which lacks the 1.1 columns, and reads zero values
// for them; a file claiming 1.1 without them is still rejected.
func TestReadsOlderMinor(t *testing.T) {
	for _, tt := range []struct {
		version string
		wantErr string
	}{
		{"1.0", ""},
		{"1.1", `missing column "first_byte_ns"`},
	} {
		dir := filepath.Join(t.TempDir(), "set")
		writeSample(t, dir)
		f, err := os.Create(filepath.Join(dir, RequestsFile))
		if err != nil {
			t.Fatal(err)
		}
		w := parquet.NewGenericWriter[request10](f, parquet.KeyValueMetadata(MetaVersion, tt.version), parquet.KeyValueMetadata(MetaKind, FileRequests))
		if _, err := w.Write([]request10{{SessionID: "sa", Prompt: []int64{1, 2}, HashIDs: []int64{5}, EndNS: 7, ThinkNS: 3, Status: 200}}); err != nil {
			t.Fatal(err)
		}
		w.Close()
		f.Close()
		ts, err := OpenTraceSet(dir, TraceSetOptions{})
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("version %s: open error %v, want %q", tt.version, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("version %s: %v", tt.version, err)
		}
		n := 0
		err = ts.Requests(func(r *Request) error {
			n++
			if r.SessionID != "sa" || len(r.Prompt) != 2 || r.EndNS != 7 || r.ThinkNS != 3 || r.FirstByteNS != 0 || len(r.ChunkNS) != 0 {
				t.Errorf("1.0 row read as %+v", *r)
			}
			return nil
		})
		ts.Close()
		if err != nil || n != 1 {
			t.Errorf("read %d rows, %v", n, err)
		}
	}
}
