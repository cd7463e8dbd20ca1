package proxy

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"

	"github.com/agentperf/agentperf/proxy/adapt"
	"github.com/agentperf/agentperf/schemas"
)

// Options configures a Recorder.
type Options struct {
	// Out is the trace-set directory written on Close; with rotation, the
	// directory holding one trace set per period.
	Out string
	// SpoolDir holds the write-ahead spool; "" means Out/.spool.
	SpoolDir string
	// RotateEvery starts a new trace set after this long; 0 never.
	RotateEvery time.Duration
	// RotateBytes starts a new trace set once the spool segment holds this
	// many bytes; 0 never.
	RotateBytes int64
	// Redact lists regular expressions masked in bodies before writing.
	Redact []string
	// QueueLen bounds the calls waiting for the capture goroutine; 0 means
	// 1024. Past it, calls spill into a side list bounded by SpillBytes
	// (0 means 256 MiB); past that they are dropped (DropQueueFull).
	QueueLen   int
	SpillBytes int64
	// Logger receives run-level events (rotations, recovery, drops); nil
	// discards them.
	Logger *slog.Logger
	// OnDrop, when set, is told about calls dropped (not in the trace
	// set), whatever Logger is: at most once a second, each report
	// counting the drops since the previous one, and once more on Close
	// for drops not yet reported. It runs on a goroutine of its own.
	OnDrop func(DropReport)
	// Metrics, when set, is updated as turns are captured.
	Metrics *Metrics
}

// Stats is a snapshot of a Recorder's counters.
type Stats struct {
	// Sessions is the number of sessions seen since start (recovered
	// ones included).
	Sessions int64
	// Turns is the number of turns made durable in the spool.
	Turns int64
	// InputTokens, CachedTokens and OutputTokens sum provider-reported
	// usage of durable turns.
	InputTokens, CachedTokens, OutputTokens int64
	// Spilled counts calls that overflowed the queue into the spill list;
	// Dropped counts calls lost, not in the trace set, for any reason
	// (the Drop* constants).
	Spilled, Dropped int64
	// Queued is the number of calls waiting for the capture goroutine.
	Queued int64
	// LagNS is the time from the end of the last durable turn to its
	// fsync, ns.
	LagNS int64
	// TraceSets counts trace sets written (rotations, recovery, close).
	TraceSets int64
}

// Recorder turns finished calls into durable turns and trace sets. Create
// it with NewRecorder, hand Tap() to a front end, and Close it to write
// the trace set.
type Recorder struct {
	opt    Options
	log    *slog.Logger
	redact *Redactor
	m      *Metrics

	queue     chan *exchange
	spillMu   sync.Mutex
	spill     []*exchange
	spillSize int64
	wake      chan struct{}
	flushReq  chan chan struct{}
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error

	sessions *Sessions
	contexts *responseContexts
	seg      *segment
	buf      []byte
	pending  []*spoolTurn

	bg    sync.WaitGroup
	bgMu  sync.Mutex
	bgErr error

	turns, in, cached, out  atomic.Int64
	spilled, dropped, lagNS atomic.Int64
	nSessions, sets         atomic.Int64
	queueCap                int
	spillCap                int64
	periodDirs              map[string]bool
	lock                    *os.File
	// beforeSync, when set (tests), runs before each fsync: a slow disk.
	beforeSync func()
	// spoolFault, when set (tests), is asked before every spool write and
	// fsync; an error it returns fails that operation: a full disk.
	spoolFault atomic.Pointer[func() error]
	inflight   atomic.Int64
	loss       *lossReporter
	// batchErr is the spool error of the batch being written; lost counts
	// the turns of the batch that could not even be written.
	batchErr error
	lost     int64
}

