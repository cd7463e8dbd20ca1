package analyze

import (
	"context"
	"errors"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/agentperf/agentperf/schemas"
)

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

// itlBudget is the number of chunk offsets up to which every request's
// inter-chunk gaps count towards ITL by default; beyond it a deterministic
// sample of requests holding about this many offsets is used (see
// itlFraction).
const itlBudget = 50_000_000

// ChunkOffsets returns how many chunk offsets the files hold, from their
// footers (no data is read).
func chunkOffsets(files []*schemas.ResultsFile) int64 {
	var n int64
	for _, f := range files {
		n += f.ChunkOffsets()
	}
	return n
}

// itlFraction returns the default fraction of requests whose gaps count
// towards ITL for inputs holding chunks offsets: 1 up to itlBudget, else
// itlBudget ÷ chunks.
func itlFraction(chunks int64) float64 {
	if chunks <= itlBudget {
		return 1
	}
	return float64(itlBudget) / float64(chunks)
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
	type job struct{ fi, rg int }
	var jobs []job
	scales := make([]float64, len(files))
	for fi, f := range files {
		scales[fi] = f.RunMeta().TimeScaleOrOne()
		for rg := range f.NumRowGroups() {
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
				j := jobs[i]
				rd.file, rd.timeScale = j.fi, scales[j.fi]
				if err := files[j.fi].ScanRowGroup(ctx, j.rg, &rd.cols, rd.scan()); err != nil {
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

// groupReader folds the windows of decoded rows (schemas.ResultColumns)
// into one worker's accumulators; its buffers are reused.
type groupReader struct {
	set  *levelSet
	file int // index of the file being read
	// timeScale is the file's replay time scale K: its rows hold world time,
	// so sent − scheduled is K × the client's wall-clock lag.
	timeScale float64
	itl       uint64 // ITL sample threshold (see itlSampled)

	cols     schemas.ResultColumns
	accs     []*LevelAccumulator
	eligible []bool
	// ok marks the successful rows, whose chunks count on their level's
	// timeline; pend holds the chunk offsets of row pendRow (-1: none)
	// until its chunk count is known.
	ok      []bool
	pend    []int32
	pendRow int
}

// windowRows is how many rows are decoded at a time (schemas.ResultScan);
// a variable so tests can shrink it.
var windowRows = 16384

func (g *groupReader) scan() schemas.ResultScan {
	return schemas.ResultScan{Window: windowRows, Scalars: g.scalars, Chunks: g.chunks, Rows: g.rows}
}

// scalars finds each row's accumulator and whether its gaps count towards
// ITL, before the window's chunk lists are decoded.
func (g *groupReader) scalars(b *schemas.ResultColumns) {
	n := b.N
	if cap(g.accs) < n {
		g.accs = make([]*LevelAccumulator, n)
		g.eligible = make([]bool, n)
		g.ok = make([]bool, n)
	}
	g.accs, g.eligible, g.ok = g.accs[:n], g.eligible[:n], g.ok[:n]
	g.pendRow = -1
	runs := b.RunIDs
	for i := range n {
		if i == 0 || b.RunID[i] != b.RunID[i-1] || b.Level[i] != b.Level[i-1] {
			g.set.sawRun(g.file, runs[b.RunID[i]])
			g.accs[i] = g.set.get(runs[b.RunID[i]], b.Level[i])
		} else {
			g.accs[i] = g.accs[i-1]
		}
		ok := b.Errors[b.Error[i]] == "" && b.Status[i] >= 200 && b.Status[i] <= 299
		g.eligible[i] = ok && b.Phases[b.Phase[i]] == schemas.PhaseSteady && itlSampled(b.SentNS[i], g.itl)
		g.ok[i] = ok
	}
}

// flushChunks counts the pending row's chunks on its level's timeline, each
// as its share of the row's output tokens (row.chunkTokens).
func (g *groupReader) flushChunks() {
	if g.pendRow < 0 {
		return
	}
	i := g.pendRow
	v := row{output: g.cols.OutputTokens[i], nChunks: int32(len(g.pend)), status: 200}
	if w := v.chunkTokens(); w > 0 {
		tl, sent := g.accs[i].s.out, g.cols.SentNS[i]
		for _, off := range g.pend {
			tl.add(sent+int64(off)*1000, w)
		}
	}
	g.pendRow, g.pend = -1, g.pend[:0]
}

// chunks keeps a successful row's chunk offsets for the timeline (counted
// once the row's chunk count is known) and adds an eligible row's gaps to
// its level's ITL.
func (g *groupReader) chunks(row int, offs []int32, prev int32, cont bool) {
	if g.ok[row] {
		if row != g.pendRow {
			g.flushChunks()
			g.pendRow = row
		}
		g.pend = append(g.pend, offs...)
	}
	if !g.eligible[row] {
		return
	}
	itl := g.accs[row].s.ITL
	if cont {
		itl.AddUS(offs[0] - prev)
	}
	itl.AddGapsUS(offs)
}

// rows adds the window's rows to their accumulators.
func (g *groupReader) rows(b *schemas.ResultColumns) error {
	g.flushChunks()
	var r row
	for i := range b.N {
		r = row{
			runID: b.RunIDs[b.RunID[i]], phase: b.Phases[b.Phase[i]], session: b.SessionIDs[b.SessionID[i]], err: b.Errors[b.Error[i]],
			shard: b.Shard[i], level: b.Level[i], users: b.Users[i], user: b.User[i], turn: b.Turn[i],
			sched: b.ScheduledNS[i], sent: b.SentNS[i], first: b.FirstTokenNS[i], end: b.EndNS[i],
			lagScale: g.timeScale,
			input:    b.InputTokens[i], cached: b.CachedTokens[i], output: b.OutputTokens[i], expIn: b.ExpectedInputTokens[i], status: b.Status[i],
			expOut:  b.ExpectedOutputTokens[i],
			nChunks: b.Chunks[i], firstChunkUS: b.FirstChunk[i], lastChunkUS: b.LastChunk[i],
		}
		g.accs[i].addRow(&r)
	}
	g.set.rows += int64(b.N)
	return nil
}
