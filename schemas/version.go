package schemas

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// File kinds written into the "agentperf.kind" key-value metadata.
const (
	FileSessions = "sessions"
	FileRequests = "requests"
	FileBlobs    = "blobs"
	FileResults  = "results"
)

// Key-value metadata keys present in every file agentperf writes.
const (
	MetaVersion = "agentperf.schema_version" // "MAJOR.MINOR"
	MetaKind    = "agentperf.kind"           // one of the File* constants
)

// Schema version of the files this package writes. Readers accept any minor
// version of the same major and reject other majors. 1.1 added the timing
// columns of requests; 1.2 stores a results file's run metadata as one
// JSON value (MetaRun, RunMeta) instead of one footer key per value.
const (
	VersionMajor = 1
	VersionMinor = 2
)

// Version is the schema version string written to files.
var Version = fmt.Sprintf("%d.%d", VersionMajor, VersionMinor)

// ErrFormat is wrapped by every error about a file that is not a valid
// agentperf file of the expected kind and version.
var ErrFormat = errors.New("invalid agentperf file")

// FileError says which file is wrong and how.
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

func formatErr(path, format string, args ...any) error {
	return &FileError{Path: path, Err: fmt.Errorf("%w: "+format, append([]any{ErrFormat}, args...)...)}
}

// openParquet opens path as an agentperf Parquet file of the given kind,
// checking magic bytes, footer, kind and version. The caller closes the
// returned os.File.
func openParquet(path, kind string, opts ...parquet.FileOption) (*os.File, *parquet.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	pf, err := openParquetFile(f, st.Size(), opts...)
	if err != nil {
		f.Close()
		return nil, nil, formatErr(path, "not a readable Parquet file (truncated or corrupt?): %v", err)
	}
	if err := checkMeta(pf, kind); err != nil {
		f.Close()
		return nil, nil, &FileError{Path: path, Err: err}
	}
	return f, pf, nil
}

func openParquetFile(f *os.File, size int64, opts ...parquet.FileOption) (pf *parquet.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("parquet reader failed: %v", r)
		}
	}()
	return parquet.OpenFile(f, size, append([]parquet.FileOption{parquet.SkipBloomFilters(true)}, opts...)...)
}

func checkMeta(pf *parquet.File, kind string) error {
	v, ok := pf.Lookup(MetaVersion)
	if !ok {
		return fmt.Errorf("%w: a Parquet file, but not one agentperf wrote (no %q metadata key)", ErrFormat, MetaVersion)
	}
	k, _ := pf.Lookup(MetaKind)
	if k != kind {
		return fmt.Errorf("%w: holds %q rows, expected %q", ErrFormat, k, kind)
	}
	major, _, ok := strings.Cut(v, ".")
	m, err := strconv.Atoi(major)
	if !ok || err != nil {
		return fmt.Errorf("%w: bad schema version %q", ErrFormat, v)
	}
	if m != VersionMajor {
		return fmt.Errorf("%w: schema version %s is not supported by this agentperf (reads %d.x); use a matching agentperf release", ErrFormat, v, VersionMajor)
	}
	return nil
}

// columnsAddedIn maps a column (its top-level name) to the minor version of
// the current major that added it: files of an older minor lack it, and
// readers fill in zero values.
var columnsAddedIn = map[string]int{
	"first_byte_ns":    1, // requests, 1.1
	"chunk_ns":         1, // requests, 1.1
	"context_items":    2, // requests, 1.2
	"extras":           2, // requests, 1.2
	"parent_turn":      2, // sessions, 1.2
	"parent_offset_ns": 2, // sessions, 1.2
	"recipe":           2, // blobs, 1.2 (and see columnsLate)
}

// columnsLate are columns added to a minor version while it was in
// development: files written before them claim that minor yet lack them.
// Their absence means a zero value for every row (blobs.recipe: no blob is
// generated), so a file may lack them whatever its version.
var columnsLate = map[string]bool{"recipe": true}

// fileMinor returns the minor schema version of pf (0 when unreadable).
func fileMinor(pf *parquet.File) int {
	v, _ := pf.Lookup(MetaVersion)
	_, minor, _ := strings.Cut(v, ".")
	n, _ := strconv.Atoi(minor)
	return n
}

// checkColumns reports a missing column of want in the file's schema;
// columns added after the file's minor version may be missing.
func checkColumns(path string, pf *parquet.File, want *parquet.Schema) error {
	have := map[string]bool{}
	for _, p := range pf.Schema().Columns() {
		have[strings.Join(p, ".")] = true
	}
	minor := fileMinor(pf)
	for _, p := range want.Columns() {
		if !have[strings.Join(p, ".")] {
			if added, ok := columnsAddedIn[p[0]]; ok && added > minor || columnsLate[p[0]] {
				continue
			}
			return formatErr(path, "missing column %q", strings.Join(p, "."))
		}
	}
	return nil
}