// NewRecorder opens the spool, recovers what a previous run left in it and
// starts the capture goroutine. Without rotation it refuses an Out that
// already holds a trace set.
func NewRecorder(opt Options) (*Recorder, error) {
	if opt.Out == "" {
		return nil, errors.New("no output directory")
	}
	if opt.SpoolDir == "" {
		opt.SpoolDir = filepath.Join(opt.Out, ".spool")
	}
	red, err := NewRedactor(opt.Redact)
	if err != nil {
		return nil, fmt.Errorf("--redact: %w", err)
	}
	r := &Recorder{opt: opt, log: opt.Logger, redact: red, m: opt.Metrics, loss: newLossReporter(opt.OnDrop),
		wake: make(chan struct{}, 1), flushReq: make(chan chan struct{}), stop: make(chan struct{}), done: make(chan struct{}),
		sessions: newSessions(), contexts: newResponseContexts(), queueCap: opt.QueueLen, spillCap: opt.SpillBytes, periodDirs: map[string]bool{}}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.queueCap <= 0 {
		r.queueCap = 1024
	}
	if r.spillCap <= 0 {
		r.spillCap = 256 << 20
	}
	r.queue = make(chan *exchange, r.queueCap)
	if r.lock, err = lockSpool(opt.SpoolDir); err != nil {
		r.loss.close()
		return nil, err
	}
	if !r.rotating() {
		if _, err := os.Stat(filepath.Join(opt.Out, schemas.SessionsFile)); err == nil {
			r.unlock()
			r.loss.close()
			return nil, fmt.Errorf("%w: %s holds a trace set (choose another --out, or remove it)", schemas.ErrExists, opt.Out)
		}
	}
	if err := r.recover(); err != nil {
		r.unlock()
		r.loss.close()
		return nil, err
	}
	go r.run()
	return r, nil
}

func (r *Recorder) rotating() bool { return r.opt.RotateEvery > 0 || r.opt.RotateBytes > 0 }

// recover reads segments left by an earlier run. Their sessions are
// restored so they continue; without rotation the last segment is
// reopened for appending (the whole spool becomes Out on Close); with
// rotation each is written out as its own period's trace set.
func (r *Recorder) recover() error {
	segs, err := listSegments(r.opt.SpoolDir)
	if err != nil {
		return err
	}
	var lastGood int64
	var lastTurns int
	for _, seg := range segs {
		good, n, torn, err := readSegment(seg, func(t *spoolTurn) error {
			r.restoreTurn(t)
			return nil
		})
		if err != nil {
			return fmt.Errorf("recovering spool: %w", err)
		}
		r.log.Info("recovered spool segment", "path", seg, "turns", n, "torn_tail", torn)
		lastGood, lastTurns = good, n
	}
	if len(segs) == 0 {
		r.seg, err = r.createSegment()
		return err
	}
	if r.rotating() {
		for _, seg := range segs {
			r.convertBackground([]string{seg})
		}
		r.seg, err = r.createSegment()
		return err
	}
	last := segs[len(segs)-1]
	if lastGood < int64(len(spoolMagic)) {
		os.Remove(last)
		segs = segs[:len(segs)-1]
		r.seg, err = r.createSegment()
		return err
	}
	r.seg, err = reopenSegment(last, lastGood, lastTurns)
	if err == nil {
		r.seg.fault = r.checkFault
	}
	return err
}

func (r *Recorder) restoreTurn(t *spoolTurn) {
	api := t.API
	params, parts, err := schemas.Split(api, t.Body)
	if err != nil {
		return
	}
	x := &exchange{callInfo: callInfo{sessionHeader: t.Group}}
	k := keysOf(x, api, params, parts)
	k.group = t.Group
	if api == schemas.APIOpenAIResponses && t.ResponseID != "" && t.Error == "" {
		call := readResponsesCall(params)
		if call.PreviousResponseID == "" && (call.Store == nil || *call.Store || t.ContextItems > 0 || len(t.Extras) > 0) {
			r.contexts.keep(t.ResponseID, contextOf(parts, t.Response))
		}
	}
	before := r.sessions.Len()
	r.sessions.restore(t.Session, t.Parent, t.Agent, k, t.StartNS, t.EndNS, t.ResponseID)
	if r.sessions.Len() > before {
		r.nSessions.Add(1)
	}
	r.turns.Add(1)
	r.addUsage(t)
}

func (r *Recorder) addUsage(t *spoolTurn) {
	if t.Usage.Input != nil {
		r.in.Add(*t.Usage.Input)
	}
	if t.Usage.Cached != nil {
		r.cached.Add(*t.Usage.Cached)
	}
	if t.Usage.Output != nil {
		r.out.Add(*t.Usage.Output)
	}
}

