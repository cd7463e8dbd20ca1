package convert

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/schemas"
)

// fixtureFile returns one fixture file per format, with the number of
// requests it imports to.
var fixtureFiles = map[string]struct {
	path     string
	requests int
}{
	FormatAAJSONL:    {aaFixture, 6},
	FormatClaudeCode: {"testdata/claude-code/projects/-home-dev-shop/" + ccSession + ".jsonl", 4},
	FormatCodex:      {"testdata/codex/sessions/2025/11/04/rollout-2025-11-04T10-02-11-" + codexMain + ".jsonl", 4},
	FormatMooncake:   {"testdata/mooncake/head.jsonl", 6},
}

// assertNothingLeft checks that a failed import left neither the output
// nor a partial directory beside it.
func assertNothingLeft(t *testing.T, out string) {
	t.Helper()
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s exists after a failed import", out)
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	for _, e := range entries {
		if strings.Contains(e.Name(), ".partial-") {
			t.Errorf("partial output %s left behind", e.Name())
		}
	}
}

// withLine returns the lines of path with extra inserted before line
// at (1-based).
func withLine(t *testing.T, path string, at int, extra string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	var b strings.Builder
	for i, l := range lines {
		if i == at-1 {
			b.WriteString(extra + "\n")
		}
		b.WriteString(l)
	}
	return []byte(b.String())
}

// TestBrokenLine inserts a broken line into each format's fixture: the
// import fails naming the file and line and leaves nothing behind; with
// SkipBad it completes, counting one skipped line.
func TestBrokenLine(t *testing.T) {
	for format, fx := range fixtureFiles {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "in.jsonl")
			os.WriteFile(in, withLine(t, fx.path, 3, `{"broken": tru`), 0o644)
			out := filepath.Join(dir, "set")
			_, err := Import(context.Background(), in, out, ImportOptions{Format: format})
			var le *LineError
			if !errors.As(err, &le) || le.Line != 3 || !strings.Contains(err.Error(), "in.jsonl:3: invalid JSON") {
				t.Fatalf("err = %v, want in.jsonl:3: invalid JSON", err)
			}
			assertNothingLeft(t, out)

			st, err := Import(context.Background(), in, out, ImportOptions{Format: format, SkipBad: true})
			if err != nil {
				t.Fatal(err)
			}
			if st.Skipped != 1 || st.Requests != fx.requests || len(st.SkippedExamples) != 1 || !strings.Contains(st.SkippedExamples[0], "in.jsonl:3:") {
				t.Errorf("stats %+v, want 1 skipped (line 3) and %d requests", st, fx.requests)
			}
			if n := len(readRequests(t, out)); n != fx.requests {
				t.Errorf("%d requests in the set, want %d", n, fx.requests)
			}
		})
	}
}

// TestTruncatedLastLine cuts each fixture in the middle of its last line.
func TestTruncatedLastLine(t *testing.T) {
	for format, fx := range fixtureFiles {
		t.Run(format, func(t *testing.T) {
			data, err := os.ReadFile(fx.path)
			if err != nil {
				t.Fatal(err)
			}
			data = bytes.TrimRight(data, "\n")
			last := bytes.LastIndexByte(data, '\n') + 1
			nlines := bytes.Count(data, []byte("\n")) + 1
			data = data[:last+(len(data)-last)/2]
			dir := t.TempDir()
			in := filepath.Join(dir, "cut.jsonl")
			os.WriteFile(in, data, 0o644)
			out := filepath.Join(dir, "set")
			_, err = Import(context.Background(), in, out, ImportOptions{Format: format})
			var le *LineError
			if !errors.As(err, &le) || le.Line != nlines || !strings.Contains(err.Error(), "truncated file?") {
				t.Fatalf("err = %v, want line %d named as truncated", err, nlines)
			}
			assertNothingLeft(t, out)
			st, err := Import(context.Background(), in, out, ImportOptions{Format: format, SkipBad: true})
			if err != nil || st.Skipped != 1 {
				t.Errorf("with SkipBad: %v, stats %+v", err, st)
			}
		})
	}
}

func TestEmptyInput(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"empty.jsonl": "", "blank.jsonl": "\n\n  \n"} {
		in := filepath.Join(dir, name)
		os.WriteFile(in, []byte(content), 0o644)
		for _, format := range ImportFormats {
			out := filepath.Join(dir, "set")
			_, err := Import(context.Background(), in, out, ImportOptions{Format: format})
			if err == nil || !strings.Contains(err.Error(), "empty: no lines to import") {
				t.Errorf("%s as %s: err = %v, want empty", name, format, err)
			}
			assertNothingLeft(t, out)
		}
	}
	emptyDir := filepath.Join(dir, "nofiles")
	os.Mkdir(emptyDir, 0o755)
	if _, err := Import(context.Background(), emptyDir, filepath.Join(dir, "set"), ImportOptions{Format: FormatCodex}); err == nil || !strings.Contains(err.Error(), "no .jsonl files") {
		t.Errorf("empty directory: err = %v", err)
	}
	if _, err := Import(context.Background(), filepath.Join(dir, "missing.jsonl"), filepath.Join(dir, "set"), ImportOptions{Format: FormatCodex}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing input: err = %v", err)
	}
}

