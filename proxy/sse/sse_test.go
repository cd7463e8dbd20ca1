package sse

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func collect(buf string) []string {
	var out []string
	Parse([]byte(buf), func(e *Event) {
		out = append(out, fmt.Sprintf("%s|%s|%s|%d|%v", e.Name, e.Data, e.ID, e.End, e.Partial))
	})
	return out
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"anthropic", "event: ping\ndata: {\"type\":\"ping\"}\n\nevent: message_stop\ndata: {}\n\n",
			[]string{`ping|{"type":"ping"}||35|false`, "message_stop|{}||65|false"}},
		{"openai no event name", "data: {\"a\":1}\n\ndata: [DONE]\n\n",
			[]string{`|{"a":1}||15|false`, "|[DONE]||29|false"}},
		{"crlf", "event: x\r\ndata: 1\r\n\r\n", []string{"x|1||21|false"}},
		{"cr only", "data: 1\r\rdata: 2\r\r", []string{"|1||9|false", "|2||18|false"}},
		{"multi data", "data: a\ndata: b\ndata:c\n\n", []string{"|a\nb\nc||24|false"}},
		{"comments and blank lines", ": keep-alive\n\n\ndata: x\n\n", []string{"|x||24|false"}},
		{"id", "id: 7\ndata: x\n\n", []string{"|x|7|15|false"}},
		{"no space after colon", "data:x\n\n", []string{"|x||8|false"}},
		{"field without colon", "data\n\n", []string{"|||6|false"}},
		{"truncated mid-line", "data: {\"a\":1}\n\ndata: {\"b\"", []string{`|{"a":1}||15|false`, `|{"b"||25|true`}},
		{"truncated before blank line", "event: e\ndata: 1\n", []string{"e|1||17|true"}},
		{"bom", "\xEF\xBB\xBFdata: 1\n\n", []string{"|1||12|false"}},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		got := collect(tt.in)
		if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("%s: Parse(%q)\n got %q\nwant %q", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestParseSplitInvariance(t *testing.T) {
	// Parsing a prefix yields the complete events of the whole up to that
	// prefix (offsets aside: a cut inside "\r\n" ends an event at '\r').
	in := "event: a\ndata: 1\n\n: c\ndata: 2\r\n\r\ndata: 3\rdata: 4\r\r"
	all := collect(in)
	for cut := 0; cut <= len(in); cut++ {
		part := collect(in[:cut])
		n := 0
		for _, p := range part {
			if strings.HasSuffix(p, "false") {
				n++
			}
		}
		for i := 0; i < n; i++ {
			if trimEnd(part[i]) != trimEnd(all[i]) {
				t.Errorf("cut %d: event %d = %q, want %q", cut, i, part[i], all[i])
			}
		}
	}
}

func TestIsEventStream(t *testing.T) {
	for in, want := range map[string]bool{
		"text/event-stream": true, "text/event-stream; charset=utf-8": true,
		"Text/Event-Stream": true, "application/json": false, "": false,
	} {
		if got := IsEventStream(in); got != want {
			t.Errorf("IsEventStream(%q) = %v, want %v", in, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("event: ping\ndata: {}\n\n"))
	f.Add([]byte("data: a\r\ndata: b\r\n\r\n:c\rdata\r\r"))
	f.Add([]byte("data: [DONE]\n\ndata: {\"x"))
	f.Fuzz(func(t *testing.T, in []byte) {
		orig := bytes.Clone(in)
		last := 0
		Parse(in, func(e *Event) {
			if e.End < last || e.End > len(in) {
				t.Fatalf("event end %d out of order (last %d, len %d)", e.End, last, len(in))
			}
			if e.Partial && e.End != len(in) {
				t.Fatalf("partial event ends at %d, not at the buffer end %d", e.End, len(in))
			}
			last = e.End
		})
		if !bytes.Equal(in, orig) {
			t.Fatal("Parse modified its input")
		}
	})
}

func trimEnd(s string) string {
	f := strings.Split(s, "|")
	return strings.Join(f[:3], "|")
}