// Tap returns a capture tap that forwards through transport (NewTransport
// when nil) and feeds this recorder.
func (r *Recorder) Tap(transport http.RoundTripper) *Tap {
	if transport == nil {
		transport = NewTransport()
	}
	return &Tap{Transport: transport, Sink: r.sink, Started: func() { r.inflight.Add(1) }}
}

// InFlight returns the number of LLM API calls begun but not yet handed
// to the recorder.
func (r *Recorder) InFlight() int64 { return r.inflight.Load() }

// sink takes a finished call from the forwarding path without ever
// blocking it.
func (r *Recorder) sink(x *exchange) {
	r.inflight.Add(-1)
	select {
	case <-r.done:
		// The recorder has closed: this call ended after the grace.
		r.drop(1, DropAfterClose, "ended after the recorder stopped", x.path)
		return
	default:
	}
	select {
	case r.queue <- x:
		return
	default:
	}
	x.reqMu.Lock()
	size := int64(len(x.reqBody) + len(x.respBody) + 16*len(x.marks))
	x.reqMu.Unlock()
	r.spillMu.Lock()
	if r.spillSize+size > r.spillCap {
		r.spillMu.Unlock()
		r.drop(1, DropQueueFull, "the capture queue and spill were full", x.path)
		return
	}
	r.spill = append(r.spill, x)
	r.spillSize += size
	r.spillMu.Unlock()
	r.spilled.Add(1)
	if r.m != nil {
		r.m.spilled.Inc()
	}
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *Recorder) takeSpill() []*exchange {
	r.spillMu.Lock()
	defer r.spillMu.Unlock()
	s := r.spill
	r.spill, r.spillSize = nil, 0
	return s
}

// run is the capture goroutine: it decodes calls, assigns sessions,
// appends turns to the spool with one fsync per batch, and rotates.
func (r *Recorder) run() {
	defer close(r.done)
	var tick <-chan time.Time
	if r.opt.RotateEvery > 0 {
		t := time.NewTicker(r.rotateCheck())
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case x := <-r.queue:
			r.batch(x)
		case <-r.wake:
			r.batch(nil)
		case reply := <-r.flushReq:
			r.batch(nil)
			close(reply)
		case <-tick:
			if time.Since(r.seg.start) >= r.opt.RotateEvery && r.seg.turns > 0 {
				r.rotate()
			}
		case <-r.stop:
			for {
				select {
				case x := <-r.queue:
					r.batch(x)
					continue
				default:
				}
				if len(r.takeSpillPeek()) == 0 {
					return
				}
				r.batch(nil)
			}
		}
	}
}

func (r *Recorder) takeSpillPeek() []*exchange {
	r.spillMu.Lock()
	defer r.spillMu.Unlock()
	return r.spill
}

func (r *Recorder) rotateCheck() time.Duration {
	d := r.opt.RotateEvery / 10
	return min(max(d, 10*time.Millisecond), time.Second)
}

// batch processes x (when not nil), everything else queued or spilled,
// then makes the batch durable.
func (r *Recorder) batch(x *exchange) {
	if x != nil {
		r.process(x)
	}
	for i := 0; i < 4096; i++ {
		select {
		case y := <-r.queue:
			r.process(y)
			continue
		default:
		}
		break
	}
	for _, y := range r.takeSpill() {
		r.process(y)
	}
	if len(r.pending) == 0 && r.batchErr == nil {
		return
	}
	if r.beforeSync != nil {
		r.beforeSync()
	}
	if r.batchErr == nil {
		r.batchErr = r.seg.sync()
	}
	if err := r.batchErr; err != nil {
		// Nothing of this batch is durable: cut the segment back to its
		// last durable record (so later turns are readable after it) and
		// count the batch's turns as dropped.
		n := int64(len(r.pending)) + r.lost
		clear(r.pending)
		r.pending, r.lost, r.batchErr = r.pending[:0], 0, nil
		r.drop(n, DropSpoolWrite, err.Error(), "")
		if rerr := r.seg.rollback(); rerr != nil {
			r.log.Error("spool: cannot cut the segment back after a failed write; starting a new one", "err", rerr)
			if seg, cerr := r.createSegment(); cerr == nil {
				old := r.seg
				old.close() // its good records stay readable up to the torn tail
				r.seg = seg
				if r.rotating() {
					r.convertBackground([]string{old.path})
				}
			}
		}
		return
	}
	now := time.Now().UnixNano()
	for _, t := range r.pending {
		r.turns.Add(1)
		r.addUsage(t)
		r.lagNS.Store(now - t.EndNS)
		if r.m != nil {
			r.m.turnDurable(t, now)
		}
	}
	clear(r.pending)
	r.pending = r.pending[:0]
	if r.opt.RotateBytes > 0 && r.seg.size >= r.opt.RotateBytes {
		r.rotate()
	}
}

