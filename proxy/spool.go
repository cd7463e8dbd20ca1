package proxy

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/agentperf/agentperf/schemas"
)

// The spool is a write-ahead log of finished turns, one file ("segment")
// per trace-set period, in the spool directory. A segment starts with
// spoolMagic; each record is
//
//	u32 length of payload (little endian)
//	u32 CRC-32C of payload
//	payload: u32 len + meta JSON, u32 len + request body,
//	         u32 count, then per response item u32 len + bytes
//
// A record counts once it is written and the file fsynced. A torn or
// corrupt tail (a crash mid-write) is cut off at the last good record when
// the segment is reopened.
const (
	spoolMagic   = "AGENTPERF-SPOOL 1\n"
	segmentExt   = ".wal"
	maxRecordLen = 1 << 30
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// spoolTurn is one spooled turn: a schemas.Turn plus what session grouping
// needs to continue after a restart.
type spoolTurn struct {
	Session    string        `json:"session"`
	Parent     string        `json:"parent,omitempty"`
	Agent      string        `json:"agent,omitempty"`
	Group      string        `json:"group,omitempty"`
	API        string        `json:"api"`
	StartNS    int64         `json:"start_ns"`
	FirstByte  int64         `json:"first_byte_ns,omitempty"`
	FirstToken int64         `json:"first_token_ns,omitempty"`
	EndNS      int64         `json:"end_ns"`
	ThinkNS    int64         `json:"think_ns"`
	ChunkNS    []int64       `json:"chunk_ns,omitempty"`
	Usage      schemas.Usage `json:"usage"`
	Status     int           `json:"status"`
	Error      string        `json:"error,omitempty"`
	ResponseID string        `json:"response_id,omitempty"`
	// ContextItems and Extras are schemas.Turn's.
	ContextItems int             `json:"context_items,omitempty"`
	Extras       json.RawMessage `json:"extras,omitempty"`
	Body         []byte          `json:"-"`
	Response     [][]byte        `json:"-"`
}

func (t *spoolTurn) turn() *schemas.Turn {
	return &schemas.Turn{SessionID: t.Session, API: t.API, Body: t.Body, Response: t.Response,
		StartNS: t.StartNS, FirstTokenNS: t.FirstToken, EndNS: t.EndNS, ThinkNS: t.ThinkNS,
		FirstByteNS: t.FirstByte, ChunkNS: t.ChunkNS, Usage: t.Usage, Status: t.Status, Error: t.Error,
		ContextItems: t.ContextItems, Extras: t.Extras}
}

// encodeRecord appends the framed record of t to dst.
func encodeRecord(dst []byte, t *spoolTurn) ([]byte, error) {
	meta, err := json.Marshal(t)
	if err != nil {
		return dst, err
	}
	start := len(dst)
	dst = append(dst, make([]byte, 8)...)
	put := func(b []byte) {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(b)))
		dst = append(dst, b...)
	}
	put(meta)
	put(t.Body)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(t.Response)))
	for _, r := range t.Response {
		put(r)
	}
	payload := dst[start+8:]
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(dst[start+4:], crc32.Checksum(payload, crcTable))
	return dst, nil
}

func decodePayload(p []byte) (*spoolTurn, error) {
	get := func() ([]byte, error) {
		if len(p) < 4 {
			return nil, errors.New("short record")
		}
		n := binary.LittleEndian.Uint32(p)
		if uint64(n) > uint64(len(p)-4) {
			return nil, errors.New("field past record end")
		}
		b := p[4 : 4+n]
		p = p[4+n:]
		return b, nil
	}
	meta, err := get()
	if err != nil {
		return nil, err
	}
	t := &spoolTurn{}
	if err := json.Unmarshal(meta, t); err != nil {
		return nil, err
	}
	if t.Body, err = get(); err != nil {
		return nil, err
	}
	if len(p) < 4 {
		return nil, errors.New("short record")
	}
	n := binary.LittleEndian.Uint32(p)
	p = p[4:]
	if uint64(n) > uint64(len(p)) {
		return nil, errors.New("bad response count")
	}
	for i := uint32(0); i < n; i++ {
		r, err := get()
		if err != nil {
			return nil, err
		}
		t.Response = append(t.Response, r)
	}
	return t, nil
}

// segment is an open spool file being appended to.
type segment struct {
	path  string
	start time.Time
	f     *os.File
	w     *bufio.Writer
	size  int64
	turns int
	// durable and durableTurns are size and turns at the last fsync.
	durable      int64
	durableTurns int
	// fault, when set (tests), fails writes and fsyncs with its error.
	fault func() error
}

// segmentFile is what a segment's buffer writes to: the file, or the
// fault a test asks for.
type segmentFile struct{ s *segment }

func (w segmentFile) Write(p []byte) (int, error) {
	if w.s.fault != nil {
		if err := w.s.fault(); err != nil {
			return 0, err
		}
	}
	return w.s.f.Write(p)
}

