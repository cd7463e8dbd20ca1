package schemas

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// Result phases, as stored in Result.Phase.
const (
	PhaseWarmup = "warmup" // before the level's steady-state window
	PhaseSteady = "steady" // inside the steady-state window
	PhaseDrain  = "drain"  // after the window, finishing in-flight requests
)

// Result is one row of a results file: one request replay sent.
type Result struct {
	// RunID names the run; shards of one run share it.
	RunID string `parquet:"run_id,dict"`
	// Shard is this process's shard index (0 when not sharded).
	Shard int32 `parquet:"shard"`
	// Level is the 0-based index of the load level within the run (one
	// level for a fixed run; one per concurrency tried in a search).
	Level int32 `parquet:"level"`
	// Users is the level's concurrency: simulated users, summed over shards.
	Users int32 `parquet:"users"`
	// Phase is one of the Phase* constants.
	Phase string `parquet:"phase,dict"`
	// User is the index of the simulated user that sent the request.
	User int32 `parquet:"user"`
	// SessionID and Turn identify the trace request replayed.
	SessionID string `parquet:"session_id,dict"`
	Turn      int32  `parquet:"turn"`
	// API is the API the request was sent with (after translation).
	API string `parquet:"api,dict"`
	// ScheduledNS is when the request was due, SentNS when it was sent
	// (replay: when the HTTP transport began writing it on a reused
	// connection, else when it was handed to the transport, so a new
	// connection's dial counts toward TTFT), FirstTokenNS when the first
	// content token arrived (0 if none), EndNS when the response ended or
	// failed; Unix ns in world time (divided back by any --time-scale).
	ScheduledNS  int64 `parquet:"scheduled_ns"`
	SentNS       int64 `parquet:"sent_ns"`
	FirstTokenNS int64 `parquet:"first_token_ns"`
	EndNS        int64 `parquet:"end_ns"`
	// ChunkOffsetsUS holds each content chunk's arrival, µs after SentNS
	// (delta-encoded: about half the bytes of plain encoding).
	ChunkOffsetsUS []int32 `parquet:"chunk_offsets_us,list" parquet-element:",delta"`
	// Token counts reported by the target; -1 when not reported.
	InputTokens     int32 `parquet:"input_tokens"`
	CachedTokens    int32 `parquet:"cached_tokens"`
	OutputTokens    int32 `parquet:"output_tokens"`
	ReasoningTokens int32 `parquet:"reasoning_tokens"`
	// ExpectedInputTokens and ExpectedOutputTokens are the trace's counts.
	ExpectedInputTokens  int32 `parquet:"expected_input_tokens"`
	ExpectedOutputTokens int32 `parquet:"expected_output_tokens"`
	// Status is the HTTP status (0 when no response arrived).
	Status int32 `parquet:"status"`
	// Error describes a failure (connection, truncated stream, HTTP error
	// body, timeout); empty on success.
	Error string `parquet:"error"`
}

// ResultsWriter writes a results file as a stream. Rows are buffered and
// written in row groups; Flush ends a row group (call it at the end of each
// level). The file is written beside the target path and renamed into place
// by Close, so a crash never leaves a file that looks complete.
type ResultsWriter struct {
	path, tmp string
	f         *os.File
	w         *parquet.GenericWriter[Result]
	buf       []Result
	meta      *RunMeta
	rows      int64
}

