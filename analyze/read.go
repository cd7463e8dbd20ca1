package analyze

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/agentperf/agentperf/schemas"
	"github.com/parquet-go/parquet-go"
)

// windowRows is how many rows are decoded at a time: memory per reader is
// this many rows of scalar columns plus one page per column, whatever the
// row-group size. A variable so tests can shrink it.
var windowRows = 16384

// levelKey identifies a level across files: shards of one run share it.
type levelKey struct {
	run   string
	level int32
}

// levelSet holds one reader's accumulators.
type levelSet struct {
	levels map[levelKey]*LevelAccumulator
	rows   int64
	// fileRuns lists the run ids seen in each file (by index).
	fileRuns map[int][]string
	// last caches the accumulator of the previous row (rows of a level
	// come in long runs).
	lastKey levelKey
	last    *LevelAccumulator
}

func newLevelSet() *levelSet {
	return &levelSet{levels: map[levelKey]*LevelAccumulator{}, fileRuns: map[int][]string{}}
}

func (ls *levelSet) sawRun(file int, run string) {
	if !slices.Contains(ls.fileRuns[file], run) {
		ls.fileRuns[file] = append(ls.fileRuns[file], strings.Clone(run))
	}
}

func (ls *levelSet) get(run string, level int32) *LevelAccumulator {
	if ls.last != nil && ls.lastKey.level == level && ls.lastKey.run == run {
		return ls.last
	}
	k := levelKey{run, level}
	a := ls.levels[k]
	if a == nil {
		k.run = strings.Clone(run)
		a = NewLevelAccumulator(0)
		ls.levels[k] = a
	}
	ls.lastKey, ls.last = k, a
	return a
}

func (ls *levelSet) merge(o *levelSet) {
	ls.rows += o.rows
	for f, runs := range o.fileRuns {
		for _, r := range runs {
			ls.sawRun(f, r)
		}
	}
	for k, a := range o.levels {
		if m := ls.levels[k]; m != nil {
			m.Merge(a)
		} else {
			ls.levels[k] = a
		}
	}
	ls.last = nil
}

// ITLBudget is the number of chunk offsets up to which every request's
// inter-chunk gaps count towards ITL by default; beyond it a deterministic
// sample of requests holding about this many offsets is used (see
// ITLFraction).
const ITLBudget = 50_000_000

// ChunkOffsets returns how many chunk offsets the files hold, from their
// footers (no data is read).
func ChunkOffsets(files []*schemas.ResultsFile) int64 {
	var n int64
	for _, f := range files {
		leaf, ok := f.Parquet().Schema().Lookup(resultColumns.chunks, "list", "element")
		if !ok {
			continue
		}
		for _, rg := range f.Parquet().RowGroups() {
			n += rg.ColumnChunks()[leaf.ColumnIndex].NumValues()
		}
	}
	return n
}

// ITLFraction returns the default fraction of requests whose gaps count
// towards ITL for inputs holding chunks offsets: 1 up to ITLBudget, else
// ITLBudget ÷ chunks.
func ITLFraction(chunks int64) float64 {
	if chunks <= ITLBudget {
		return 1
	}
	return float64(ITLBudget) / float64(chunks)
}

// itlSampled reports whether a request sent at sentNS is in the ITL sample
// of fraction f: a hash (the splitmix64 finalizer) of its send time below
// f·2^64, so the choice is the same whatever the file layout or sharding.
func itlSampled(sentNS int64, threshold uint64) bool {
	if threshold == math.MaxUint64 {
		return true
	}
	z := uint64(sentNS) + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return z < threshold
}

func sampleThreshold(f float64) uint64 {
	if f >= 1 {
		return math.MaxUint64
	}
	return uint64(f * (1 << 63) * 2)
}

