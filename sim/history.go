package sim

import (
	"bytes"
	"math"

	"github.com/agentperf/agentperf/internal/jsonlex"
)

// A conversation resends its history with every turn: a chat body's
// messages are the previous turn's messages and a few more. A Virtual
// keeps the messages of the chat bodies AdmitEditable parses (histories)
// and a later body whose messages array starts with exactly the bytes of
// one of them takes those messages' segments as they were parsed, and
// splits, validates and counts only the messages after them. The bytes are
// compared, not hashed, so the segments are those the body's own parse
// gives.

// history is the messages array of a parsed chat body, up to the end of
// its last message, and each message's extent and segment.
type history struct {
	msgs       []byte
	starts     []int32
	ends       []int32
	segs       []parsedSeg
	firstBytes int // the length of the bytes up to the end of the second message (the key)
}

// histories holds the histories of a Virtual's editable parses, by the hash
// of their first two messages (the system prompt and the first user
// message, which tell conversations apart): the latest of each.
type histories struct {
	m     map[uint64]*history
	bytes int
	// matched counts the arrays that started with a history.
	matched int
}

// maxHistoryBytes bounds the message bytes histories keeps; a full store
// is emptied.
const maxHistoryBytes = 64 << 20

func newHistories() *histories { return &histories{m: map[uint64]*history{}} }

// historyKey returns the key of the messages array at b[i] ('['): the hash
// of its bytes up to the end of its second message, and that length; ok
// is false when the array has fewer than two messages or does not split.
func historyKey(b []byte, i int) (key uint64, n int, ok bool) {
	j := jsonlex.SkipSpace(b, i+1)
	for k := 0; k < 2; k++ {
		e := skipValid(b, j)
		if e <= j {
			return 0, 0, false
		}
		if k == 1 {
			return hashBytes(0, b[i:e]), e - i, true
		}
		j = jsonlex.SkipSpace(b, e)
		if j >= len(b) || b[j] != ',' {
			return 0, 0, false
		}
		j = jsonlex.SkipSpace(b, j+1)
	}
	return 0, 0, false
}

// match returns the history whose bytes the messages array at b[i] starts
// with, and the array's key; h is nil when there is none.
func (hs *histories) match(b []byte, i int) (h *history, key uint64, ok bool) {
	key, n, ok := historyKey(b, i)
	if !ok {
		return nil, 0, false
	}
	h = hs.m[key]
	if h == nil || h.firstBytes != n || len(b)-i <= len(h.msgs) || !bytes.Equal(b[i:i+len(h.msgs)], h.msgs) {
		return nil, key, true
	}
	hs.matched++
	return h, key, true
}

// add keeps the messages elems of the array at b[i] and their segments.
// prev, when set, is the history the array started with: the new one
// extends its arrays in place (beyond their lengths, which prev keeps), so
// a conversation's bytes are copied once, not with every turn.
func (hs *histories) add(key uint64, b []byte, i int, elems [][]byte, segs []parsedSeg, prev *history) {
	if len(elems) < 2 || len(segs) != len(elems) {
		return
	}
	for _, s := range segs {
		if s.tokens == math.MaxInt32 {
			return // the count may have been clipped
		}
	}
	_, n, _ := historyKey(b, i)
	last := elems[len(elems)-1]
	end := bytesOffset(b, last) + len(last) - i
	h := &history{segs: segs, firstBytes: n}
	from := 0
	if prev != nil && hs.m[key] == prev {
		h.msgs, h.starts, h.ends = prev.msgs, prev.starts, prev.ends
		from = len(prev.starts)
	}
	if tail := b[i+len(h.msgs) : i+end]; cap(h.msgs)-len(h.msgs) < len(tail) {
		// Double: a conversation grows by a little every turn.
		h.msgs = append(make([]byte, 0, 2*(len(h.msgs)+len(tail))), h.msgs...)
	}
	h.msgs = append(h.msgs, b[i+len(h.msgs):i+end]...)
	for _, e := range elems[from:] {
		s := bytesOffset(b, e) - i
		h.starts = append(h.starts, int32(s))
		h.ends = append(h.ends, int32(s+len(e)))
	}
	if old := hs.m[key]; old != nil {
		hs.bytes -= len(old.msgs)
	}
	if hs.bytes+len(h.msgs) > maxHistoryBytes {
		clear(hs.m)
		hs.bytes = 0
	}
	hs.m[key] = h
	hs.bytes += len(h.msgs)
}

// bytesOffset returns the offset in b of e, a subslice of b.
func bytesOffset(b, e []byte) int {
	return cap(b) - cap(e)
}