// CreateResults starts a results file at path. Its run metadata (SetRunMeta)
// is stored in the footer by Close.
func CreateResults(path string, overwrite bool) (*ResultsWriter, error) {
	if !overwrite {
		if _, err := os.Stat(path); err == nil {
			return nil, fmt.Errorf("%w: %s (choose another path, or remove it)", ErrExists, path)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".partial-")
	if err != nil {
		return nil, err
	}
	rw := &ResultsWriter{path: path, tmp: f.Name(), f: f}
	rw.w = parquet.NewGenericWriter[Result](f, writerOptions(FileResults, parquet.PageBufferSize(1<<20))...)
	return rw, nil
}

// SetRunMeta sets the run metadata Close writes to the footer; the last
// value set before Close wins. The writer keeps m: do not change it after
// Close.
func (rw *ResultsWriter) SetRunMeta(m *RunMeta) { rw.meta = m }

// Write buffers one row.
func (rw *ResultsWriter) Write(r *Result) error {
	rw.buf = append(rw.buf, *r)
	if len(rw.buf) >= 4096 {
		return rw.drain()
	}
	return nil
}

func (rw *ResultsWriter) drain() error {
	if len(rw.buf) == 0 {
		return nil
	}
	_, err := rw.w.Write(rw.buf)
	rw.rows += int64(len(rw.buf))
	clear(rw.buf)
	rw.buf = rw.buf[:0]
	return err
}

// Flush writes buffered rows and ends the current row group.
func (rw *ResultsWriter) Flush() error {
	if err := rw.drain(); err != nil {
		return err
	}
	return rw.w.Flush()
}

// Rows returns the number of rows written so far.
func (rw *ResultsWriter) Rows() int64 { return rw.rows + int64(len(rw.buf)) }

// Close finishes the file, syncs it and renames it into place.
func (rw *ResultsWriter) Close() error {
	err := rw.drain()
	if rw.meta != nil && err == nil {
		var b []byte
		if b, err = encodeRunMeta(rw.meta); err == nil {
			rw.w.SetKeyValueMetadata(MetaRun, string(b))
		}
	}
	if err == nil {
		err = rw.w.Close()
	}
	if err == nil {
		err = rw.f.Sync()
	}
	if cerr := rw.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(rw.tmp, rw.path)
	}
	if err != nil {
		os.Remove(rw.tmp)
	}
	return err
}

// Abort discards the file.
func (rw *ResultsWriter) Abort() {
	rw.f.Close()
	os.Remove(rw.tmp)
}

// metaRunPrefix prefixed the run metadata keys of schema 1.0/1.1 results
// files, one footer key per value.
const metaRunPrefix = "agentperf.run."

// ResultsFile reads a results file.
type ResultsFile struct {
	Path string
	f    *os.File
	pf   *parquet.File
	meta *RunMeta
}

// OpenResults opens and checks a results file.
func OpenResults(path string) (*ResultsFile, error) {
	f, pf, err := openParquet(path, FileResults, parquet.ReadBufferSize(scanReadBuffer), parquet.SkipPageIndex(true))
	if err != nil {
		return nil, err
	}
	if err := checkColumns(path, pf, parquet.SchemaOf(Result{})); err != nil {
		f.Close()
		return nil, err
	}
	meta, err := readRunMeta(pf)
	if err != nil {
		f.Close()
		return nil, &FileError{Path: path, Err: err}
	}
	return &ResultsFile{Path: path, f: f, pf: pf, meta: meta}, nil
}

// readRunMeta returns the run metadata of pf: the JSON value under MetaRun,
// or, in files without it (schema 1.0/1.1), the one-key-per-value footer
// turned into a RunMeta. A file without any run metadata gives an empty
// RunMeta.
func readRunMeta(pf *parquet.File) (*RunMeta, error) {
	kv := map[string]string{}
	for _, e := range pf.Metadata().KeyValueMetadata {
		if e.Key == MetaRun {
			return decodeRunMeta([]byte(e.Value))
		}
		if k, ok := strings.CutPrefix(e.Key, metaRunPrefix); ok && k != "" {
			kv[k] = e.Value
		}
	}
	return runMetaFromKeys(kv), nil
}

// RunMeta returns the run metadata (never nil). The caller must not change
// it.
func (r *ResultsFile) RunMeta() *RunMeta { return r.meta }

// NumRows returns the number of result rows.
func (r *ResultsFile) NumRows() int64 { return r.pf.NumRows() }

// Each streams every row through fn; the row is reused after fn returns.
func (r *ResultsFile) Each(fn func(*Result) error) error {
	return eachRow(r.Path, r.pf, fn)
}

// Close releases the file.
func (r *ResultsFile) Close() error { return r.f.Close() }