// process turns one call into a spooled turn. A bug that panics here
// loses that turn (counted as a drop), never the proxy.
func (r *Recorder) process(x *exchange) {
	defer func() {
		if p := recover(); p != nil {
			r.drop(1, DropCaptureError, fmt.Sprint(p), x.path)
		}
	}()
	x.reqMu.Lock()
	reqBody := x.reqBody
	x.reqMu.Unlock()
	t := &spoolTurn{API: x.api, StartNS: x.startNS, FirstByte: x.firstByteNS, EndNS: x.endNS,
		Status: x.status, Error: x.err}
	var notes []string
	body, err := decodeBody(x.reqEncoding, reqBody)
	if err != nil {
		notes = append(notes, "request body: "+err.Error())
		body = reqBody
		t.API = schemas.APIRaw
	}
	if x.transport == "websocket" {
		body = wsRequestBody(body)
	}
	params, parts, _ := schemas.Split(t.API, body)
	if len(parts) == 1 && parts[0].Kind == schemas.KindBody && t.API != schemas.APIRaw {
		t.API = schemas.APIRaw
		notes = append(notes, "request body is not a JSON object; kept raw")
	}
	extras := map[string]any{}
	if x.transport != "" {
		extras[schemas.ExtrasTransport] = x.transport
	}
	// previous_response_id: store the whole context the model saw.
	var prevResp string
	keepContext := false
	if t.API == schemas.APIOpenAIResponses {
		call := readResponsesCall(params)
		prevResp = call.PreviousResponseID
		keepContext = prevResp == "" && (call.Store == nil || *call.Store || x.transport != "")
		if np, nparts, n, ok := r.contexts.materialize(params, parts, prevResp); ok {
			params, parts = np, nparts
			body = schemas.Rebuild(nil, t.API, params, parts)
			t.ContextItems = n
			extras[schemas.ExtrasPreviousResponseID] = prevResp
			keepContext = true
		}
	}
	if len(extras) > 0 {
		t.Extras = mustMarshal(extras)
	}
	resp, err := decodeBody(x.respEncoding, x.respBody)
	compressed := err == nil && x.respEncoding != "" && !strings.EqualFold(x.respEncoding, "identity")
	if err != nil {
		notes = append(notes, "response body: "+err.Error())
		resp = x.respBody
	}
	var res adapt.Result
	if x.status != 0 {
		res = adapt.Parse(t.API, x.status, x.respType, resp)
	}
	if x.cut && res.Complete {
		// The terminal event arrived before the body ended early (Codex
		// closes the connection as soon as it has it): not cut off. The
		// response ended with that event.
		t.Error = ""
		if res.End >= 0 && !compressed {
			for _, m := range x.marks {
				if m.end >= res.End {
					t.EndNS = m.at
					break
				}
			}
		}
	}
	t.Response = res.Response
	t.Usage = res.Usage
	t.ResponseID = res.ResponseID
	if res.Error != "" && t.Error == "" {
		t.Error = res.Error
	}
	if res.Note != "" {
		notes = append(notes, res.Note)
	}
	if len(notes) > 0 {
		n := "parse: " + strings.Join(notes, "; ")
		if t.Error == "" {
			t.Error = n
		} else {
			t.Error += "; " + n
		}
	}
	// Times: first content token from the chunk that carried it.
	switch {
	case res.FirstContent >= 0 && !compressed:
		for _, m := range x.marks {
			if m.end >= res.FirstContent {
				t.FirstToken = m.at
				break
			}
		}
	case len(res.Response) > 0 && res.Error == "":
		t.FirstToken = x.firstByteNS
	}
	if len(x.marks) > 0 {
		t.ChunkNS = make([]int64, len(x.marks))
		for i, m := range x.marks {
			t.ChunkNS[i] = m.at - x.startNS
		}
	}
	if keepContext && res.ResponseID != "" && res.Error == "" {
		r.contexts.keep(res.ResponseID, contextOf(parts, res.Response))
	}
	// Sessions.
	k := keysOf(x, t.API, params, parts)
	k.prevResponse = prevResp
	agent := agentOf(x.userAgent, x.originator)
	th, isNew := r.sessions.assign(k, agent, x.startNS)
	if isNew {
		r.nSessions.Add(1)
		if r.m != nil {
			r.m.sessions.Inc()
		}
	}
	t.Session, t.Parent, t.Agent, t.Group = th.id, th.parent, th.agent, k.group
	t.ThinkNS = r.sessions.finish(th, k, x.startNS, t.EndNS, res.ResponseID)
	// Privacy: mask before anything is written.
	t.Body = r.redact.Apply(body)
	if r.redact != nil {
		for i := range t.Response {
			t.Response[i] = r.redact.Apply(t.Response[i])
		}
		t.Error = string(r.redact.Apply([]byte(t.Error)))
	}
	if r.m != nil {
		r.m.bytes.WithLabelValues("request").Add(float64(len(reqBody)))
		r.m.bytes.WithLabelValues("response").Add(float64(len(x.respBody)))
	}
	if r.batchErr != nil {
		r.lost++ // the batch's spool write failed already
		return
	}
	r.buf, err = encodeRecord(r.buf[:0], t)
	if err != nil {
		r.drop(1, DropCaptureError, err.Error(), x.path)
		return
	}
	if err := r.seg.write(r.buf); err != nil {
		r.batchErr = err
		r.lost++
		return
	}
	r.seg.turns++
	r.pending = append(r.pending, t)
}

