package convert

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLineReader(t *testing.T) {
	long := strings.Repeat("x", 3<<20) // longer than bufio's buffer
	in := "a\r\n\n  \n" + long + "\n" + strings.Repeat("y", 100) + "\nlast"
	lr := newLineReader(strings.NewReader(in), "f.jsonl")
	lr.max = 4 << 20
	type line struct {
		n        int
		text     string
		complete bool
	}
	want := []line{{1, "a", true}, {4, long, true}, {5, strings.Repeat("y", 100), true}, {6, "last", false}}
	for _, w := range want {
		got, err := lr.next()
		if err != nil {
			t.Fatal(err)
		}
		if lr.n != w.n || string(got) != w.text || lr.complete != w.complete {
			t.Fatalf("line %d (%d bytes, complete %v), want line %d (%d bytes, complete %v)", lr.n, len(got), lr.complete, w.n, len(w.text), w.complete)
		}
	}
	if _, err := lr.next(); err != io.EOF {
		t.Fatalf("after the last line: %v, want EOF", err)
	}

	// A line over the limit is reported with its number and skipped; the
	// next line is read normally.
	lr = newLineReader(strings.NewReader("ok\n"+strings.Repeat("z", 5000)+"\nnext\n"), "g.jsonl")
	lr.max = 1000
	lr.next()
	_, err := lr.next()
	var le *LineError
	if !errors.As(err, &le) || le.Line != 2 || !errors.Is(err, errLineTooLong) {
		t.Fatalf("long line: %v", err)
	}
	if got, err := lr.next(); err != nil || string(got) != "next" || lr.n != 3 {
		t.Fatalf("after the long line: %q %v (line %d)", got, err, lr.n)
	}
}

// TestImportLongLine imports a transcript whose tool result is a 256 KiB
// line, beyond a default 64 KiB scanner limit (TestLineReader covers lines
// longer than the reader's buffer).
func TestImportLongLine(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "s.jsonl")
	big := strings.Repeat("0123456789abcdef\\n", (256<<10)/18)
	lines := `{"type":"user","uuid":"u1","parentUuid":null,"sessionId":"s","timestamp":"2025-01-01T00:00:00Z","message":{"role":"user","content":"read the log"}}
{"type":"assistant","uuid":"a1","parentUuid":"u1","sessionId":"s","timestamp":"2025-01-01T00:00:01Z","requestId":"r1","message":{"id":"m1","role":"assistant","model":"x","content":[{"type":"tool_use","id":"t1","name":"Read","input":{"path":"log"}}],"usage":{"input_tokens":10,"output_tokens":5}}}
{"type":"user","uuid":"u2","parentUuid":"a1","sessionId":"s","timestamp":"2025-01-01T00:00:02Z","message":{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"` + big + `"}]}}
{"type":"assistant","uuid":"a2","parentUuid":"u2","sessionId":"s","timestamp":"2025-01-01T00:00:09Z","requestId":"r2","message":{"id":"m2","role":"assistant","model":"x","content":[{"type":"text","text":"done"}],"usage":{"input_tokens":900000,"output_tokens":1}}}
`
	os.WriteFile(in, []byte(lines), 0o644)
	st, err := Import(context.Background(), in, filepath.Join(dir, "set"), ImportOptions{Format: FormatClaudeCode})
	if err != nil {
		t.Fatal(err)
	}
	if st.Requests != 2 || st.Bytes < 256<<10 {
		t.Errorf("stats %+v", st)
	}
	reqs := readRequests(t, filepath.Join(dir, "set"))
	if reqs[1].InputTokens < 20000 {
		t.Errorf("second request counts %d input tokens; the long tool result is missing", reqs[1].InputTokens)
	}
}
