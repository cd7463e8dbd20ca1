package replay

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"

	"github.com/agentperf/agentperf/analyze"
	"github.com/agentperf/agentperf/power"
	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/sim"
)

// The virtual-time run (Config.Sim): the users' loops, their think times
// and arrivals, and the simulated engine's iterations run in one
// discrete-event loop on one virtual clock — no sockets, no goroutine per
// user, no wall clock (docs/replay.md, "Virtual time"). Request bodies
// are built by the same builder as over HTTP and admitted by the
// simulator's own admission code (sim.Virtual.Admit); each response is
// read as wire.Stream reads the HTTP server's events (sim.Admission.Served)
// and becomes its row through the same record path (fillRow), so a row is
// the row the HTTP path writes, timed by the simulator's clock, without
// the host's delays. Levels follow one another on the virtual clock; the
// same inputs and seed give the same rows.

// virtualTarget is a virtual-time run's simulated deployment and clock,
// kept across its levels.
type virtualTarget struct {
	v *sim.Virtual
	// origin is the wall instant of virtual time 0 (the run's world
	// clock origin); now is the virtual time reached, ns since origin.
	origin time.Time
	now    int64
	// nowAtomic is now for the progress line (another goroutine).
	nowAtomic atomic.Int64

	// admissions caches the simulator's admission of each distinct body
	// (bounded): the same turn sent by several users, passes or levels is
	// parsed once.
	admissions map[bodyKey]*sim.Admission
	seeds      [2]maphash.Seed
	// bases holds, per turn, the simulator's editable admission of the
	// turn's recorded body (bounded; nil for a body it refused): a body
	// sent in a conversation is that body with the marker's and the
	// salt's pieces changed, and its admission is derived from the base
	// (sim.Virtual.AdmitEdited) without building it.
	bases map[*Turn]*sim.Admission
	// parts and body are scratch space for building bodies.
	parts []schemas.Part
	body  []byte

	// power is the simulator's modelled power, one sample per simulated
	// second: joules holds each accelerator's energy at the last sample.
	power      power.Record
	joules     []float64
	nextSample int64 // virtual ns of the next power sample
	samples    []float64
	// coalesce is set when a delivery is one output event.
	coalesce bool
}

// bodyKey identifies a request body by content: two hashes of its bytes
// and its length.
type bodyKey struct {
	h1, h2 uint64
	n      int
}

// maxAdmissions bounds the admission cache; a full cache is emptied
// (admitting again is correct, only slower).
const maxAdmissions = 1 << 17

// deriveAdmissions enables admitTurn's derived admissions; tests turn it
// off to compare against admitting every body.
var deriveAdmissions = true

// maxBases bounds the turns whose base admission is kept; a full map is
// emptied.
const maxBases = 1 << 15

// maxVirtualChunks bounds the chunk offsets kept per request, as the HTTP
// sender does.
const maxVirtualChunks = 1 << 16

// DefaultMaxSteady is the longest a virtual-time level's steady window
// grows to meet AgentPerf's trajectory minimums when Config.MaxSteady is 0.
const DefaultMaxSteady = 8 * time.Hour

