package schemas

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/parquet-go/parquet-go"
)

// ResultColumns holds a window of result rows column by column, as
// ScanRowGroup decodes them: scalars copied into reused slices, strings as
// ids into per-scan tables, and each row's chunk list reduced to its count,
// first and last offset. The slices have length N.
type ResultColumns struct {
	N int
	// RunID, Phase, SessionID and Error are ids into RunIDs, Phases,
	// SessionIDs and Errors, which hold the distinct values seen so far in
	// this row group.
	RunID, Phase, SessionID, Error     []int32
	RunIDs, Phases, SessionIDs, Errors []string
	// The integer columns of Result, by their field names.
	Shard, Level, Users, User, Turn                                      []int32
	InputTokens, CachedTokens, OutputTokens, ExpectedInputTokens, Status []int32
	ExpectedOutputTokens                                                 []int32
	ScheduledNS, SentNS, FirstTokenNS, EndNS                             []int64
	// Chunks, FirstChunk and LastChunk are the length, first and last
	// element of ChunkOffsetsUS (0 when empty).
	Chunks, FirstChunk, LastChunk []int32
}

func (b *ResultColumns) resize(n int) {
	r32 := func(s []int32) []int32 {
		if cap(s) < n {
			return make([]int32, n)
		}
		return s[:n]
	}
	r64 := func(s []int64) []int64 {
		if cap(s) < n {
			return make([]int64, n)
		}
		return s[:n]
	}
	b.N = n
	b.RunID, b.Phase, b.SessionID, b.Error = r32(b.RunID), r32(b.Phase), r32(b.SessionID), r32(b.Error)
	b.Shard, b.Level, b.Users, b.User, b.Turn = r32(b.Shard), r32(b.Level), r32(b.Users), r32(b.User), r32(b.Turn)
	b.InputTokens, b.CachedTokens, b.OutputTokens = r32(b.InputTokens), r32(b.CachedTokens), r32(b.OutputTokens)
	b.ExpectedInputTokens, b.Status = r32(b.ExpectedInputTokens), r32(b.Status)
	b.ExpectedOutputTokens = r32(b.ExpectedOutputTokens)
	b.ScheduledNS, b.SentNS, b.FirstTokenNS, b.EndNS = r64(b.ScheduledNS), r64(b.SentNS), r64(b.FirstTokenNS), r64(b.EndNS)
	b.Chunks, b.FirstChunk, b.LastChunk = r32(b.Chunks), r32(b.FirstChunk), r32(b.LastChunk)
}

// ResultScan says what ScanRowGroup calls for each window of rows.
type ResultScan struct {
	// Window is the rows decoded at a time (0 means 16384): memory per
	// scan is this many rows of scalar columns plus one page per column,
	// whatever the row-group size.
	Window int
	// Scalars, when set, is called once a window's scalar columns are
	// decoded, before its chunk lists.
	Scalars func(b *ResultColumns)
	// Chunks, when set, receives each row's chunk offsets (µs) as they are
	// decoded, in one or more runs: row is the row's index in the window;
	// offs aliases page memory, valid during the call; when cont is set the
	// run continues the row's earlier one, whose last offset was prev.
	Chunks func(row int, offs []int32, prev int32, cont bool)
	// Rows is called when the window is complete.
	Rows func(b *ResultColumns) error
}

// NumRowGroups returns the number of row groups (replay writes one or
// more per level).
func (r *ResultsFile) NumRowGroups() int { return len(r.pf.RowGroups()) }

// ChunkOffsets returns how many chunk offsets the file holds, from its
// footer (no data is read).
func (r *ResultsFile) ChunkOffsets() int64 {
	leaf, ok := r.pf.Schema().Lookup("chunk_offsets_us", "list", "element")
	if !ok {
		return 0
	}
	var n int64
	for _, rg := range r.pf.RowGroups() {
		n += rg.ColumnChunks()[leaf.ColumnIndex].NumValues()
	}
	return n
}

// scanReadBuffer is the read-ahead per column reader of a results file
// opened for scanning. parquet-go's default (4 KiB) costs a system call
// per 4 KiB of chunk lists.
const scanReadBuffer = 256 << 10