// readFiles streams the rows of every results file into per-level
// accumulators, column-wise, with up to workers row groups decoded at once
// (0 = GOMAXPROCS); the gaps of a fraction itl of requests count towards
// ITL.
func readFiles(ctx context.Context, files []*schemas.ResultsFile, workers int, itl float64) (*levelSet, error) {
	type job struct {
		fi int
		rg parquet.RowGroup
	}
	var jobs []job
	pfs := make([]*parquet.File, len(files))
	scales := make([]float64, len(files))
	for fi, f := range files {
		scales[fi] = f.RunMeta().TimeScaleOrOne()
		pfs[fi] = f.Parquet()
		if h, pf, err := reopen(f.Path); err == nil {
			defer h.Close()
			pfs[fi] = pf
		}
		for _, rg := range pfs[fi].RowGroups() {
			jobs = append(jobs, job{fi, rg})
		}
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(min(workers, len(jobs)), 1)
	sets := make([]*levelSet, workers)
	errs := make([]error, workers)
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for w := range workers {
		sets[w] = newLevelSet()
		wg.Add(1)
		go func() {
			defer wg.Done()
			rd := &groupReader{set: sets[w], itl: sampleThreshold(itl)}
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) {
					return
				}
				if err := ctx.Err(); err != nil {
					errs[w] = err
					failed.Store(true)
					return
				}
				rd.file, rd.timeScale = jobs[i].fi, scales[jobs[i].fi]
				if err := rd.read(ctx, files[jobs[i].fi].Path, pfs[jobs[i].fi].Schema(), jobs[i].rg); err != nil {
					errs[w] = err
					failed.Store(true)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	all := sets[0]
	for _, s := range sets[1:] {
		all.merge(s)
	}
	return all, nil
}

// readBufferSize is the read-ahead per column reader. parquet-go's default
// (4 KiB) costs a system call per 4 KiB of chunk lists.
const readBufferSize = 256 << 10

// reopen opens an already checked results file again with read-ahead sized
// for scanning whole columns.
func reopen(path string) (h *os.File, pf *parquet.File, err error) {
	h, err = os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: %v", path, r)
		}
		if err != nil {
			h.Close()
		}
	}()
	st, err := h.Stat()
	if err != nil {
		return nil, nil, err
	}
	pf, err = parquet.OpenFile(h, st.Size(), parquet.ReadBufferSize(readBufferSize), parquet.SkipBloomFilters(true), parquet.SkipPageIndex(true))
	return h, pf, err
}

// resultColumns names the columns the analysis reads.
var resultColumns = struct {
	runID, phase, session, err                                    string
	shard, level, users, user, turn, input, cached, output, expIn string
	status, sched, sent, first, end, chunks                       string
}{
	"run_id", "phase", "session_id", "error",
	"shard", "level", "users", "user", "turn", "input_tokens", "cached_tokens", "output_tokens", "expected_input_tokens",
	"status", "scheduled_ns", "sent_ns", "first_token_ns", "end_ns", "chunk_offsets_us",
}

// groupReader decodes row groups window by window; its buffers are reused.
type groupReader struct {
	set  *levelSet
	file int // index of the file being read
	// timeScale is the file's replay time scale K: its rows hold world time,
	// so sent − scheduled is K × the client's wall-clock lag.
	timeScale float64
	itl       uint64 // ITL sample threshold (see itlSampled)

	runID, phase, session, errs                                       []int32 // ids into the cursors' tables
	shard, level, users, user, turn, input, cached, output, expIn, st []int32
	sched, sent, first, end                                           []int64
	nChunks, firstChunk, lastChunk                                    []int32
	accs                                                              []*LevelAccumulator
	eligible                                                          []bool
}

func (g *groupReader) read(ctx context.Context, path string, schema *parquet.Schema, rg parquet.RowGroup) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: %w: corrupt data: %v", path, schemas.ErrFormat, r)
		}
	}()
	chunks := rg.ColumnChunks()
	col := func(name string) (parquet.Pages, error) {
		leaf, ok := schema.Lookup(name)
		if !ok {
			return nil, fmt.Errorf("%s: %w: missing column %q", path, schemas.ErrFormat, name)
		}
		return chunks[leaf.ColumnIndex].Pages(), nil
	}
	c := resultColumns
	var cursors []*cursor
	open := func(name string) *cursor {
		if err != nil {
			return nil
		}
		p, e := col(name)
		if e != nil {
			err = e
			return nil
		}
		cur := &cursor{name: name, pages: p}
		cursors = append(cursors, cur)
		return cur
	}
	runID, phase, session, errCol := open(c.runID), open(c.phase), open(c.session), open(c.err)
	shard, level, users, user, turn := open(c.shard), open(c.level), open(c.users), open(c.user), open(c.turn)
	input, cached, output, expIn, st := open(c.input), open(c.cached), open(c.output), open(c.expIn), open(c.status)
	sched, sent, first, end := open(c.sched), open(c.sent), open(c.first), open(c.end)
	var chunkCur *listCursor
	if err == nil {
		if leaf, ok := schema.Lookup(c.chunks, "list", "element"); ok {
			chunkCur = &listCursor{pages: chunks[leaf.ColumnIndex].Pages(), maxDef: byte(leaf.MaxDefinitionLevel), row: -1}
		} else {
			err = fmt.Errorf("%s: %w: column %q is not a list of int32", path, schemas.ErrFormat, c.chunks)
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
		n := int(min(total-done, int64(windowRows)))
		g.resize(n)
		for _, s := range []struct {
			c   *cursor
			dst []int32
		}{{runID, g.runID}, {phase, g.phase}, {session, g.session}, {errCol, g.errs}} {
			if err := s.c.strIDs(s.dst); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
		}
		for _, s := range []struct {
			c   *cursor
			dst []int32
		}{{shard, g.shard}, {level, g.level}, {users, g.users}, {user, g.user}, {turn, g.turn},
			{input, g.input}, {cached, g.cached}, {output, g.output}, {expIn, g.expIn}, {st, g.st}} {
			if err := s.c.int32s(s.dst); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
		}
		for _, s := range []struct {
			c   *cursor
			dst []int64
		}{{sched, g.sched}, {sent, g.sent}, {first, g.first}, {end, g.end}} {
			if err := s.c.int64s(s.dst); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
		}
		runs, phases, sessions, errs := runID.table, phase.table, session.table, errCol.table
		for i := range n {
			if i == 0 || g.runID[i] != g.runID[i-1] || g.level[i] != g.level[i-1] {
				g.set.sawRun(g.file, runs[g.runID[i]])
				g.accs[i] = g.set.get(runs[g.runID[i]], g.level[i])
			} else {
				g.accs[i] = g.accs[i-1]
			}
			g.eligible[i] = phases[g.phase[i]] == schemas.PhaseSteady && errs[g.errs[i]] == "" && g.st[i] >= 200 && g.st[i] <= 299 &&
				itlSampled(g.sent[i], g.itl)
		}
		if err := chunkCur.rows(n, g); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		var r row
		for i := range n {
			r = row{
				runID: runs[g.runID[i]], phase: phases[g.phase[i]], session: sessions[g.session[i]], err: errs[g.errs[i]],
				shard: g.shard[i], level: g.level[i], users: g.users[i], user: g.user[i], turn: g.turn[i],
				sched: g.sched[i], sent: g.sent[i], first: g.first[i], end: g.end[i],
				lagScale: g.timeScale,
				input:    g.input[i], cached: g.cached[i], output: g.output[i], expIn: g.expIn[i], status: g.st[i],
				nChunks: g.nChunks[i], firstChunkUS: g.firstChunk[i], lastChunkUS: g.lastChunk[i],
			}
			g.accs[i].addRow(&r)
		}
		g.set.rows += int64(n)
		done += int64(n)
	}
	return nil
}

