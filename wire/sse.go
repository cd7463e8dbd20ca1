package wire

import (
	"bytes"
	"strconv"
)

// NextEvent returns the length of the first complete event in b (through
// its blank line, "\n\n" or "\r\n\r\n") and the length of the event text
// without the terminator; n is 0 when b holds no complete event. It does
// not allocate: a reader scans a stream in place with it.
func NextEvent(b []byte) (n, textLen int) {
	from := 0
	for {
		i := bytes.IndexByte(b[from:], '\n')
		if i < 0 {
			return 0, 0
		}
		i += from
		// i is a line end; the event ends if the next line is empty.
		j := i + 1
		if j < len(b) && b[j] == '\n' {
			return j + 1, trimCR(b[:i])
		}
		if j+1 < len(b) && b[j] == '\r' && b[j+1] == '\n' {
			return j + 2, trimCR(b[:i])
		}
		if j >= len(b) || (b[j] == '\r' && j+1 >= len(b)) {
			return 0, 0
		}
		from = j
	}
}

func trimCR(b []byte) int {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		return len(b) - 1
	}
	return len(b)
}

var (
	prefEvent   = []byte("event:")
	prefData    = []byte("data:")
	prefSimTime = []byte(SimTimeComment)
)

// SimTimeComment starts the SSE comment line agentperf sim writes before
// the events of one delivery when asked for its clock (HeaderSimClock):
// ": t=<ns>\n", simulated ns since the request's simulated arrival.
const SimTimeComment = ": t="

// AppendSimTime appends the comment line ": t=<ns>\n".
func AppendSimTime(dst []byte, ns int64) []byte {
	dst = append(dst, SimTimeComment...)
	dst = strconv.AppendInt(dst, ns, 10)
	return append(dst, '\n')
}

// SplitEvent returns an event's name and data, and the simulated time of a
// sim-clock comment line ": t=<ns>" in it (docs/sim.md), or -1. Multi-line
// data is joined with newlines into scratch, returned for reuse (the only
// case that copies); otherwise name and data alias ev.
func SplitEvent(ev []byte, scratch []byte) (name, data, scratchOut []byte, simNS int64) {
	simNS = -1
	lines := 0
	for len(ev) > 0 {
		var line []byte
		if i := bytes.IndexByte(ev, '\n'); i >= 0 {
			line, ev = ev[:i], ev[i+1:]
		} else {
			line, ev = ev, nil
		}
		line = line[:trimCR(line)]
		switch {
		case bytes.HasPrefix(line, prefData):
			v := line[len(prefData):]
			if len(v) > 0 && v[0] == ' ' {
				v = v[1:]
			}
			lines++
			switch lines {
			case 1:
				data = v
			case 2:
				scratch = append(append(append(scratch[:0], data...), '\n'), v...)
				data = scratch
			default:
				scratch = append(append(scratch, '\n'), v...)
				data = scratch
			}
		case bytes.HasPrefix(line, prefEvent):
			name = bytes.TrimSpace(line[len(prefEvent):])
		case bytes.HasPrefix(line, prefSimTime):
			simNS = ParseNS(line[len(prefSimTime):])
		}
	}
	return name, data, scratch, simNS
}

// ParseNS parses a non-negative decimal integer that fits int64 with nothing
// after it; -1 otherwise.
func ParseNS(b []byte) int64 {
	if len(b) == 0 || len(b) > 18 {
		return -1
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int64(c-'0')
	}
	return n
}
