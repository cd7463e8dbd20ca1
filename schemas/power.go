package schemas

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// FilePower is the "agentperf.kind" of a power-samples file: the measured
// power of the systems under test during one replay process, written
// beside its results file (PowerPath).
const FilePower = "power"

// PowerSuffix ends the name of a results file's power sibling.
const PowerSuffix = ".power.parquet"

// PowerPath returns where the power samples of the results file at results
// live: its path without a trailing ".parquet", plus PowerSuffix
// ("out/run.parquet" → "out/run.power.parquet"). Each shard's results file
// has its own.
func PowerPath(results string) string {
	return strings.TrimSuffix(results, ".parquet") + PowerSuffix
}

// Power row events, as stored in PowerRow.Event.
const (
	PowerSample = "sample" // a reading of one source: per-GPU watts and their sum
	PowerGap    = "gap"    // a span in which a source gave no readings, with the error
)

// PowerRow is one row of a power-samples file: a sample or a gap of one
// source. Times are Unix ns in world time (the run's clock, as results
// rows are), except WallNS.
type PowerRow struct {
	// RunID names the run (the results file's run_id); Shard is the replay
	// process that sampled (0 when not sharded).
	RunID string `parquet:"run_id,dict"`
	Shard int32  `parquet:"shard"`
	// System names the machine or rack the source measures; power is
	// summed over the sources of a system, then over systems.
	System string `parquet:"system,dict"`
	// Source names the source as configured, without credentials.
	Source string `parquet:"source,dict"`
	// Event is PowerSample or PowerGap.
	Event string `parquet:"event,dict"`
	// TimeNS is when the sample was read, or when the gap began (world).
	TimeNS int64 `parquet:"time_ns,delta"`
	// EndNS is when a gap ended (world): the next reading, or the end of
	// sampling when Open. 0 for samples.
	EndNS int64 `parquet:"end_ns"`
	// WallNS is TimeNS on the sampling host's wall clock, Unix ns.
	WallNS int64 `parquet:"wall_ns,delta"`
	// Watts is the sample's power summed over its GPUs, W (0 for gaps).
	Watts float64 `parquet:"watts"`
	// GPUs is the number of GPU readings summed (0 for gaps).
	GPUs int32 `parquet:"gpus"`
	// GPUWatts holds each GPU's power, W, in GPUIDs' order.
	GPUWatts []float64 `parquet:"gpu_watts,list"`
	// GPUIDs names each GPU (the exporter's gpu label, the command's index
	// column, or its position).
	GPUIDs []string `parquet:"gpu_ids,list"`
	// Error is why a gap began (empty for samples).
	Error string `parquet:"error"`
	// Failures counts the failed reads or runs within a gap (0 for samples).
	Failures int32 `parquet:"failures"`
	// Open is true for a gap that had not ended when sampling stopped: the
	// source never recovered.
	Open bool `parquet:"open"`
}

// PowerWriter writes a power-samples file. Rows are written in row groups
// as they come; the file is written beside its path and renamed into place
// by Close, so a failed write never leaves a file that looks complete.
// A PowerWriter is not safe for concurrent use.
type PowerWriter struct {
	path, tmp string
	f         *os.File
	w         *parquet.GenericWriter[PowerRow]
	meta      map[string]string
}

// CreatePower starts a power-samples file at path (see PowerPath). Unless
// overwrite, an existing file is an ErrExists error.
func CreatePower(path string, overwrite bool) (*PowerWriter, error) {
	if !overwrite {
		if _, err := os.Stat(path); err == nil {
			return nil, fmt.Errorf("%w: %s (choose another results path, or remove it)", ErrExists, path)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".partial-")
	if err != nil {
		return nil, err
	}
	return &PowerWriter{path: path, tmp: f.Name(), f: f, meta: map[string]string{},
		w: parquet.NewGenericWriter[PowerRow](f, writerOptions(FilePower)...)}, nil
}

// SetMeta sets a run metadata key, stored in the footer under MetaPowerPrefix
// as in a results file; the last value set before Close wins.
func (pw *PowerWriter) SetMeta(key, value string) { pw.meta[key] = value }

// Write appends rows.
func (pw *PowerWriter) Write(rows []PowerRow) error {
	_, err := pw.w.Write(rows)
	return err
}

// Close finishes the file, syncs it and renames it into place; after an
// error nothing is left behind.
func (pw *PowerWriter) Close() error {
	keys := make([]string, 0, len(pw.meta))
	for k := range pw.meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		pw.w.SetKeyValueMetadata(MetaPowerPrefix+k, pw.meta[k])
	}
	steps := []func() error{pw.w.Close, pw.f.Sync, pw.f.Close, func() error { return os.Rename(pw.tmp, pw.path) }}
	for i, step := range steps {
		if err := step(); err != nil {
			if i < 2 {
				pw.f.Close()
			}
			os.Remove(pw.tmp)
			return err
		}
	}
	return nil
}

// Abort discards the file.
func (pw *PowerWriter) Abort() {
	pw.f.Close()
	os.Remove(pw.tmp)
}

// PowerFile reads a power-samples file.
type PowerFile struct {
	Path string
	f    *os.File
	pf   *parquet.File
}

// OpenPower opens and checks a power-samples file: an agentperf file of
// kind FilePower, of a supported version, with the expected columns.
func OpenPower(path string) (*PowerFile, error) {
	f, pf, err := openParquet(path, FilePower)
	if err != nil {
		return nil, err
	}
	if err := checkColumns(path, pf, parquet.SchemaOf(PowerRow{})); err != nil {
		f.Close()
		return nil, err
	}
	return &PowerFile{Path: path, f: f, pf: pf}, nil
}

// Meta returns the run metadata (keys without MetaPowerPrefix).
func (p *PowerFile) Meta() map[string]string { return runMeta(p.pf) }

// MetaPowerPrefix prefixes the run metadata keys in a power file's footer
// ("agentperf.run.run_id"), one key per value.
const MetaPowerPrefix = metaRunPrefix

// runMeta returns a file's footer keys under MetaPowerPrefix, without it.
func runMeta(pf *parquet.File) map[string]string {
	out := map[string]string{}
	for _, kv := range pf.Metadata().KeyValueMetadata {
		if k, ok := strings.CutPrefix(kv.Key, MetaPowerPrefix); ok && k != "" {
			out[k] = kv.Value
		}
	}
	return out
}

// NumRows returns the number of rows, samples and gaps.
func (p *PowerFile) NumRows() int64 { return p.pf.NumRows() }

// Each streams every row through fn in file order; the row is reused after
// fn returns (copy its slices to keep them).
func (p *PowerFile) Each(fn func(*PowerRow) error) error { return eachRow(p.Path, p.pf, fn) }

// Close releases the file.
func (p *PowerFile) Close() error { return p.f.Close() }