// ScanRowGroup decodes row group g (0 ≤ g < NumRowGroups) column by column,
// window by window, into b (reused: its slices grow to the window) and
// calls s's functions. Different row groups may be scanned concurrently
// with different b. Corrupt data is an error wrapping ErrFormat that names
// the file.
func (r *ResultsFile) ScanRowGroup(ctx context.Context, g int, b *ResultColumns, s ResultScan) (err error) {
	path := r.Path
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%s: %w: corrupt data: %v", path, ErrFormat, p)
		}
	}()
	window := s.Window
	if window <= 0 {
		window = 16384
	}
	rg := r.pf.RowGroups()[g]
	schema := r.pf.Schema()
	chunks := rg.ColumnChunks()
	var cursors []*cursor
	open := func(name string) *cursor {
		if err != nil {
			return nil
		}
		leaf, ok := schema.Lookup(name)
		if !ok {
			err = fmt.Errorf("%s: %w: missing column %q", path, ErrFormat, name)
			return nil
		}
		cur := &cursor{name: name, pages: chunks[leaf.ColumnIndex].Pages()}
		cursors = append(cursors, cur)
		return cur
	}
	runID, phase, session, errCol := open("run_id"), open("phase"), open("session_id"), open("error")
	ints := []struct {
		c   *cursor
		dst *[]int32
	}{
		{open("shard"), &b.Shard}, {open("level"), &b.Level}, {open("users"), &b.Users}, {open("user"), &b.User},
		{open("turn"), &b.Turn}, {open("input_tokens"), &b.InputTokens}, {open("cached_tokens"), &b.CachedTokens},
		{open("output_tokens"), &b.OutputTokens}, {open("expected_input_tokens"), &b.ExpectedInputTokens}, {open("status"), &b.Status},
		{open("expected_output_tokens"), &b.ExpectedOutputTokens},
	}
	longs := []struct {
		c   *cursor
		dst *[]int64
	}{{open("scheduled_ns"), &b.ScheduledNS}, {open("sent_ns"), &b.SentNS}, {open("first_token_ns"), &b.FirstTokenNS}, {open("end_ns"), &b.EndNS}}
	strs := []struct {
		c   *cursor
		dst *[]int32
	}{{runID, &b.RunID}, {phase, &b.Phase}, {session, &b.SessionID}, {errCol, &b.Error}}
	var chunkCur *listCursor
	if err == nil {
		if leaf, ok := schema.Lookup("chunk_offsets_us", "list", "element"); ok {
			chunkCur = &listCursor{pages: chunks[leaf.ColumnIndex].Pages(), maxDef: byte(leaf.MaxDefinitionLevel), row: -1}
		} else {
			err = fmt.Errorf("%s: %w: column %q is not a list of int32", path, ErrFormat, "chunk_offsets_us")
		}
	}
	defer func() {
		for _, cur := range cursors {
			cur.close()
		}
		if chunkCur != nil {
			chunkCur.close()
		}
	}()
	if err != nil {
		return err
	}
	total := rg.NumRows()
	for done := int64(0); done < total; {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := int(min(total-done, int64(window)))
		b.resize(n)
		for _, c := range strs {
			if err := c.c.strIDs(*c.dst); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
		}
		for _, c := range ints {
			if err := c.c.int32s(*c.dst); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
		}
		for _, c := range longs {
			if err := c.c.int64s(*c.dst); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
		}
		b.RunIDs, b.Phases, b.SessionIDs, b.Errors = runID.table, phase.table, session.table, errCol.table
		if s.Scalars != nil {
			s.Scalars(b)
		}
		if err := chunkCur.rows(n, b, s.Chunks); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if s.Rows != nil {
			if err := s.Rows(b); err != nil {
				return err
			}
		}
		done += int64(n)
	}
	return nil
}

// cursor reads one required scalar column page by page. Integers are
// copied once, from the decoded page into the caller's slice; strings are
// turned into ids of a per-cursor table of distinct values, so rows carry
// no string headers.
type cursor struct {
	name  string
	pages parquet.Pages
	page  parquet.Page
	pos   int // next value within page
	kind  parquet.Kind
	// values of the current page: i32 and i64 may alias page memory
	i32 []int32
	i64 []int64
	ids []int32
	// own buffers for decoded dictionary pages
	buf32 []int32
	buf64 []int64
	// table holds the distinct strings seen; index finds their ids
	table []string
	index map[string]int32
	// dictionary of the current column chunk, decoded once
	dict    parquet.Dictionary
	dictIDs []int32
	dictI32 []int32
	dictI64 []int64
}