func (g *groupReader) resize(n int) {
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
	g.runID, g.phase, g.session, g.errs = r32(g.runID), r32(g.phase), r32(g.session), r32(g.errs)
	g.shard, g.level, g.users, g.user, g.turn = r32(g.shard), r32(g.level), r32(g.users), r32(g.user), r32(g.turn)
	g.input, g.cached, g.output, g.expIn, g.st = r32(g.input), r32(g.cached), r32(g.output), r32(g.expIn), r32(g.st)
	g.sched, g.sent, g.first, g.end = r64(g.sched), r64(g.sent), r64(g.first), r64(g.end)
	g.nChunks, g.firstChunk, g.lastChunk = r32(g.nChunks), r32(g.firstChunk), r32(g.lastChunk)
	if cap(g.accs) < n {
		g.accs = make([]*LevelAccumulator, n)
		g.eligible = make([]bool, n)
	}
	g.accs, g.eligible = g.accs[:n], g.eligible[:n]
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
			return fmt.Errorf("%w: column %q ends before the row group", schemas.ErrFormat, c.name)
		}
		if err != nil {
			return fmt.Errorf("%w: column %q: %v", schemas.ErrFormat, c.name, err)
		}
		if p.NumNulls() > 0 {
			parquet.Release(p)
			return fmt.Errorf("%w: column %q has nulls", schemas.ErrFormat, c.name)
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
		return fmt.Errorf("%w: column %q has unexpected type %v", schemas.ErrFormat, c.name, c.kind)
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
			return fmt.Errorf("%w: column %q is not int32", schemas.ErrFormat, c.name)
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
			return fmt.Errorf("%w: column %q is not int64", schemas.ErrFormat, c.name)
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
			return fmt.Errorf("%w: column %q is not a string", schemas.ErrFormat, c.name)
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
func (c *listCursor) finish(g *groupReader) {
	if c.row >= 0 {
		g.nChunks[c.row], g.firstChunk[c.row], g.lastChunk[c.row] = c.cnt, c.first, c.prev
	}
}

// rows reads the chunk lists of the window's n rows into g.nChunks,
// g.firstChunk and g.lastChunk, adding the gaps of eligible rows to their
// level's ITL.
func (c *listCursor) rows(n int, g *groupReader) error {
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
				return fmt.Errorf("%w: column chunk_offsets_us: %v", schemas.ErrFormat, err)
			}
			c.page = p
			c.rep, c.def = p.RepetitionLevels(), p.DefinitionLevels()
			d := p.Data()
			c.vals = d.Int32()
			c.li, c.vi = 0, 0
			c.dense = len(c.vals) == len(c.def) // no empty lists on this page
			if len(c.rep) != len(c.def) {
				return fmt.Errorf("%w: column chunk_offsets_us: %d repetition but %d definition levels", schemas.ErrFormat, len(c.rep), len(c.def))
			}
		}
		rep, def, vals := c.rep, c.def, c.vals
		for c.li < len(rep) {
			li := c.li
			if rep[li] == 0 {
				c.finish(g)
				if c.row+1 == n { // the next window's first row: stop here
					return nil
				}
				c.row++
				c.cnt, c.first, c.prev = 0, 0, 0
			} else if c.row < 0 {
				return fmt.Errorf("%w: column chunk_offsets_us: a page starts inside a row", schemas.ErrFormat)
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
				return fmt.Errorf("%w: column chunk_offsets_us: fewer values than levels", schemas.ErrFormat)
			}
			if k > 0 {
				vs := vals[c.vi : c.vi+k]
				if g.eligible[c.row] {
					itl := g.accs[c.row].s.ITL
					if c.cnt > 0 { // the row began on an earlier page
						itl.AddUS(vs[0] - c.prev)
					}
					itl.AddGapsUS(vs)
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
	c.finish(g)
	if c.row != n-1 {
		return fmt.Errorf("%w: column chunk_offsets_us has %d rows where %d were expected", schemas.ErrFormat, c.row+1, n)
	}
	return nil
}
