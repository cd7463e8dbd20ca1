package wsframe

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// frame encodes one frame; a non-nil key masks it.
func frame(fin, rsv1 bool, op byte, key []byte, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	if rsv1 {
		b0 |= 0x40
	}
	out := []byte{b0}
	m := byte(0)
	if key != nil {
		m = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		out = append(out, m|byte(n))
	case n < 1<<16:
		out = append(out, m|126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, m|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	if key == nil {
		return append(out, payload...)
	}
	out = append(out, key...)
	for i, c := range payload {
		out = append(out, c^key[i&3])
	}
	return out
}

// deflater compresses messages as permessage-deflate with context
// takeover: one stream, a sync flush per message, the 00 00 ff ff tail cut.
type deflater struct {
	buf bytes.Buffer
	w   *flate.Writer
}

func (d *deflater) message(p []byte) []byte {
	if d.w == nil {
		d.w, _ = flate.NewWriter(&d.buf, flate.BestSpeed)
	}
	d.buf.Reset()
	d.w.Write(p)
	d.w.Flush()
	return bytes.TrimSuffix(bytes.Clone(d.buf.Bytes()), []byte{0, 0, 0xff, 0xff})
}

func collect(t *testing.T, r *Reader, pieces ...[]byte) ([]Message, error) {
	t.Helper()
	var got []Message
	var err error
	for _, p := range pieces {
		if err = r.Feed(p, func(m Message) { got = append(got, m) }); err != nil {
			break
		}
	}
	return got, err
}

func TestReader(t *testing.T) {
	key := []byte{1, 2, 3, 4}
	big := []byte(strings.Repeat(`{"type":"response.output_text.delta","delta":"tok"}`, 3000))
	var d deflater
	create := []byte(`{"type":"response.create","model":"gpt-5","input":[{"role":"user","content":"hello hello hello"}]}`)
	c1 := d.message(create)
	c2 := d.message(create) // refers back into the first message
	tests := []struct {
		name    string
		deflate bool
		stream  []byte
		want    []string
		closed  bool
		err     bool
	}{
		{"masked text", false, frame(true, false, opText, key, []byte("hi")), []string{"hi"}, false, false},
		{"unmasked, 16-bit length", false, frame(true, false, opText, nil, big[:300]), []string{string(big[:300])}, false, false},
		{"64-bit length", false, frame(true, false, opBinary, nil, big), []string{string(big)}, false, false},
		{"fragments with a ping between", false, append(append(frame(false, false, opText, key, []byte("he")),
			frame(true, false, opPing, key, []byte("p"))...), frame(true, false, opContinuation, key, []byte("llo"))...), []string{"hello"}, false, false},
		{"close", false, frame(true, false, opClose, nil, []byte{3, 232}), nil, true, false},
		{"deflate with context takeover", true, append(frame(true, true, opText, key, c1), frame(true, true, opText, key, c2)...),
			[]string{string(create), string(create)}, false, false},
		{"deflate fragmented", true, append(frame(false, true, opText, nil, c1[:len(c1)/2]), frame(true, false, opContinuation, nil, c1[len(c1)/2:])...),
			[]string{string(create)}, false, false},
		{"RSV1 without deflate", false, frame(true, true, opText, nil, c1), nil, false, true},
		{"RSV1 on a continuation", true, append(frame(false, false, opText, nil, []byte("a")), frame(true, true, opContinuation, nil, []byte("b"))...), nil, false, true},
		{"reserved opcode", false, frame(true, false, 0x3, nil, []byte("x")), nil, false, true},
		{"continuation alone", false, frame(true, false, opContinuation, nil, []byte("x")), nil, false, true},
		{"long control frame", false, frame(true, false, opPing, nil, big[:126]), nil, false, true},
		{"RSV2", false, []byte{0xA1, 0x00}, nil, false, true},
		{"bad deflate data", true, frame(true, true, opText, nil, []byte{0xff, 0xff, 0xff}), nil, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Whole, and one byte at a time: the same messages.
			for _, split := range []bool{false, true} {
				r := &Reader{Deflate: tt.deflate}
				pieces := [][]byte{tt.stream}
				if split {
					pieces = nil
					for i := range tt.stream {
						pieces = append(pieces, tt.stream[i:i+1])
					}
				}
				got, err := collect(t, r, pieces...)
				if (err != nil) != tt.err || (err != nil && !errors.Is(err, ErrMalformed)) {
					t.Fatalf("split %v: error %v, want error %v", split, err, tt.err)
				}
				if tt.err {
					return
				}
				if len(got) != len(tt.want) {
					t.Fatalf("split %v: %d messages, want %d", split, len(got), len(tt.want))
				}
				for i := range got {
					if string(got[i].Data) != tt.want[i] {
						t.Errorf("split %v: message %d = %.60q, want %.60q", split, i, got[i].Data, tt.want[i])
					}
				}
				if r.Closed() != tt.closed {
					t.Errorf("closed %v, want %v", r.Closed(), tt.closed)
				}
			}
		})
	}
	// The size bound holds before and after decompression.
	r := &Reader{MaxMessage: 100}
	if _, err := collect(t, r, frame(true, false, opText, nil, big[:101])); err == nil {
		t.Error("a message past MaxMessage was accepted")
	}
	var d2 deflater
	r = &Reader{MaxMessage: 1000, Deflate: true}
	if _, err := collect(t, r, frame(true, true, opText, nil, d2.message(big))); err == nil {
		t.Error("a message inflating past MaxMessage was accepted")
	}
}

// FuzzReader feeds arbitrary bytes, whole and cut at a point, with and
// without deflate: never a panic, and the same messages and verdict
// either way.
func FuzzReader(f *testing.F) {
	var d deflater
	key := []byte{9, 8, 7, 6}
	f.Add(frame(true, false, opText, key, []byte(`{"type":"response.create"}`)), uint16(3), false)
	f.Add(append(frame(false, false, opText, nil, []byte("ab")), frame(true, false, opContinuation, nil, []byte("cd"))...), uint16(5), false)
	f.Add(frame(true, true, opText, key, d.message([]byte("compressed message"))), uint16(7), true)
	f.Add(frame(true, false, opBinary, nil, bytes.Repeat([]byte{7}, 70000)), uint16(2), false)
	f.Fuzz(func(t *testing.T, stream []byte, at uint16, deflate bool) {
		cut := int(at) % (len(stream) + 1)
		run := func(pieces ...[]byte) ([]string, bool) {
			r := &Reader{Deflate: deflate, MaxMessage: 1 << 20}
			var msgs []string
			var err error
			for _, p := range pieces {
				if err = r.Feed(p, func(m Message) { msgs = append(msgs, string(m.Data)) }); err != nil {
					break
				}
			}
			return msgs, err != nil
		}
		m1, e1 := run(stream)
		m2, e2 := run(stream[:cut], stream[cut:])
		if e1 != e2 || len(m1) != len(m2) {
			t.Fatalf("whole: %d messages, error %v; cut at %d: %d messages, error %v", len(m1), e1, cut, len(m2), e2)
		}
		for i := range m1 {
			if m1[i] != m2[i] {
				t.Fatalf("message %d differs when cut at %d", i, cut)
			}
		}
	})
}