func (c *cursor) close() {
	if c.page != nil {
		parquet.Release(c.page)
		c.page = nil
	}
	c.pages.Close()
}

func (c *cursor) intern(b []byte) int32 {
	if id, ok := c.index[string(b)]; ok {
		return id
	}
	if c.index == nil {
		c.index = map[string]int32{}
	}
	s := string(b)
	id := int32(len(c.table))
	c.table = append(c.table, s)
	c.index[s] = id
	return id
}

// load makes sure a page with unread values is current.
func (c *cursor) load() error {
	for c.page == nil || c.pos >= c.remaining() {
		if c.page != nil {
			parquet.Release(c.page)
			c.page = nil
		}
		p, err := c.pages.ReadPage()
		if err == io.EOF {
			return fmt.Errorf("%w: column %q ends before the row group", ErrFormat, c.name)
		}
		if err != nil {
			return fmt.Errorf("%w: column %q: %v", ErrFormat, c.name, err)
		}
		if p.NumNulls() > 0 {
			parquet.Release(p)
			return fmt.Errorf("%w: column %q has nulls", ErrFormat, c.name)
		}
		c.page, c.pos = p, 0
		if err := c.decode(); err != nil {
			return err
		}
	}
	return nil
}

func (c *cursor) remaining() int {
	switch c.kind {
	case parquet.Int32:
		return len(c.i32)
	case parquet.Int64:
		return len(c.i64)
	default:
		return len(c.ids)
	}
}

// decode makes the current page's values available in i32, i64 or ids.
func (c *cursor) decode() error {
	p := c.page
	c.kind = p.Type().Kind()
	data := p.Data()
	switch c.kind {
	case parquet.Int32, parquet.Int64, parquet.ByteArray:
	default:
		return fmt.Errorf("%w: column %q has unexpected type %v", ErrFormat, c.name, c.kind)
	}
	d := p.Dictionary()
	if d == nil {
		switch c.kind {
		case parquet.ByteArray:
			b, off := data.ByteArray()
			c.ids = slices.Grow(c.ids[:0], len(off))
			for i := 0; i+1 < len(off); i++ {
				c.ids = append(c.ids, c.intern(b[off[i]:off[i+1]]))
			}
		case parquet.Int32:
			c.i32 = data.Int32()
		case parquet.Int64:
			c.i64 = data.Int64()
		}
		return nil
	}
	if d != c.dict {
		c.dict = d
		dd := d.Page().Data()
		switch c.kind {
		case parquet.ByteArray:
			b, off := dd.ByteArray()
			c.dictIDs = c.dictIDs[:0]
			for i := 0; i+1 < len(off); i++ {
				c.dictIDs = append(c.dictIDs, c.intern(b[off[i]:off[i+1]]))
			}
		case parquet.Int32:
			c.dictI32 = append(c.dictI32[:0], dd.Int32()...)
		case parquet.Int64:
			c.dictI64 = append(c.dictI64[:0], dd.Int64()...)
		}
	}
	idx := data.Int32()
	switch c.kind {
	case parquet.ByteArray:
		c.ids = slices.Grow(c.ids[:0], len(idx))
		for _, j := range idx {
			c.ids = append(c.ids, c.dictIDs[j])
		}
	case parquet.Int32:
		c.buf32 = slices.Grow(c.buf32[:0], len(idx))
		for _, j := range idx {
			c.buf32 = append(c.buf32, c.dictI32[j])
		}
		c.i32 = c.buf32
	case parquet.Int64:
		c.buf64 = slices.Grow(c.buf64[:0], len(idx))
		for _, j := range idx {
			c.buf64 = append(c.buf64, c.dictI64[j])
		}
		c.i64 = c.buf64
	}
	return nil
}

func (c *cursor) int32s(dst []int32) error {
	for len(dst) > 0 {
		if err := c.load(); err != nil {
			return err
		}
		if c.kind != parquet.Int32 {
			return fmt.Errorf("%w: column %q is not int32", ErrFormat, c.name)
		}
		k := copy(dst, c.i32[c.pos:])
		c.pos += k
		dst = dst[k:]
	}
	return nil
}

func (c *cursor) int64s(dst []int64) error {
	for len(dst) > 0 {
		if err := c.load(); err != nil {
			return err
		}
		if c.kind != parquet.Int64 {
			return fmt.Errorf("%w: column %q is not int64", ErrFormat, c.name)
		}
		k := copy(dst, c.i64[c.pos:])
		c.pos += k
		dst = dst[k:]
	}
	return nil
}

