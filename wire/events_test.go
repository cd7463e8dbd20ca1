package wire

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// collect returns the events of body as "name|data|end|partial".
func collect(body string) []string {
	var out []string
	Events([]byte(body), func(e *Event) {
		out = append(out, fmt.Sprintf("%s|%s|%d|%v", e.Name, e.Data, e.End, e.Partial))
	})
	return out
}

func TestEvents(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"anthropic", "event: ping\ndata: {\"type\":\"ping\"}\n\nevent: message_stop\ndata: {}\n\n",
			[]string{`ping|{"type":"ping"}|35|false`, "message_stop|{}|65|false"}},
		{"openai no event name", "data: {\"a\":1}\n\ndata: [DONE]\n\n",
			[]string{`|{"a":1}|15|false`, "|[DONE]|29|false"}},
		{"crlf", "event: x\r\ndata: 1\r\n\r\n", []string{"x|1|21|false"}},
		{"mixed line ends", "data: 1\n\r\ndata: 2\r\n\n", []string{"|1|10|false", "|2|20|false"}},
		{"multi data", "data: a\ndata: b\ndata:c\n\n", []string{"|a\nb\nc|24|false"}},
		{"comments and blank lines", ": keep-alive\n\n\ndata: x\n\n", []string{"|x|24|false"}},
		{"sim-clock comment", ": t=5\ndata: x\n\n", []string{"|x|15|false"}},
		{"id and retry skipped", "id: 7\nretry: 10\ndata: x\n\n", []string{"|x|25|false"}},
		{"no space after colon", "data:x\n\n", []string{"|x|8|false"}},
		{"empty data", "data:\n\n", []string{"||7|false"}},
		{"truncated mid-line", "data: {\"a\":1}\n\ndata: {\"b\"", []string{`|{"a":1}|15|false`, `|{"b"|25|true`}},
		{"truncated before blank line", "event: e\ndata: 1\n", []string{"e|1|17|true"}},
		{"truncated in crlf", "data: 1\r\n\r", []string{"|1|10|true"}},
		{"trailing blank lines", "data: 1\n\n\n\n", []string{"|1|9|false"}},
		{"bom", "\xEF\xBB\xBFdata: 1\n\n", []string{"|1|12|false"}},
		{"lone cr is not a line end", "data: 1\r\rdata: 2\r\r", []string{"|1\r\rdata: 2\r|18|true"}},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		got := collect(tt.in)
		if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("%s: Events(%q)\n got %q\nwant %q", tt.name, tt.in, got, tt.want)
		}
	}
}

// readInPieces frames body as replay's stream reader does — NextEvent and
// SplitEvent over a buffer that grows by the given read sizes — and returns
// the complete events it sees, in collect's form (offsets from the body's
// start).
func readInPieces(body []byte, sizes []int) []string {
	var out []string
	var scratch []byte
	start, end := 0, 0
	for i := 0; end < len(body); i++ {
		n := 1
		if len(sizes) > 0 {
			n = max(1, sizes[i%len(sizes)])
		}
		end = min(len(body), end+n)
		if start == 0 && end < len(bom) && bytes.HasPrefix(bom, body[:end]) {
			continue
		}
		if start == 0 && bytes.HasPrefix(body, bom) {
			start = len(bom)
		}
		for {
			n, textLen := NextEvent(body[start:end])
			if n == 0 {
				break
			}
			var name, data []byte
			name, data, scratch, _ = SplitEvent(body[start:start+textLen], scratch)
			start += n
			if name != nil || data != nil {
				out = append(out, fmt.Sprintf("%s|%s|%d|false", name, data, start))
			}
		}
	}
	return out
}

func TestEventsReadInPieces(t *testing.T) {
	in := []byte("event: a\ndata: 1\n\n: c\ndata: 2\r\n\r\ndata: 3\ndata: 4\n\n\n: t=9\ndata: [DONE]\n\n")
	want := collect(string(in))
	for _, sizes := range [][]int{{1}, {2, 3}, {7}, {len(in)}} {
		if got := readInPieces(in, sizes); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("read in pieces of %v:\n got %q\nwant %q", sizes, got, want)
		}
	}
}

func TestIsEventStream(t *testing.T) {
	for in, want := range map[string]bool{
		"text/event-stream": true, "text/event-stream; charset=utf-8": true,
		"Text/Event-Stream": true, "application/json": false, "": false, "text/event": false,
	} {
		if got := IsEventStream(in); got != want {
			t.Errorf("IsEventStream(%q) = %v, want %v", in, got, want)
		}
	}
}

// FuzzEvents checks Events on arbitrary bodies: offsets in order and
// within the body, a partial event only at the end, the body untouched,
// and the same complete events as a reader framing the body in pieces
// (replay's way).
func FuzzEvents(f *testing.F) {
	f.Add([]byte("event: ping\ndata: {}\n\n"), uint8(1))
	f.Add([]byte("data: a\r\ndata: b\r\n\r\n:c\rdata\r\r"), uint8(3))
	f.Add([]byte("data: [DONE]\n\ndata: {\"x"), uint8(5))
	f.Add([]byte("\xEF\xBB\xBFdata: 1\n\n"), uint8(2))
	f.Fuzz(func(t *testing.T, in []byte, piece uint8) {
		orig := bytes.Clone(in)
		last := 0
		var complete []string
		Events(in, func(e *Event) {
			if e.End < last || e.End > len(in) {
				t.Fatalf("event end %d out of order (last %d, len %d)", e.End, last, len(in))
			}
			if e.Partial && e.End != len(in) {
				t.Fatalf("partial event ends at %d, not at the body's end %d", e.End, len(in))
			}
			if e.Name == nil && e.Data == nil {
				t.Fatal("event with neither name nor data passed")
			}
			last = e.End
			if !e.Partial {
				complete = append(complete, fmt.Sprintf("%s|%s|%d|false", e.Name, e.Data, e.End))
			}
		})
		if !bytes.Equal(in, orig) {
			t.Fatal("Events modified its input")
		}
		if got := readInPieces(in, []int{int(piece%16) + 1}); strings.Join(got, "\n") != strings.Join(complete, "\n") {
			t.Fatalf("read in pieces of %d:\n got %q\nwant %q", piece%16+1, got, complete)
		}
	})
}