// TestWrongFormat imports each fixture as every other format: the first
// line is reported with a hint, and with SkipBad the import fails because
// every line was bad (or, for transcripts whose lines parse as another
// format's ignorable lines, because no model call was found).
func TestWrongFormat(t *testing.T) {
	for format, fx := range fixtureFiles {
		for _, as := range ImportFormats {
			if as == format {
				continue
			}
			dir := t.TempDir()
			out := filepath.Join(dir, "set")
			_, err := Import(context.Background(), fx.path, out, ImportOptions{Format: as})
			if err == nil {
				t.Errorf("%s imported as %s", format, as)
				continue
			}
			msg := err.Error()
			if !strings.Contains(msg, ":1: ") || !strings.Contains(msg, "is this a "+as+" file?") {
				if !strings.Contains(msg, "is --format "+as+" right?") {
					t.Errorf("%s as %s: err = %v, want line 1 named with a format hint", format, as, err)
				}
			}
			assertNothingLeft(t, out)
			_, err = Import(context.Background(), fx.path, out, ImportOptions{Format: as, SkipBad: true})
			if err == nil || !strings.Contains(err.Error(), "is --format "+as+" right?") {
				t.Errorf("%s as %s with SkipBad: err = %v", format, as, err)
			}
			assertNothingLeft(t, out)
		}
	}
}

func TestImportExistingOutput(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "set")
	fx := fixtureFiles[FormatMooncake]
	if _, err := Import(context.Background(), fx.path, out, ImportOptions{Format: FormatMooncake}); err != nil {
		t.Fatal(err)
	}
	if _, err := Import(context.Background(), fx.path, out, ImportOptions{Format: FormatMooncake}); !errors.Is(err, schemas.ErrExists) {
		t.Errorf("second import: err = %v, want ErrExists", err)
	}
	if _, err := Import(context.Background(), fx.path, out, ImportOptions{Format: FormatMooncake, Overwrite: true}); err != nil {
		t.Errorf("overwrite: %v", err)
	}
	if _, err := Import(context.Background(), fx.path, out, ImportOptions{Format: "csv"}); err == nil || !strings.Contains(err.Error(), "unknown import format") {
		t.Errorf("unknown format: %v", err)
	}
}

func TestImportCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	// More than 256 lines, so the context is checked.
	var b strings.Builder
	for i := 0; i < 600; i++ {
		b.WriteString(`{"timestamp": 0, "input_length": 10, "output_length": 1, "hash_ids": [1]}` + "\n")
	}
	os.WriteFile(in, []byte(b.String()), 0o644)
	out := filepath.Join(dir, "set")
	if _, err := Import(ctx, in, out, ImportOptions{Format: FormatMooncake}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	assertNothingLeft(t, out)
}

func TestExportErrors(t *testing.T) {
	dir := t.TempDir()
	set := filepath.Join(dir, "set")
	if _, err := Import(context.Background(), aaFixture, set, ImportOptions{Format: FormatAAJSONL}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.jsonl")
	os.WriteFile(out, []byte("keep me"), 0o644)
	if _, err := Export(context.Background(), set, out, nil, ExportOptions{Format: FormatAAJSONL}); !errors.Is(err, schemas.ErrExists) {
		t.Errorf("export over a file: %v", err)
	}
	if b, _ := os.ReadFile(out); string(b) != "keep me" {
		t.Error("existing file changed")
	}
	if _, err := Export(context.Background(), set, out, nil, ExportOptions{Format: "parquet"}); err == nil {
		t.Error("unknown export format accepted")
	}
	if _, err := Export(context.Background(), filepath.Join(dir, "nope"), filepath.Join(dir, "o2"), nil, ExportOptions{Format: FormatMooncake}); err == nil {
		t.Error("missing set accepted")
	}
	var buf bytes.Buffer
	st, err := Export(context.Background(), set, "-", &buf, ExportOptions{Format: FormatMooncake})
	if err != nil || st.Requests != 6 || int64(buf.Len()) != st.Bytes || bytes.Count(buf.Bytes(), []byte("\n")) != 6 {
		t.Errorf("export to stdout: %v %+v, %d bytes", err, st, buf.Len())
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".partial-") {
			t.Errorf("partial file %s left behind", e.Name())
		}
	}
}