func newVirtualTarget(p *sim.Plan) *virtualTarget {
	return &virtualTarget{v: sim.NewVirtual(p), admissions: map[bodyKey]*sim.Admission{}, bases: map[*Turn]*sim.Admission{},
		coalesce: p.CoalescesTokens(),
		seeds:    [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
}

// at returns the wall-clock time.Time standing for virtual time ns.
func (vt *virtualTarget) at(ns int64) time.Time { return vt.origin.Add(time.Duration(ns)) }

// ns returns virtual time t as ns since the origin.
func (vt *virtualTarget) ns(t time.Time) int64 { return int64(t.Sub(vt.origin)) }

// secs converts virtual ns to the simulator's seconds.
func secs(ns int64) float64 { return float64(ns) / 1e9 }

// admit returns the simulator's admission of body, from the cache when the
// same bytes were admitted before.
func (vt *virtualTarget) admit(api string, body []byte) (*sim.Admission, error) {
	k := bodyKey{maphash.Bytes(vt.seeds[0], body), maphash.Bytes(vt.seeds[1], body), len(body)}
	if a := vt.admissions[k]; a != nil && a.APIName == api {
		return a, nil
	}
	a, err := vt.v.Admit(api, body)
	if err != nil {
		return nil, err
	}
	if len(vt.admissions) >= maxAdmissions {
		clear(vt.admissions)
	}
	vt.admissions[k] = a
	return a, nil
}

// admitTurn returns the simulator's admission of t's body sent with api:
// the recorded body with edits (b.prepareEdits's, at their pieces). It
// derives the admission from the turn's base admission when it can
// (sim.Virtual.AdmitEdited: the same result as admitting the body) and
// otherwise builds the body (parts is scratch space) and admits it;
// buildErr is an error building it.
func (vt *virtualTarget) admitTurn(b *builder, t *Turn, api string, edits pieceEdits, at [2]int, parts *[]schemas.Part) (a *sim.Admission, buildErr, err error) {
	if api == t.API && deriveAdmissions { // a translated body holds no piece verbatim
		if base := vt.base(b, t, api); base != nil {
			if edits.n == 0 {
				return base, nil, nil
			}
			var es [len(edits.e)]sim.Edit
			for i, e := range edits.list() {
				es[i] = sim.Edit{Old: e.old, New: e.new}
			}
			a, ok, err := vt.v.AdmitEdited(base, es[:edits.n]...)
			if ok {
				return a, nil, err
			}
		}
	}
	ps, err := b.withEdits(*parts, t, edits, at)
	*parts = ps
	if err != nil {
		return nil, err, nil
	}
	body, err := b.render(vt.body[:0], t, api, ps)
	vt.body = body[:0]
	if err != nil {
		return nil, err, nil
	}
	a, err = vt.admit(api, body)
	return a, nil, err
}

// base returns the editable admission of t's recorded body sent with api
// (the body b builds for t in no conversation), nil when the simulator
// refuses that body.
func (vt *virtualTarget) base(b *builder, t *Turn, api string) *sim.Admission {
	if a, ok := vt.bases[t]; ok {
		return a
	}
	var a *sim.Admission
	parts, err := b.withEdits(vt.parts[:0], t, pieceEdits{}, [2]int{})
	if err == nil {
		var body []byte
		if body, err = b.render(vt.body[:0], t, api, parts); err == nil {
			a, _ = vt.v.AdmitEditable(api, body)
		}
		vt.body = body[:0]
	}
	vt.parts = parts[:0]
	if len(vt.bases) >= maxBases {
		clear(vt.bases)
	}
	vt.bases[t] = a
	return a
}

// vkind is the kind of a virtual-time event.
type vkind uint8

const (
	vkSend    vkind = iota // a turn is due
	vkArrival              // a Poisson session arrival
	vkCheck                // a request's stall and timeout check
	vkUser                 // a closed-loop user starts
	vkPower                // a power sample
)

// vevent is an event of the virtual-time loop at virtual time at (ns).
type vevent struct {
	at   int64
	seq  uint64
	kind vkind
	st   step   // vkSend
	tree *vtree // vkSend: the tree it belongs to (nil in timestamp mode)
	req  *vreq  // vkCheck
	user int    // vkUser: local index; vkArrival: arrival index
}

type veventHeap []vevent

func (h veventHeap) Len() int { return len(h) }
func (h veventHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h veventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *veventHeap) Push(x any)   { *h = append(*h, x.(vevent)) }
func (h *veventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// vtree is one tree being replayed by a user in virtual time.
type vtree struct {
	tr   *treeRun
	conv conversation
	// user is the closed-loop user replaying it (nil for Poisson
	// arrivals, which replay one tree and end).
	user *vuser
}

// vuser is a closed-loop user of a virtual-time level.
type vuser struct {
	us    *user
	off   int // offset into the roots
	trees int // trees started
}

// vreq is a request in flight in virtual time.
type vreq struct {
	seq    uint64
	st     step
	tree   *vtree
	us     *user
	api    string
	phase  string
	due    int64 // scheduled, virtual ns
	sent   int64
	adm    *sim.Admission
	req    *sim.Request
	arrive float64 // the simulator's arrival time, s
	// first is the first delivery's offset from sent (-1 before it);
	// lastRead the virtual time of the latest delivery (or the send).
	first    time.Duration
	lastRead int64
	lastAt   float64 // the latest delivery's simulated time, s
	chunks   []time.Duration
	// front, while chunks are front[1:]'s, is the chunks' array with a
	// slot before them for a lead event's offset (complete).
	front   []time.Duration
	release func()
}

// vlevel is the state of one level run in virtual time.
type vlevel struct {
	r     *runner
	vt    *virtualTarget
	lv    *levelRun
	q     veventHeap
	seq   uint64
	live  map[*sim.Request]*vreq
	users []*vuser
	local []int
	ramp  time.Duration
	// poisson arrivals
	rng      *rand.Rand
	nextArr  int64
	arrivals int
	// windowEnd is the steady window's end (virtual ns), moved on when
	// the window is extended; capEnd is the furthest it may move.
	windowEnd, capEnd int64
	extended          time.Duration
	extendWhy         string
	capped            bool
}

func (l *vlevel) push(e vevent) {
	e.seq = l.seq
	l.seq++
	heap.Push(&l.q, e)
}

// runLevelVirtual is runLevel in virtual time: the level starts where the
// previous one ended on the virtual clock and runs to its end, judged and
// reported as a wall-clock level is.
func (r *runner) runLevelVirtual(parent context.Context, index, users int, warmup, steady time.Duration) LevelReport {
	cfg := r.cfg
	vt := r.virt
	if vt.origin.IsZero() {
		vt.origin = r.clock.origin
		vt.nextSample = int64(time.Second)
		vt.power.RunID = cfg.RunID
		vt.joules = vt.v.AcceleratorJoules(nil)
	}
	if cfg.Mode == ModeTimestamps && steady <= 0 {
		span := r.timestampSpan()
		steady = max(time.Duration(span)-warmup, 0) + time.Millisecond
	}
	wall0 := time.Now()
	cpu0 := r.cpu()
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	start := vt.at(vt.now)
	lv := &levelRun{r: r, index: index, users: users, start: start, ctx: ctx, cancel: cancel,
		windowStart: start.Add(warmup), steady: steady, lag: newLagRecorder(), virtual: true,
	}
	lv.windowEnd = lv.windowStart.Add(steady)
	lv.report = LevelReport{Index: index, Users: users, SessionsByAgent: map[string]int{}}
	lv.report.acc = analyze.NewLevelAccumulator(1)
	r.enter(lv)
	l := &vlevel{r: r, vt: vt, lv: lv, live: map[*sim.Request]*vreq{}}
	l.windowEnd = vt.ns(lv.windowEnd)
	l.capEnd = l.windowEnd
	if cfg.Mode == ModeClosed && cfg.MaxSteady >= 0 {
		maxSteady := cfg.MaxSteady
		if maxSteady == 0 {
			maxSteady = DefaultMaxSteady
		}
		l.capEnd = vt.ns(lv.windowStart) + int64(max(maxSteady, steady))
	}
	l.begin(warmup)
	interrupted := l.loop()
	lv.stopping.Store(true)
	cause := errLevelEnd
	if interrupted {
		cause = context.Canceled
	}
	l.cancelAll(cause)
	cancel(cause)
	lv.steady = time.Duration(l.windowEnd - vt.ns(lv.windowStart))
	lv.windowEnd = vt.at(l.windowEnd)
	rep := lv.finishReport(time.Since(wall0), r.cpu()-cpu0, interrupted)
	rep.SteadyWindow = lv.steady
	rep.Extended, rep.ExtendedWhy, rep.ExtendCapped = l.extended, l.extendWhy, l.capped
	if l.extended > 0 {
		r.log.Info("steady window extended", "level", index, "users", users, "by", l.extended, "why", l.extendWhy)
	}
	r.cur.Store(nil)
	return rep
}

// begin schedules the level's first events: the users' starts, the first
// Poisson arrival or every recorded arrival.
func (l *vlevel) begin(warmup time.Duration) {
	r, lv := l.r, l.lv
	start := l.vt.ns(lv.start)
	l.pushPower()
	switch r.cfg.Mode {
	case ModePoisson:
		sh := r.plan.Shard
		l.rng = rand.New(rand.NewPCG(r.cfg.Seed, uint64(sh.Index)+1))
		l.nextArr = start
		l.scheduleArrival()
	case ModeTimestamps:
		all := r.recordedArrivals()
		if len(all) == 0 {
			return
		}
		t0 := all[0].t.StartNS
		for _, a := range all {
			due := lv.start.Add(r.clock.Wall(a.t.StartNS - t0))
			st := step{b: &branch{us: &user{index: a.user}}, t: a.t, due: due}
			l.push(vevent{at: l.vt.ns(due), kind: vkSend, st: st})
		}
	default:
		ramp := r.cfg.RampUp
		if ramp == 0 {
			ramp = min(warmup/2, 30*time.Second)
		}
		l.ramp = ramp
		l.local = r.localUsers(lv.users)
		lv.mu.Lock()
		lv.report.LocalUsers = len(l.local)
		lv.mu.Unlock()
		n := len(l.local)
		for k, u := range l.local {
			delay := time.Duration(0)
			if n > 1 {
				delay = r.clock.Wall(int64(ramp) * int64(k) / int64(n))
			}
			l.users = append(l.users, &vuser{us: &user{index: u}, off: r.forest.userOffset(k, n)})
			l.push(vevent{at: start + int64(delay), kind: vkUser, user: k})
		}
	}
}

// scheduleArrival draws the next Poisson arrival.
func (l *vlevel) scheduleArrival() {
	sh := l.r.plan.Shard
	rate := l.r.cfg.SessionsPerSecond
	if sh.Count > 1 {
		rate /= float64(sh.Count)
	}
	gap := l.rng.ExpFloat64() / rate
	l.nextArr += int64(l.r.clock.Wall(int64(gap * 1e9)))
	l.push(vevent{at: l.nextArr, kind: vkArrival, user: l.arrivals})
	l.arrivals++
}

// pushPower schedules the next power sample.
func (l *vlevel) pushPower() {
	l.push(vevent{at: l.vt.nextSample, kind: vkPower})
}

// loop runs the level's events to its end and reports whether the run
// was interrupted.
func (l *vlevel) loop() (interrupted bool) {
	r, vt, lv := l.r, l.vt, l.lv
	draining := false
	var drainEnd int64
	for n := 0; ; n++ {
		if n&1023 == 0 && lv.ctx.Err() != nil {
			return true
		}
		te, engine := vt.v.Next()
		tq := l.q[0].at // the power sample keeps the queue non-empty
		useEngine := engine && te <= secs(tq)
		next := tq
		if useEngine {
			next = max(int64(math.Round(te*1e9)), vt.now)
		}
		if !draining && next >= l.windowEnd {
			vt.setNow(max(vt.now, l.windowEnd))
			if l.extend() {
				continue
			}
			draining = true
			drainEnd = l.windowEnd + int64(r.cfg.DrainTimeout)
		}
		if draining && (lv.steadyInflight.Load() == 0 || next > drainEnd) {
			if next > drainEnd {
				vt.setNow(max(vt.now, drainEnd))
			}
			return false
		}
		if useEngine {
			vt.setNow(next)
			l.deliver(vt.v.RunUntil(te))
			continue
		}
		e := heap.Pop(&l.q).(vevent)
		vt.setNow(max(vt.now, e.at))
		l.deliver(vt.v.RunUntil(secs(vt.now)))
		l.handle(e)
	}
}

// virtualNow is the virtual clock's time for another goroutine, ns (0
// without a virtual target).
func (r *runner) virtualNow() int64 {
	if r.virt == nil {
		return 0
	}
	return r.virt.nowAtomic.Load()
}

func (vt *virtualTarget) setNow(ns int64) {
	vt.now = ns
	vt.nowAtomic.Store(ns)
}

// extend moves the steady window's end on when the level has not met
// AgentPerf's trajectory minimums yet, up to its cap; it reports whether it
// did.
func (l *vlevel) extend() bool {
	if l.windowEnd >= l.capEnd {
		if l.capEnd > l.vt.ns(l.lv.windowEnd) && l.short() != "" {
			l.capped = true
		}
		return false
	}
	why := l.short()
	if why == "" {
		return false
	}
	steady := l.vt.ns(l.lv.windowEnd) - l.vt.ns(l.lv.windowStart)
	by := max(steady/10, int64(time.Minute))
	old := l.windowEnd
	l.windowEnd = min(l.windowEnd+by, l.capEnd)
	l.extended += time.Duration(l.windowEnd - old)
	l.extendWhy = why
	l.lv.mu.Lock()
	l.lv.windowEnd = l.vt.at(l.windowEnd)
	l.lv.mu.Unlock()
	return true
}

// short says which of AgentPerf's trajectory minimums the level misses so
// far ("" when it meets them): the search's, else analyze's defaults.
func (l *vlevel) short() string {
	minAll, minAgent := analyze.DefaultMinTrajectories, analyze.DefaultMinTrajectoriesPerAgent
	if sc := l.r.cfg.Search; sc != nil {
		minAll, minAgent = sc.MinSessions, sc.MinPerAgent
	}
	lv := l.lv
	lv.mu.Lock()
	defer lv.mu.Unlock()
	if n := lv.report.CompletedSessions; minAll > 0 && n < minAll {
		return fmt.Sprintf("%d completed trajectories < %d", n, minAll)
	}
	if minAgent > 0 {
		agents := make([]string, 0, len(lv.report.SessionsByAgent))
		for a := range lv.report.SessionsByAgent {
			agents = append(agents, a)
		}
		slices.Sort(agents)
		for _, a := range agents {
			if n := lv.report.SessionsByAgent[a]; n < minAgent {
				return fmt.Sprintf("agent %q: %d trajectories < %d", a, n, minAgent)
			}
		}
	}
	return ""
}

// handle processes one queued event at the current virtual time.
func (l *vlevel) handle(e vevent) {
	r, vt := l.r, l.vt
	switch e.kind {
	case vkPower:
		vt.sample(r)
		l.pushPower()
	case vkUser:
		u := l.users[e.user]
		r.active.Add(1)
		if m := r.cfg.Metrics; m != nil {
			m.active.Inc()
		}
		l.startTree(u, vt.at(e.at))
	case vkArrival:
		i := e.user
		roots := r.forest.roots
		sh := r.plan.Shard
		u := i*max(sh.Count, 1) + sh.Index
		r.active.Add(1)
		tr, steps := r.startTree(roots[i%len(roots)], &user{index: u}, i/len(roots), vt.at(e.at))
		l.queue(&vtree{tr: tr, conv: r.builder.conversation(l.lv.index, u, i/len(roots))}, steps)
		l.scheduleArrival()
	case vkSend:
		l.send(e)
	case vkCheck:
		l.check(e.req)
	}
}

// startTree starts user u's next tree at at.
func (l *vlevel) startTree(u *vuser, at time.Time) {
	roots := l.r.forest.roots
	i := u.trees
	u.trees++
	s := roots[(u.off+i)%len(roots)]
	pass := i / len(roots)
	tr, steps := l.r.startTree(s, u.us, pass, at)
	l.queue(&vtree{tr: tr, conv: l.r.builder.conversation(l.lv.index, u.us.index, pass), user: u}, steps)
}

// queue schedules steps of tree t, each held for the drain when it is due
// in the steady window.
func (l *vlevel) queue(t *vtree, steps []step) {
	for _, st := range steps {
		l.push(vevent{at: l.vt.ns(st.due), kind: vkSend, st: st, tree: t})
	}
}

// send builds, admits and submits a due turn at the current virtual time.
func (l *vlevel) send(e vevent) {
	r, vt, lv := l.r, l.vt, l.lv
	st := e.st
	us := st.b.us
	var conv conversation
	if e.tree != nil {
		conv = e.tree.conv
	} else {
		// timestamp mode: each recorded request once, as the user it was
		conv = r.builder.conversation(lv.index, us.index, 0)
	}
	x := &vreq{seq: e.seq, st: st, tree: e.tree, us: us, due: vt.ns(st.due), sent: vt.now, first: -1, lastRead: vt.now}
	x.phase = lv.phase(st.due)
	x.release = lv.hold(st.due)
	if x.tree == nil {
		r.active.Add(1)
	}
	api, edits, at, berr := r.builder.prepareEdits(st.t, conv, &us.salt, nil)
	x.api = api
	var adm *sim.Admission
	var err error
	if berr == nil {
		adm, berr, err = vt.admitTurn(r.builder, st.t, api, edits, at, &us.parts)
	}
	if berr != nil {
		l.finish(x, Response{First: -1, Err: "building request: " + berr.Error(), Usage: noUsage})
		return
	}
	if err != nil {
		rep := Response{First: -1, Usage: noUsage, Err: err.Error()}
		var re *sim.RequestError
		if errors.As(err, &re) {
			rep.Status = re.Status
			rep.Err = statusError(re.Status, re.Body())
		}
		l.finish(x, rep)
		return
	}
	x.adm = adm
	x.arrive = secs(vt.now)
	x.req = vt.v.SubmitAdmission(adm, x.arrive)
	if n := adm.OutputTokens; n > 0 {
		x.front = make([]time.Duration, 1, min(n+4, maxVirtualChunks)+1)
		x.chunks = x.front[1:1]
	}
	l.live[x.req] = x
	l.push(vevent{at: l.nextCheck(x), kind: vkCheck, req: x})
}

// nextCheck is when x may next have stalled or timed out.
func (l *vlevel) nextCheck(x *vreq) int64 {
	return min(x.lastRead+int64(l.r.cfg.StallTimeout), x.sent+int64(l.r.cfg.RequestTimeout))
}

// check cancels x when it has run past the request timeout or received
// nothing for the stall timeout, as the wall-clock watchdog does.
func (l *vlevel) check(x *vreq) {
	if l.live[x.req] != x {
		return
	}
	now := l.vt.now
	switch {
	case now-x.sent >= int64(l.r.cfg.RequestTimeout):
		l.cut(x, errTimedOut)
	case now-x.lastRead >= int64(l.r.cfg.StallTimeout):
		l.cut(x, errStalled)
	default:
		l.push(vevent{at: l.nextCheck(x), kind: vkCheck, req: x})
	}
}

// deliver takes the simulator's token deliveries.
func (l *vlevel) deliver(outs []sim.Output) {
	for _, o := range outs {
		x := l.live[o.Req]
		if x == nil {
			continue
		}
		d := time.Duration(math.Round((o.At - x.arrive) * 1e9))
		if o.First {
			x.first = d
		}
		x.lastRead = max(x.lastRead, int64(math.Round(o.At*1e9)))
		x.lastAt = o.At
		n := o.Tokens
		if l.vt.coalesce {
			n = 1
		}
		if k := min(n, maxVirtualChunks-len(x.chunks)); k > 0 {
			at := len(x.chunks)
			if cap(x.chunks)-at < k {
				x.front = nil // the chunks move
			}
			x.chunks = slices.Grow(x.chunks, k)[:at+k]
			for i := range x.chunks[at:] {
				x.chunks[at+i] = d
			}
		}
		if o.Done {
			delete(l.live, o.Req)
			l.complete(x, d, true, "")
		}
	}
}

// complete ends x: its response ended end after its send; complete is set
// when the stream reached its end, else err says why it was cut.
func (l *vlevel) complete(x *vreq, end time.Duration, complete bool, err string) {
	started := x.first >= 0
	sv := x.adm.Served(x.req, started, complete)
	chunks := x.chunks
	if sv.Lead == 1 && started && x.front != nil {
		// The slot before the chunks: the same slice as below, without
		// a copy.
		chunks = x.front[:1+len(chunks)]
		chunks[0] = x.first
		if len(chunks) > maxVirtualChunks {
			chunks = chunks[:maxVirtualChunks]
		}
	} else if sv.Lead > 0 && started {
		lead := slices.Repeat([]time.Duration{x.first}, sv.Lead)
		chunks = append(lead, chunks...)
		if len(chunks) > maxVirtualChunks {
			chunks = chunks[:maxVirtualChunks]
		}
	}
	rep := Response{Status: 200, First: x.first, End: end, Chunks: chunks, Usage: sv.Usage, Err: sv.Err}
	if started {
		rep.Sim = true
		rep.SimEnd = time.Duration(math.Round((x.lastAt - x.arrive) * 1e9))
		if complete {
			rep.SimEnd = end
		}
	}
	if err != "" {
		rep.Err = err
	}
	l.finish(x, rep)
}

// cut cancels x with cause at the current virtual time.
func (l *vlevel) cut(x *vreq, cause error) {
	delete(l.live, x.req)
	l.vt.v.Cancel(x.req)
	l.complete(x, time.Duration(l.vt.now-x.sent), false, describe(cancelled(cause), cause))
}

// cancelled returns a context ended with cause, for describe.
func cancelled(cause error) context.Context {
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	return ctx
}

// cancelAll cuts every request in flight when the level ends, in the order
// they were sent.
func (l *vlevel) cancelAll(cause error) {
	xs := make([]*vreq, 0, len(l.live))
	for _, x := range l.live {
		xs = append(xs, x)
	}
	slices.SortFunc(xs, func(a, b *vreq) int { return int(a.seq) - int(b.seq) })
	for _, x := range xs {
		l.cut(x, cause)
	}
	// Every user, arrival and request of the level has ended.
	l.r.active.Store(0)
	if m := l.r.cfg.Metrics; m != nil {
		m.active.Set(0)
	}
}

// finish writes x's row and moves its tree on.
func (l *vlevel) finish(x *vreq, rep Response) {
	r, vt := l.r, l.vt
	end, failed := r.record(l.lv, x.us, x.st.t, x.api, x.phase, vt.at(x.due), vt.at(x.sent), rep)
	x.release()
	if x.tree == nil {
		r.active.Add(-1)
		return
	}
	if l.lv.stopping.Load() {
		return
	}
	steps, done := x.tree.tr.finished(x.st, end, failed, nil)
	l.queue(x.tree, steps)
	if !done {
		return
	}
	l.lv.sessionDone(x.tree.tr.root.s)
	if u := x.tree.user; u != nil {
		l.startTree(u, x.tree.tr.end)
		return
	}
	r.active.Add(-1)
}

// sample records the simulator's power at the current virtual time: each
// accelerator's mean power since the previous sample.
func (vt *virtualTarget) sample(r *runner) {
	now := vt.now
	prev := vt.joules
	cur := vt.v.AcceleratorJoules(vt.samples[:0])
	vt.samples = prev[:0]
	vt.joules = cur
	vt.nextSample = now + int64(time.Second)
	if len(cur) == 0 || len(prev) != len(cur) {
		return
	}
	dt := float64(time.Second) / 1e9
	s := power.Sample{Source: simPowerLabel, System: simPowerLabel, Shard: max(r.plan.Shard.Index, 0),
		TimeNS: r.clock.World(vt.at(now)), GPUWatts: make([]float64, len(cur))}
	s.WallNS = s.TimeNS
	for i := range cur {
		w := (cur[i] - prev[i]) / dt
		s.GPUWatts[i] = w
		s.Watts += w
	}
	vt.power.Samples = append(vt.power.Samples, s)
}

// simPowerLabel names the simulator's power in the power file: its source
// and its system.
const simPowerLabel = power.SourceModelled

// finishSimPower writes a virtual-time run's modelled power to the power
// file (Config.PowerFile; none when empty) and records it in the
// metadata, as measured power is (power.go).
func (r *runner) finishSimPower() {
	rec := r.virt.power
	if len(rec.Samples) == 0 {
		return // hardware without power figures
	}
	pm := &schemas.PowerMeta{Samples: len(rec.Samples), Sources: []string{simPowerLabel}}
	r.savePower(pm, rec)
	r.meta.Power = pm
}
