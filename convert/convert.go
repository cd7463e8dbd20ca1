package convert

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/agentperf/agentperf/schemas"
)

// Format names, as given to --format.
const (
	FormatAAJSONL    = "aa-jsonl"
	FormatMooncake   = "mooncake"
	FormatClaudeCode = "claude-code"
	FormatCodex      = "codex"
)

// ImportFormats are the formats Import reads; ExportFormats those Export
// writes.
var (
	ImportFormats = []string{FormatAAJSONL, FormatMooncake, FormatClaudeCode, FormatCodex}
	ExportFormats = []string{FormatAAJSONL, FormatMooncake}
)

// Agent names written to sessions.parquet for imported sessions.
const (
	AgentAA         = "aa-jsonl"
	AgentMooncake   = "mooncake"
	AgentClaudeCode = "claude-code"
	AgentCodex      = "codex"
)

// ImportOptions configures Import.
type ImportOptions struct {
	// Format is one of ImportFormats.
	Format string
	// Overwrite replaces an existing trace set at the output directory.
	Overwrite bool
	// SkipBad skips lines that cannot be parsed (counting them in
	// ImportStats.Skipped) instead of aborting at the first one.
	SkipBad bool
	// MooncakeEpoch is the wall-clock time of Mooncake timestamp 0; the
	// zero value means DefaultMooncakeEpoch.
	MooncakeEpoch time.Time
	// Logger receives one warning per skipped line; nil discards.
	Logger *slog.Logger
	// StoreGenerated stores generated text (Mooncake's filler blocks) as
	// bytes rather than as recipes (schemas.TraceWriterOptions): a set
	// about 20× larger that readers predating the recipe column can read.
	StoreGenerated bool
}

// ImportStats summarizes an import.
type ImportStats struct {
	// Files is the number of input files read.
	Files int
	// Lines is the number of non-blank input lines read.
	Lines int
	// Bytes is the number of input bytes read.
	Bytes int64
	// Skipped is the number of bad lines skipped (only with SkipBad).
	Skipped int
	// SkippedExamples holds the errors of the first few skipped lines.
	SkippedExamples []string
	// Sessions and Requests count what was written.
	Sessions int
	Requests int
	// Elapsed is the wall time of the import, output included.
	Elapsed time.Duration
}

// maxSkippedExamples bounds ImportStats.SkippedExamples.
const maxSkippedExamples = 5

// Import reads the input at in (a file, or a directory searched
// recursively for .jsonl files) in the given format and writes a trace set
// to the directory out. On any error nothing is left at out: the set is
// written to a temporary directory and moved into place only when complete.
func Import(ctx context.Context, in, out string, opt ImportOptions) (*ImportStats, error) {
	start := time.Now()
	var run func(*importer, []string) error
	switch opt.Format {
	case FormatAAJSONL:
		run = (*importer).importAA
	case FormatMooncake:
		run = (*importer).importMooncake
	case FormatClaudeCode:
		run = (*importer).importClaudeCode
	case FormatCodex:
		run = (*importer).importCodex
	default:
		return nil, fmt.Errorf("unknown import format %q (want one of %s)", opt.Format, strings.Join(ImportFormats, ", "))
	}
	files, err := inputFiles(in)
	if err != nil {
		return nil, err
	}
	w, err := schemas.CreateTraceSet(out, schemas.TraceWriterOptions{Overwrite: opt.Overwrite, StoreGenerated: opt.StoreGenerated})
	if err != nil {
		return nil, err
	}
	im := &importer{ctx: ctx, opt: opt, log: opt.Logger, w: w, stats: &ImportStats{}, sessions: map[string]bool{}}
	if im.log == nil {
		im.log = slog.New(slog.DiscardHandler)
	}
	err = run(im, files)
	if err == nil && im.stats.Requests == 0 {
		err = noRequests(in, opt.Format, im.stats)
	}
	if err != nil {
		w.Abort()
		return im.stats, err
	}
	if err := w.Close(); err != nil {
		return im.stats, err
	}
	im.stats.Sessions = len(im.sessions)
	im.stats.Elapsed = time.Since(start)
	return im.stats, nil
}

func noRequests(in, format string, st *ImportStats) error {
	switch {
	case st.Lines == 0:
		return fmt.Errorf("%s: empty: no lines to import", in)
	case st.Skipped == st.Lines:
		return fmt.Errorf("%s: all %d lines were bad and skipped; is --format %s right?", in, st.Lines, format)
	}
	return fmt.Errorf("%s: no model calls found in %d lines; is --format %s right?", in, st.Lines, format)
}

// inputFiles returns in itself when it is a file, or the .jsonl files under
// it in lexical order when it is a directory.
func inputFiles(in string) ([]string, error) {
	st, err := os.Stat(in)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{in}, nil
	}
	var files []string
	err = filepath.WalkDir(in, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".jsonl") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no .jsonl files in this directory", in)
	}
	slices.Sort(files)
	return files, nil
}

// importer holds what every format's import shares: the writer, the
// bad-line policy and the counts.
type importer struct {
	ctx      context.Context
	opt      ImportOptions
	log      *slog.Logger
	w        *schemas.TraceWriter
	stats    *ImportStats
	sessions map[string]bool
}

// bad handles a bad line: with SkipBad it is counted and nil is returned;
// otherwise err is returned to abort the import.
func (im *importer) bad(err *LineError) error {
	if !im.opt.SkipBad {
		return err
	}
	im.stats.Skipped++
	if len(im.stats.SkippedExamples) < maxSkippedExamples {
		im.stats.SkippedExamples = append(im.stats.SkippedExamples, err.Error())
	}
	im.log.Warn("skipped bad line", "file", err.File, "line", err.Line, "err", err.Err)
	return nil
}

// lineErr wraps err for the line last read; on a file's first line it
// adds a hint that the file may not be in the chosen format.
func (im *importer) lineErr(lr *lineReader, err error) *LineError {
	le := lr.lineErr(err)
	if lr.n == 1 {
		le.Err = fmt.Errorf("%w (is this a %s file?)", le.Err, im.opt.Format)
	}
	return le
}

// session records a session's attributes the first time it is seen.
func (im *importer) session(s schemas.Session) {
	if im.sessions[s.ID] {
		return
	}
	im.sessions[s.ID] = true
	s.Source = schemas.SourceImport
	im.w.SetSession(s)
}

// write stores one model call.
func (im *importer) write(t *schemas.Turn) error {
	if _, err := im.w.WriteTurn(t); err != nil {
		return err
	}
	im.stats.Requests++
	return nil
}

// eachLine streams the non-blank lines of file through fn. Read errors and
// lines too long go through the bad-line policy; fn's errors abort (fn
// applies the policy itself to the errors it can skip). The context is
// checked every 256 lines.
func (im *importer) eachLine(file string, fn func(lr *lineReader, line []byte) error) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	im.stats.Files++
	cr := &countingReader{r: f}
	defer func() { im.stats.Bytes += cr.n }()
	lr := newLineReader(cr, file)
	for {
		line, err := lr.next()
		if err == io.EOF {
			return nil
		}
		if lr.n&255 == 0 {
			if cerr := im.ctx.Err(); cerr != nil {
				return cerr
			}
		}
		if err != nil {
			var le *LineError
			if errors.As(err, &le) && errors.Is(err, errLineTooLong) {
				im.stats.Lines++
				if err := im.bad(le); err != nil {
					return err
				}
				continue
			}
			return err
		}
		im.stats.Lines++
		if err := fn(lr, line); err != nil {
			return err
		}
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
