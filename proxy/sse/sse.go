// Package sse parses Server-Sent Events (the WHATWG event-stream format) out
// of a captured response body. It runs off the forwarding path: the capture
// proxy records the bytes and their arrival times as they pass and parses
// them once the response has ended.
package sse

import "bytes"

// Event is one dispatched event.
type Event struct {
	// Name is the "event:" field; empty means the default type "message".
	Name string
	// Data is the "data:" lines joined by "\n". It aliases the parsed buffer
	// when the event has a single data line.
	Data []byte
	// ID is the "id:" field.
	ID string
	// End is the offset in the parsed buffer just past the blank line that
	// ended the event (or past the last byte, for a Partial event).
	End int
	// Partial is true for an event cut off by the end of the buffer before
	// its blank line (a truncated stream). Per the spec such an event is not
	// dispatched; Parse reports it so the caller can note the truncation.
	Partial bool
}

// Parse calls fn for each event in buf, in order, following the
// event-stream rules: lines end in "\r\n", "\n" or "\r"; a line starting
// with ':' is a comment; "field: value" loses one leading space of value;
// an empty line dispatches the event when it has data or a name. A final
// event without its blank line is passed with Partial set. Parse never
// panics and allocates only for events with several data lines.
func Parse(buf []byte, fn func(*Event)) {
	var ev Event
	var multi []byte
	nData := 0
	has := false
	i := 0
	if bytes.HasPrefix(buf, []byte("\xEF\xBB\xBF")) {
		i = 3 // a UTF-8 byte-order mark is ignored
	}
	for i < len(buf) {
		// Find the line end.
		j := i
		for j < len(buf) && buf[j] != '\n' && buf[j] != '\r' {
			j++
		}
		if j == len(buf) {
			// An unterminated last line: fold it into a partial event.
			handleLine(buf[i:j], &ev, &multi, &nData, &has)
			if has {
				ev.End = len(buf)
				ev.Partial = true
				if nData > 1 {
					ev.Data = multi
				}
				fn(&ev)
			}
			return
		}
		line := buf[i:j]
		next := j + 1
		if buf[j] == '\r' && next < len(buf) && buf[next] == '\n' {
			next++
		}
		if len(line) == 0 {
			if has {
				ev.End = next
				if nData > 1 {
					ev.Data = multi
				}
				fn(&ev)
			}
			ev = Event{}
			multi = multi[:0]
			nData = 0
			has = false
		} else {
			handleLine(line, &ev, &multi, &nData, &has)
		}
		i = next
	}
	if has {
		ev.End = len(buf)
		ev.Partial = true
		if nData > 1 {
			ev.Data = multi
		}
		fn(&ev)
	}
}

func handleLine(line []byte, ev *Event, multi *[]byte, nData *int, has *bool) {
	if line[0] == ':' {
		return
	}
	field, value := line, []byte(nil)
	if k := bytes.IndexByte(line, ':'); k >= 0 {
		field, value = line[:k], line[k+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(field) {
	case "event":
		ev.Name = string(value)
		*has = true
	case "data":
		switch *nData {
		case 0:
			ev.Data = value
		case 1:
			*multi = append(append(append((*multi)[:0], ev.Data...), '\n'), value...)
		default:
			*multi = append(append(*multi, '\n'), value...)
		}
		*nData++
		*has = true
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			ev.ID = string(value)
		}
	}
}

// IsEventStream reports whether a Content-Type header value names an event
// stream.
func IsEventStream(contentType string) bool {
	ct := contentType
	if k := len("text/event-stream"); len(ct) >= k {
		return equalFold(ct[:k], "text/event-stream")
	}
	return false
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