// segmentName names a segment started at t; names sort by time.
func segmentName(t time.Time) string {
	return "seg-" + t.UTC().Format("20060102T150405.000000000Z") + segmentExt
}

// segmentStart parses the start time from a segment's file name.
func segmentStart(path string) (time.Time, bool) {
	base := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(path), "seg-"), segmentExt)
	t, err := time.Parse("20060102T150405.000000000Z", base)
	return t, err == nil
}

// createSegment starts a new segment file in dir.
func createSegment(dir string, now time.Time) (*segment, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, segmentName(now))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err := f.WriteString(spoolMagic); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	syncDir(dir)
	seg := &segment{path: path, start: now, f: f, size: int64(len(spoolMagic)), durable: int64(len(spoolMagic))}
	seg.w = bufio.NewWriterSize(segmentFile{seg}, 256<<10)
	return seg, nil
}

// reopenSegment opens an existing segment for appending after its last
// good record, cutting off a torn tail.
func reopenSegment(path string, good int64, turns int) (*segment, error) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	if err := f.Truncate(good); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	start, _ := segmentStart(path)
	seg := &segment{path: path, start: start, f: f, size: good, turns: turns, durable: good, durableTurns: turns}
	seg.w = bufio.NewWriterSize(segmentFile{seg}, 256<<10)
	return seg, nil
}

func (s *segment) write(rec []byte) error {
	_, err := s.w.Write(rec)
	s.size += int64(len(rec))
	return err
}

// sync makes everything written durable.
func (s *segment) sync() error {
	if err := s.w.Flush(); err != nil {
		return err
	}
	if s.fault != nil {
		if err := s.fault(); err != nil {
			return err
		}
	}
	if err := s.f.Sync(); err != nil {
		return err
	}
	s.durable, s.durableTurns = s.size, s.turns
	return nil
}

// rollback discards everything written since the last successful sync —
// buffered bytes and any part of a record that reached the file — so the
// next record follows the last durable one and the segment stays readable
// to its end.
func (s *segment) rollback() error {
	s.w.Reset(segmentFile{s})
	s.size, s.turns = s.durable, s.durableTurns
	if err := s.f.Truncate(s.durable); err != nil {
		return err
	}
	_, err := s.f.Seek(s.durable, io.SeekStart)
	return err
}

func (s *segment) close() error {
	err := s.sync()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// readSegment calls fn for each good record of the segment at path and
// returns the offset just past the last good one. A torn or corrupt tail
// ends the read without an error; torn reports that one was found.
func readSegment(path string, fn func(*spoolTurn) error) (good int64, n int, torn bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, false, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 256<<10)
	magic := make([]byte, len(spoolMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != spoolMagic {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return 0, 0, true, nil // created but never written past the header
		}
		return 0, 0, false, fmt.Errorf("%s: not an agentperf spool segment", path)
	}
	good = int64(len(spoolMagic))
	var hdr [8]byte
	var buf []byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return good, n, err != io.EOF, nil
		}
		size := binary.LittleEndian.Uint32(hdr[:])
		if size > maxRecordLen {
			return good, n, true, nil
		}
		if cap(buf) < int(size) {
			buf = make([]byte, size)
		}
		buf = buf[:size]
		if _, err := io.ReadFull(r, buf); err != nil {
			return good, n, true, nil
		}
		if crc32.Checksum(buf, crcTable) != binary.LittleEndian.Uint32(hdr[4:]) {
			return good, n, true, nil
		}
		t, err := decodePayload(buf)
		if err != nil {
			return good, n, true, nil
		}
		// decodePayload aliases buf; fn gets its own copy.
		t.Body = append([]byte(nil), t.Body...)
		for i := range t.Response {
			t.Response[i] = append([]byte(nil), t.Response[i]...)
		}
		if err := fn(t); err != nil {
			return good, n, false, err
		}
		good += 8 + int64(size)
		n++
	}
}

// listSegments returns the segment files in dir, oldest first.
func listSegments(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() && strings.HasPrefix(e.Name(), "seg-") && strings.HasSuffix(e.Name(), segmentExt) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

// convertSegments writes the turns of the segments, in order, as one trace
// set at out.
func convertSegments(segs []string, out string) (turns int, err error) {
	w, err := schemas.CreateTraceSet(out, schemas.TraceWriterOptions{})
	if err != nil {
		return 0, err
	}
	seen := map[string]bool{}
	for _, seg := range segs {
		_, _, _, err := readSegment(seg, func(t *spoolTurn) error {
			if !seen[t.Session] {
				seen[t.Session] = true
				w.SetSession(schemas.Session{ID: t.Session, Source: schemas.SourceProxy, Agent: t.Agent, Parent: t.Parent})
			}
			if _, err := w.WriteTurn(t.turn()); err != nil {
				return err
			}
			turns++
			return nil
		})
		if err != nil {
			w.Abort()
			return 0, fmt.Errorf("converting spool %s: %w", seg, err)
		}
	}
	if err := w.Close(); err != nil {
		return 0, err
	}
	return turns, nil
}

// syncDir fsyncs a directory so a new file's name is durable.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