// strIDs fills dst with string ids (see table).
func (c *cursor) strIDs(dst []int32) error {
	for len(dst) > 0 {
		if err := c.load(); err != nil {
			return err
		}
		if c.kind != parquet.ByteArray {
			return fmt.Errorf("%w: column %q is not a string", ErrFormat, c.name)
		}
		k := copy(dst, c.ids[c.pos:])
		c.pos += k
		dst = dst[k:]
	}
	return nil
}

// listCursor reads chunk_offsets_us: repetition level 0 starts a row, and
// a definition level below the maximum marks an empty list.
type listCursor struct {
	pages  parquet.Pages
	page   parquet.Page
	maxDef byte
	rep    []byte
	def    []byte
	vals   []int32
	li, vi int // next level, next value within the page
	// row is the index (within the window) of the row being read, -1
	// before the first.
	row int
	// the current row's chunks so far: count, first and previous offset
	cnt, first, prev int32
	eof              bool
	// dense is true when every level of the page carries a value
	dense bool
}

func (c *listCursor) close() {
	if c.page != nil {
		parquet.Release(c.page)
		c.page = nil
	}
	c.pages.Close()
}

// finish stores the current row's count, first and last offsets.
func (c *listCursor) finish(b *ResultColumns) {
	if c.row >= 0 {
		b.Chunks[c.row], b.FirstChunk[c.row], b.LastChunk[c.row] = c.cnt, c.first, c.prev
	}
}

// rows reads the chunk lists of the window's n rows into b.Chunks,
// b.FirstChunk and b.LastChunk, handing each row's offsets to fn (when
// set) as they are decoded.
func (c *listCursor) rows(n int, b *ResultColumns, fn func(row int, offs []int32, prev int32, cont bool)) error {
	c.row = -1
	for {
		if c.page == nil || c.li >= len(c.rep) {
			if c.page != nil {
				parquet.Release(c.page)
				c.page = nil
			}
			if c.eof {
				break
			}
			p, err := c.pages.ReadPage()
			if err == io.EOF {
				c.eof = true
				break
			}
			if err != nil {
				return fmt.Errorf("%w: column chunk_offsets_us: %v", ErrFormat, err)
			}
			c.page = p
			c.rep, c.def = p.RepetitionLevels(), p.DefinitionLevels()
			d := p.Data()
			c.vals = d.Int32()
			c.li, c.vi = 0, 0
			c.dense = len(c.vals) == len(c.def) // no empty lists on this page
			if len(c.rep) != len(c.def) {
				return fmt.Errorf("%w: column chunk_offsets_us: %d repetition but %d definition levels", ErrFormat, len(c.rep), len(c.def))
			}
		}
		rep, def, vals := c.rep, c.def, c.vals
		for c.li < len(rep) {
			li := c.li
			if rep[li] == 0 {
				c.finish(b)
				if c.row+1 == n { // the next window's first row: stop here
					return nil
				}
				c.row++
				c.cnt, c.first, c.prev = 0, 0, 0
			} else if c.row < 0 {
				return fmt.Errorf("%w: column chunk_offsets_us: a page starts inside a row", ErrFormat)
			}
			// the row's levels in this page run to the next rep 0; its
			// values are contiguous
			end := len(rep)
			if j := bytes.IndexByte(rep[li+1:], 0); j >= 0 {
				end = li + 1 + j
			}
			k := end - li
			if !c.dense {
				k = 0
				for _, d := range def[li:end] {
					if d == c.maxDef {
						k++
					}
				}
			}
			if c.vi+k > len(vals) {
				return fmt.Errorf("%w: column chunk_offsets_us: fewer values than levels", ErrFormat)
			}
			if k > 0 {
				vs := vals[c.vi : c.vi+k]
				if fn != nil {
					fn(c.row, vs, c.prev, c.cnt > 0) // cnt > 0: the row began on an earlier page
				}
				if c.cnt == 0 {
					c.first = vs[0]
				}
				c.prev = vs[k-1]
				c.cnt += int32(k)
				c.vi += k
			}
			c.li = end
		}
	}
	c.finish(b)
	if c.row != n-1 {
		return fmt.Errorf("%w: column chunk_offsets_us has %d rows where %d were expected", ErrFormat, c.row+1, n)
	}
	return nil
}
