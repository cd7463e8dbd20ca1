package wire

import (
	"bytes"
	"strings"
)

// Event is one event of a body read by Events.
type Event struct {
	// Name is the event's "event:" field, nil for the default type
	// ("message"). It aliases the body.
	Name []byte
	// Data is the event's "data:" lines joined by "\n"; nil when it had
	// none. A single line aliases the body; several are joined into a
	// buffer that the next event reuses, so Data is valid only during the
	// callback.
	Data []byte
	// End is the offset in the body just past the blank line that ended
	// the event, or len(body) for a Partial event.
	End int
	// Partial is set for the body's last event when the body ended before
	// its blank line (a stream cut off). Such an event is not one a reader
	// of the stream would have acted on; Events reports it so the caller
	// can note the truncation.
	Partial bool
}

// bom is the UTF-8 byte-order mark, which an event stream may begin with.
var bom = []byte("\xEF\xBB\xBF")

// Events calls fn for each event of body, a whole response body as
// received (or one cut off), in order. It frames events with NextEvent and
// reads their fields with SplitEvent — the same rules replay's stream
// reader applies to a body read in pieces, so both see the same events:
// lines end in "\n" or "\r\n"; an event ends at a blank line; "field:
// value" loses one leading space of value; comment lines (':' first) and
// other fields (id:, retry:) are skipped; an event with neither an event:
// nor a data: line is not passed. A leading byte-order mark is skipped.
// Unlike the WHATWG rules, a lone "\r" does not end a line: no LLM API
// sends one, and looking for it would cost the replay client's scan of
// every line. Events never panics, does not modify body and allocates only
// for events with several data lines.
func Events(body []byte, fn func(*Event)) {
	var ev Event
	var scratch []byte
	off := 0
	if bytes.HasPrefix(body, bom) {
		off = len(bom)
	}
	for off < len(body) {
		n, textLen := NextEvent(body[off:])
		partial := n == 0
		if partial {
			n, textLen = len(body)-off, len(body)-off
		}
		ev.Name, ev.Data, scratch, _ = SplitEvent(body[off:off+textLen], scratch)
		off += n
		if ev.Name == nil && ev.Data == nil {
			continue
		}
		ev.End, ev.Partial = off, partial
		fn(&ev)
	}
}

// IsEventStream reports whether a Content-Type header value names an SSE
// stream (text/event-stream, any case, parameters allowed).
func IsEventStream(contentType string) bool {
	const ct = "text/event-stream"
	return len(contentType) >= len(ct) && strings.EqualFold(contentType[:len(ct)], ct)
}