// decodeBody undoes a Content-Encoding.
func decodeBody(enc string, b []byte) ([]byte, error) {
	enc = strings.ToLower(strings.TrimSpace(enc))
	if enc == "" || enc == "identity" || len(b) == 0 {
		return b, nil
	}
	var rd io.Reader
	switch enc {
	case "gzip", "x-gzip":
		z, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		rd = z
	case "deflate":
		rd = flate.NewReader(bytes.NewReader(b))
	case "br":
		rd = brotli.NewReader(bytes.NewReader(b))
	case "zstd":
		z, err := zstd.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		defer z.Close()
		rd = z
	default:
		return nil, fmt.Errorf("unknown content encoding %q", enc)
	}
	out, err := io.ReadAll(io.LimitReader(rd, 1<<30))
	if err != nil && len(out) == 0 {
		return nil, err
	}
	return out, nil
}

// rotate closes the current segment, starts a new one and writes the old
// one out as its period's trace set in the background.
func (r *Recorder) rotate() {
	old := r.seg
	seg, err := r.createSegment()
	if err != nil {
		r.log.Error("rotation: cannot start a new spool segment; continuing in the old one", "err", err)
		return
	}
	if err := old.close(); err != nil {
		r.log.Error("rotation: closing spool segment", "err", err)
	}
	r.seg = seg
	r.convertBackground([]string{old.path})
}

