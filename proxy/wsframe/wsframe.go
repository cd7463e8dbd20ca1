package wsframe

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Opcodes (RFC 6455 §5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// DefaultMaxMessage bounds a message, compressed or not, when
// Reader.MaxMessage is 0: 64 MiB.
const DefaultMaxMessage = 64 << 20

// windowSize is the largest LZ77 window of permessage-deflate (2^15).
const windowSize = 32 << 10

// Message is one complete data message.
type Message struct {
	// Text is true for a text message, false for a binary one.
	Text bool
	// Data is the payload, unmasked and decompressed. It is the caller's.
	Data []byte
}

// ErrMalformed is wrapped by the errors Feed returns for bytes that are not
// a valid WebSocket stream.
var ErrMalformed = errors.New("not a valid WebSocket stream")

// Reader reassembles the messages of one direction of a connection. The
// zero value reads uncompressed frames; set Deflate when permessage-deflate
// was negotiated (Sec-WebSocket-Extensions). A Reader is not safe for
// concurrent use.
type Reader struct {
	// Deflate is true when permessage-deflate was negotiated: frames with
	// RSV1 set start compressed messages.
	Deflate bool
	// MaxMessage bounds a message's size in bytes, before and after
	// decompression; 0 means DefaultMaxMessage.
	MaxMessage int

	buf        []byte // bytes not yet parsed into a whole frame
	msg        []byte // the message being assembled
	inMsg      bool
	text       bool
	compressed bool
	dict       []byte // the last windowSize bytes of decompressed output
	fr         io.ReadCloser
	closed     bool
	err        error
}

// Closed reports whether a close frame was read.
func (r *Reader) Closed() bool { return r.closed }

// Err returns the error that stopped the Reader, or nil.
func (r *Reader) Err() error { return r.err }

func (r *Reader) max() int {
	if r.MaxMessage > 0 {
		return r.MaxMessage
	}
	return DefaultMaxMessage
}

func (r *Reader) fail(format string, args ...any) error {
	r.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	r.buf, r.msg = nil, nil
	return r.err
}

// Feed parses p, the next bytes of the stream, and calls fn for each
// message it completes. It returns the error that stopped the Reader (then
// and ever after), or nil.
func (r *Reader) Feed(p []byte, fn func(Message)) error {
	if r.err != nil {
		return r.err
	}
	r.buf = append(r.buf, p...)
	off := 0
	for {
		n, err := r.frame(r.buf[off:], fn)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		off += n
	}
	// Keep the unparsed tail at the front of the buffer.
	rest := copy(r.buf, r.buf[off:])
	r.buf = r.buf[:rest]
	if cap(r.buf) > 1<<20 && rest < cap(r.buf)/4 {
		r.buf = append([]byte(nil), r.buf...)
	}
	return nil
}

// frame parses one frame at the start of b. It returns the bytes used, or
// 0 when b does not hold a whole frame yet.
func (r *Reader) frame(b []byte, fn func(Message)) (int, error) {
	if len(b) < 2 {
		return 0, nil
	}
	fin := b[0]&0x80 != 0
	rsv1 := b[0]&0x40 != 0
	op := b[0] & 0x0F
	if b[0]&0x30 != 0 {
		return 0, r.fail("reserved bits RSV2/RSV3 set")
	}
	masked := b[1]&0x80 != 0
	size := uint64(b[1] & 0x7F)
	h := 2
	switch size {
	case 126:
		if len(b) < 4 {
			return 0, nil
		}
		size = uint64(binary.BigEndian.Uint16(b[2:4]))
		h = 4
	case 127:
		if len(b) < 10 {
			return 0, nil
		}
		size = binary.BigEndian.Uint64(b[2:10])
		if size>>63 != 0 {
			return 0, r.fail("payload length with the top bit set")
		}
		h = 10
	}
	var key [4]byte
	if masked {
		if len(b) < h+4 {
			return 0, nil
		}
		copy(key[:], b[h:h+4])
		h += 4
	}
	control := op&0x8 != 0
	switch {
	case control && (!fin || size > 125):
		return 0, r.fail("control frame fragmented or longer than 125 bytes")
	case control && rsv1:
		return 0, r.fail("control frame with RSV1 set")
	case rsv1 && (!r.Deflate || op == opContinuation):
		return 0, r.fail("RSV1 set without permessage-deflate or on a continuation frame")
	case op != opContinuation && op != opText && op != opBinary && op != opClose && op != opPing && op != opPong:
		return 0, r.fail("reserved opcode %#x", op)
	case op == opContinuation && !r.inMsg:
		return 0, r.fail("continuation frame outside a message")
	case (op == opText || op == opBinary) && r.inMsg:
		return 0, r.fail("new message inside a fragmented one")
	case !control && size > uint64(r.max()-len(r.msg)):
		return 0, r.fail("message longer than %d bytes", r.max())
	}
	if uint64(len(b)-h) < size {
		return 0, nil
	}
	end := h + int(size)
	payload := b[h:end]
	if control {
		if op == opClose {
			r.closed = true
		}
		return end, nil
	}
	if op != opContinuation {
		r.inMsg, r.text, r.compressed = true, op == opText, rsv1
		r.msg = r.msg[:0]
	}
	start := len(r.msg)
	r.msg = append(r.msg, payload...)
	if masked {
		for i := range r.msg[start:] {
			r.msg[start+i] ^= key[i&3]
		}
	}
	if !fin {
		return end, nil
	}
	r.inMsg = false
	data := append([]byte(nil), r.msg...)
	if r.compressed {
		var err error
		if data, err = r.inflate(data); err != nil {
			return 0, r.fail("permessage-deflate: %v", err)
		}
	}
	r.msg = r.msg[:0]
	fn(Message{Text: r.text, Data: data})
	return end, nil
}

// inflate decompresses one permessage-deflate message. The sender's
// window may reach into earlier messages (context takeover), so the last
// 32 KiB of output are the dictionary of the next message; without context
// takeover nothing refers to them, so keeping them is harmless.
func (r *Reader) inflate(data []byte) ([]byte, error) {
	in := io.MultiReader(bytes.NewReader(data), bytes.NewReader([]byte{0x00, 0x00, 0xff, 0xff}))
	if r.fr == nil {
		r.fr = flate.NewReaderDict(in, r.dict)
	} else if err := r.fr.(flate.Resetter).Reset(in, r.dict); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	limit := int64(r.max())
	n, err := io.Copy(&out, io.LimitReader(r.fr, limit+1))
	if n > limit {
		return nil, fmt.Errorf("message inflates past %d bytes", limit)
	}
	// The tail 00 00 ff ff ends a sync flush, not the stream: running out
	// of input there is the message's end.
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, err
	}
	if out.Len() >= windowSize {
		r.dict = append(r.dict[:0], out.Bytes()[out.Len()-windowSize:]...)
	} else {
		r.dict = append(r.dict, out.Bytes()...)
		if len(r.dict) > windowSize {
			r.dict = append(r.dict[:0], r.dict[len(r.dict)-windowSize:]...)
		}
	}
	return out.Bytes(), nil
}
