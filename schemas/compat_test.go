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

// request11 and session11 are the rows of schema 1.1 (before
// context_items, extras, parent_turn and parent_offset_ns).
type request11 struct {
	request10
	FirstByteNS int64   `parquet:"first_byte_ns"`
	ChunkNS     []int64 `parquet:"chunk_ns,list" parquet-element:",delta"`
}

type session11 struct {
	ID           string `parquet:"session_id"`
	Source       string `parquet:"source,dict"`
	Agent        string `parquet:"agent,dict"`
	Model        string `parquet:"model,dict"`
	API          string `parquet:"api,dict"`
	Parent       string `parquet:"parent_session_id"`
	Turns        int32  `parquet:"turns"`
	InputTokens  int64  `parquet:"input_tokens"`
	OutputTokens int64  `parquet:"output_tokens"`
	StartNS      int64  `parquet:"start_ns"`
	EndNS        int64  `parquet:"end_ns"`
}

// TestReads11 checks that a 1.1 trace set (no 1.2 columns) reads with zero
// values for them (ContextItems 0, Extras "", ParentTurn nil), and that a
// file claiming 1.2 without them is rejected.
func TestReads11(t *testing.T) {
	for _, tt := range []struct {
		version string
		wantErr string
	}{
		{"1.1", ""},
		{"1.2", `missing column`},
	} {
		dir := filepath.Join(t.TempDir(), "set")
		writeSample(t, dir)
		write := func(name, kind string, rows any) {
			f, err := os.Create(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			opts := []parquet.WriterOption{parquet.KeyValueMetadata(MetaVersion, tt.version), parquet.KeyValueMetadata(MetaKind, kind)}
			switch r := rows.(type) {
			case []request11:
				w := parquet.NewGenericWriter[request11](f, opts...)
				w.Write(r)
				w.Close()
			case []session11:
				w := parquet.NewGenericWriter[session11](f, opts...)
				w.Write(r)
				w.Close()
			}
		}
		write(RequestsFile, FileRequests, []request11{{request10: request10{SessionID: "sub", Prompt: []int64{1}, EndNS: 7, Status: 200}, FirstByteNS: 3, ChunkNS: []int64{1, 2}}})
		write(SessionsFile, FileSessions, []session11{{ID: "sub", Parent: "main", Turns: 1}})
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
			if r.SessionID != "sub" || r.FirstByteNS != 3 || len(r.ChunkNS) != 2 || r.ContextItems != 0 || r.Extras != "" {
				t.Errorf("1.1 request read as %+v", *r)
			}
			return nil
		})
		if err != nil || n != 1 {
			t.Errorf("read %d requests, %v", n, err)
		}
		err = ts.Sessions(func(s *Session) error {
			if s.ID != "sub" || s.Parent != "main" || s.ParentTurn != nil || s.ParentOffsetNS != 0 {
				t.Errorf("1.1 session read as %+v", *s)
			}
			return nil
		})
		ts.Close()
		if err != nil {
			t.Error(err)
		}
	}
}