func (r *Recorder) periodDir(seg string) string {
	start, ok := segmentStart(seg)
	if !ok {
		start = time.Now()
	}
	name := start.UTC().Format("20060102T150405Z")
	dir := filepath.Join(r.opt.Out, name)
	for i := 1; r.periodDirs[dir] || exists(filepath.Join(dir, schemas.SessionsFile)); i++ {
		dir = filepath.Join(r.opt.Out, fmt.Sprintf("%s-%d", name, i))
	}
	r.periodDirs[dir] = true
	return dir
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func (r *Recorder) convertBackground(segs []string) {
	dir := r.periodDir(segs[0])
	r.bg.Add(1)
	go func() {
		defer r.bg.Done()
		if err := r.convert(segs, dir); err != nil {
			r.bgMu.Lock()
			r.bgErr = errors.Join(r.bgErr, err)
			r.bgMu.Unlock()
		}
	}()
}

// convert writes segs as a trace set at dir and removes them once the set
// is in place.
func (r *Recorder) convert(segs []string, dir string) error {
	total := 0
	for _, s := range segs {
		_, n, _, err := readSegment(s, func(*spoolTurn) error { return nil })
		if err != nil {
			return err
		}
		total += n
	}
	// An empty period is skipped; without rotation Out is always written,
	// so a run without traffic still leaves a (empty) trace set.
	if total > 0 || !r.rotating() {
		n, err := convertSegments(segs, dir)
		if err != nil {
			r.log.Error("writing trace set failed; spool kept for the next start", "dir", dir, "err", err)
			return fmt.Errorf("writing trace set %s (spool kept in %s): %w", dir, r.opt.SpoolDir, err)
		}
		r.sets.Add(1)
		r.log.Info("trace set written", "dir", dir, "turns", n)
	}
	for _, s := range segs {
		os.Remove(s)
	}
	return nil
}

// Close stops capture (calls finishing later are not recorded), makes all
// captured turns durable and writes the trace set(s). Without rotation the
// trace set goes to Out; with rotation, the last period's set goes beside
// the others. The spool is removed once written. When calls were dropped
// the error includes a *LossError (the trace sets were still written).
func (r *Recorder) Close() error {
	r.closeOnce.Do(func() {
		close(r.stop)
		<-r.done
		// Calls that raced the final drain are lost: count them.
		if n := int64(len(r.queue) + len(r.takeSpill())); n > 0 {
			r.drop(n, DropAfterClose, "ended during shutdown", "")
		}
		var errs []error
		if err := r.seg.close(); err != nil {
			errs = append(errs, fmt.Errorf("spool: %w", err))
		}
		if r.rotating() {
			r.convertBackground([]string{r.seg.path})
		} else {
			segs, err := listSegments(r.opt.SpoolDir)
			if err != nil {
				errs = append(errs, err)
			} else if err := r.convert(segs, r.opt.Out); err != nil {
				errs = append(errs, err)
			}
		}
		r.bg.Wait()
		r.bgMu.Lock()
		errs = append(errs, r.bgErr)
		r.bgMu.Unlock()
		r.loss.close()
		errs = append(errs, r.loss.err())
		if err := errors.Join(errs...); err == nil {
			r.unlock()
			os.Remove(filepath.Join(r.opt.SpoolDir, ".lock"))
			os.Remove(r.opt.SpoolDir) // only when empty
		} else {
			r.unlock()
			r.closeErr = err
		}
	})
	return r.closeErr
}

// unlock releases the spool lock.
func (r *Recorder) unlock() {
	if r.lock != nil {
		r.lock.Close()
		r.lock = nil
	}
}

// Stats returns a snapshot of the counters.
func (r *Recorder) Stats() Stats {
	r.spillMu.Lock()
	spilled := int64(len(r.spill))
	r.spillMu.Unlock()
	return Stats{Sessions: r.nSessions.Load(), Turns: r.turns.Load(),
		InputTokens: r.in.Load(), CachedTokens: r.cached.Load(), OutputTokens: r.out.Load(),
		Spilled: r.spilled.Load(), Dropped: r.dropped.Load(), Queued: int64(len(r.queue)) + spilled,
		LagNS: r.lagNS.Load(), TraceSets: r.sets.Load()}
}

// Flush waits until every call handed to the recorder before the call
// is durable in the spool, or ctx ends.
func (r *Recorder) Flush(ctx context.Context) error {
	reply := make(chan struct{})
	select {
	case r.flushReq <- reply:
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-reply:
		return nil
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// drop counts n calls lost for reason (a Drop* constant): the counters,
// the metric, the log, and the loss reporter.
func (r *Recorder) drop(n int64, reason, detail, path string) {
	r.dropped.Add(n)
	if r.m != nil {
		r.m.drops.WithLabelValues(reason).Add(float64(n))
	}
	r.log.Warn("calls dropped: not in the trace set", "calls", n, "reason", reason, "detail", detail, "path", path)
	r.loss.add(n, reason, detail)
}

// createSegment starts a new spool segment.
func (r *Recorder) createSegment() (*segment, error) {
	seg, err := createSegment(r.opt.SpoolDir, time.Now())
	if err == nil {
		seg.fault = r.checkFault
	}
	return seg, err
}

// checkFault returns the error the test fault hook asks for, or nil.
func (r *Recorder) checkFault() error {
	if f := r.spoolFault.Load(); f != nil {
		return (*f)()
	}
	return nil
}
