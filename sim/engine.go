package sim

import (
	"math"

	"github.com/agentperf/agentperf/tokens"
)

// BlockTokens is the prefix-cache block size, tokens (tokens.BlockSize).
const BlockTokens = tokens.BlockSize

// Request is one generation as the engine sees it: a prompt of
// PromptTokens whose 512-token blocks hash to Blocks, and an exact output
// length. The engine fills the result fields.
type Request struct {
	// PromptTokens is the prompt length, tokens (≥ 1).
	PromptTokens int
	// Blocks are the chained block hashes of the prompt
	// (tokens.BlockHashes); only full blocks are cached.
	Blocks []int64
	// OutputTokens is the exact number of tokens to generate (≥ 1).
	OutputTokens int
	// Seed drives the request's speculative-acceptance draws.
	Seed uint64

	// Arrival is the simulated time the engine received the request, s.
	Arrival float64
	// CachedTokens is the prompt tokens served from the prefix cache when
	// the request was first scheduled.
	CachedTokens int
	// FirstToken and Finished are simulated times, s; Generated counts
	// the tokens produced so far.
	FirstToken, Finished float64
	Generated            int
	// Preemptions counts how often the request lost its KV cache.
	Preemptions int

	// sink is the server's per-stream state (nil in engine tests).
	sink *stream
	seq  *seq
	// vlive is set while a Virtual streams the request, and vsent is the
	// tokens it delivered so far.
	vlive bool
	vsent int
}

// Output reports that Req produced Tokens new tokens at simulated time At
// (s); First marks its first token, Done its last.
type Output struct {
	Req    *Request
	Tokens int
	// Generated is the request's token count after this output (Req's
	// count may have moved on when one RunUntil covers several outputs).
	Generated int
	First     bool
	Done      bool
	At        float64
}

type seqState uint8

const (
	stWaiting  seqState = iota
	stArriving          // submitted, not yet admitted to an instance (request latency)
	stRunning
	stTransfer
	stDone
)

// seq is the engine's state of one request on one instance.
type seq struct {
	r         *Request
	state     seqState
	inst      *instance
	ctx       int      // tokens with KV computed on this instance
	target    int      // tokens to compute before the next token comes out (prompt + generated)
	private   int      // KV tokens owned alone (not in shared blocks)
	fixed     int      // per-sequence KV (sliding window), tokens
	shared    []*block // prefix-cache blocks referenced, in prompt order
	nBlocks   int      // prompt blocks already offered to the cache
	looked    bool     // CachedTokens recorded
	cancelled bool
	remote    bool // arrived by KV transfer: needs ctx tokens of KV at admission
	rng       uint64
	order     uint64 // admission order, for deterministic tie-breaks
}

// block is one cached 512-token prompt block.
type block struct {
	hash       int64
	ref        int32
	prev, next *block // LRU list of unreferenced blocks
}

// prefixCache maps block hashes to cached blocks; unreferenced blocks sit
// in an LRU list and are evicted from its head.
type prefixCache struct {
	m          map[int64]*block
	head, tail *block
	free       int // unreferenced blocks
}

func (c *prefixCache) unlink(b *block) {
	if b.prev != nil {
		b.prev.next = b.next
	} else {
		c.head = b.next
	}
	if b.next != nil {
		b.next.prev = b.prev
	} else {
		c.tail = b.prev
	}
	b.prev, b.next = nil, nil
	c.free--
}

func (c *prefixCache) pushTail(b *block) {
	b.prev, b.next = c.tail, nil
	if c.tail != nil {
		c.tail.next = b
	} else {
		c.head = b
	}
	c.tail = b
	c.free++
}

type instRole uint8

const (
	roleUnified instRole = iota
	rolePrefill
	roleDecode
)

// instance is one engine instance: TP accelerators with their own
// scheduler, KV cache and prefix cache.
type instance struct {
	id       int
	role     instRole
	running  []*seq
	waiting  []*seq
	busy     bool
	freeAt   float64 // end of the last iteration, s
	batch    []*seq
	work     []work
	kvUsed   int
	cache    prefixCache
	lastCost iterationCost

	// statistics
	iterations int64
	busyTime   float64

	// energy of one of the instance's accelerators: joules over [0, iterStart],
	// the current (or last) iteration's span and power.
	joules             float64
	iterStart, iterEnd float64
	iterWatts          float64
}

type eventKind uint8

const (
	evIteration eventKind = iota
	evTransfer
	evArrival
)

type event struct {
	t    float64
	n    uint64
	kind eventKind
	inst *instance
	s    *seq
}

type eventHeap []event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].t != h[j].t {
		return h[i].t < h[j].t
	}
	return h[i].n < h[j].n
}

// push adds ev. Events are ordered by time, then by their sequence number
// n, which is unique: any heap pops them in the same order. Typed, so no
// event is boxed into an interface (as container/heap would).
func (h *eventHeap) push(ev event) {
	*h = append(*h, ev)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s.Less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

// pop removes and returns the first event; the heap must not be empty.
func (h *eventHeap) pop() event {
	s := *h
	n := len(s) - 1
	first := s[0]
	s[0] = s[n]
	s = s[:n]
	for i := 0; ; {
		c := 2*i + 1
		if c >= n {
			break
		}
		if r := c + 1; r < n && s.Less(r, c) {
			c = r
		}
		if !s.Less(c, i) {
			break
		}
		s[i], s[c] = s[c], s[i]
		i = c
	}
	*h = s
	return first
}

// Engine is a discrete-event model of a continuous-batching serving
// deployment: instances that each run iterations whose length comes from
// the roofline cost model. It has no clock of its own and no goroutines:
// Submit and RunUntil take simulated times, so the same calls give the
// same results. It is not safe for concurrent use.
type Engine struct {
	plan    *Plan
	cost    costModel
	now     float64
	insts   []*instance // unified or decode instances
	pinsts  []*instance // prefill instances (disaggregated)
	events  eventHeap
	nEvents uint64
	nSeqs   uint64
	outs    []Output
	lastReq *Request

	maxBatch, maxTokens int
	chunked, caching    bool
	kvCap, window       int
	draft               int
	accept              float64
	latency             float64 // request latency, s
	power               powerModel

	// PromptTokens, CachedTokens and GeneratedTokens count tokens over the
	// engine's life; Preemptions and Finished count requests.
	PromptTokens, CachedTokens, GeneratedTokens int64
	Preemptions, Finished                       int64
}

// NewEngine returns an idle engine for plan.
func NewEngine(plan *Plan) *Engine {
	e := &Engine{
		plan:      plan,
		cost:      plan.cost,
		maxBatch:  plan.cfg.MaxBatch,
		maxTokens: plan.cfg.MaxBatchTokens,
		chunked:   !plan.cfg.DisableChunkedPrefill,
		caching:   !plan.cfg.DisablePrefixCache,
		kvCap:     plan.KVTokens,
		window:    plan.windowTokens(),
		draft:     plan.knobs.draftTokens,
		accept:    plan.knobs.acceptance,
		latency:   plan.knobs.requestLatency,
		power:     newPowerModel(plan.Hardware),
	}
	role := roleUnified
	if plan.PrefillInstances > 0 {
		role = roleDecode
		for i := 0; i < plan.PrefillInstances; i++ {
			e.pinsts = append(e.pinsts, e.newInstance(i, rolePrefill))
		}
	}
	for i := 0; i < plan.Instances; i++ {
		e.insts = append(e.insts, e.newInstance(i, role))
	}
	return e
}

func (e *Engine) newInstance(id int, role instRole) *instance {
	return &instance{id: id, role: role, cache: prefixCache{m: make(map[int64]*block)}}
}

// Now is the simulated time of the last processed event, s.
func (e *Engine) Now() float64 { return e.now }

// Next returns the time of the next pending event; ok is false when the
// engine is idle.
func (e *Engine) Next() (t float64, ok bool) {
	if len(e.events) == 0 {
		return 0, false
	}
	return e.events[0].t, true
}

func (e *Engine) push(ev event) {
	ev.n = e.nEvents
	e.nEvents++
	e.events.push(ev)
}

// Submit adds r, which arrived at simulated time at. Call RunUntil first
// so events up to the present are processed. at may lie a little in the
// past (the server stamps a request when it arrives, then spends wall time
// reading and counting it): an idle instance then starts the request's
// iteration at max(at, the end of its last iteration), so host work does not
// delay the simulated first token; a busy instance queues it as usual.
// With a request latency (the engine profile's API-server time) the
// request reaches the scheduler that much later; its TTFT counts it.
func (e *Engine) Submit(r *Request, at float64) {
	if at > e.now {
		e.now = at
	}
	r.Arrival = at
	r.Generated, r.CachedTokens, r.Preemptions = 0, 0, 0
	if r.PromptTokens < 1 {
		r.PromptTokens = 1
	}
	if r.OutputTokens < 1 {
		r.OutputTokens = 1
	}
	s := &seq{r: r, target: r.PromptTokens, rng: r.Seed*0x9E3779B97F4A7C15 + 1, order: e.nSeqs}
	e.nSeqs++
	r.seq = s
	e.lastReq = r
	e.PromptTokens += int64(r.PromptTokens)
	if e.latency > 0 {
		s.state = stArriving
		e.push(event{t: at + e.latency, kind: evArrival, s: s})
		return
	}
	e.admit(s, at)
}

// admit routes s to an instance at simulated time at.
func (e *Engine) admit(s *seq, at float64) {
	r := s.r
	pool := e.insts
	if len(e.pinsts) > 0 {
		pool = e.pinsts
	}
	inst := e.route(pool, r)
	e.enqueue(inst, s, at)
}

func (e *Engine) enqueue(inst *instance, s *seq, at float64) {
	s.inst, s.state = inst, stWaiting
	inst.waiting = append(inst.waiting, s)
	if !inst.busy {
		e.start(inst, max(at, inst.freeAt))
	}
}

// route picks the instance for a new request: the one holding the longest
// cached prefix of it when that prefix covers more than half the prompt
// (SGLang router's cache_threshold 0.5) and that instance is not much busier
// than the least loaded; otherwise the least loaded (cache-aware routing as
// in SGLang's router). Without the threshold, a prefix every session shares
// (system prompt, tools) would pull all new sessions onto one instance.
func (e *Engine) route(pool []*instance, r *Request) *instance {
	if len(pool) == 1 {
		return pool[0]
	}
	full := r.PromptTokens / BlockTokens
	best, bestHit := pool[0], -1
	least, leastLoad := pool[0], math.MaxInt
	for _, in := range pool {
		load := len(in.running) + len(in.waiting)
		if load < leastLoad {
			least, leastLoad = in, load
		}
		hit := 0
		if e.caching {
			for hit < full && hit < len(r.Blocks) {
				if _, ok := in.cache.m[r.Blocks[hit]]; !ok {
					break
				}
				hit++
			}
		}
		if hit > bestHit || (hit == bestHit && load < len(best.running)+len(best.waiting)) {
			best, bestHit = in, hit
		}
	}
	if bestHit <= 0 || 2*bestHit <= full {
		return least
	}
	if bl := len(best.running) + len(best.waiting); bl > 2*leastLoad+16 {
		return least
	}
	return best
}

// Cancel removes r (a client went away) and frees its KV cache.
func (e *Engine) Cancel(r *Request) {
	s := r.seq
	if s == nil || s.state == stDone || s.cancelled {
		return
	}
	s.cancelled = true
	in := s.inst
	switch s.state {
	case stArriving:
		// the arrival event finds it cancelled
	case stWaiting:
		in.waiting = removeSeq(in.waiting, s)
	case stRunning:
		in.running = removeSeq(in.running, s)
		e.release(s)
	}
	s.state = stDone
}

func removeSeq(list []*seq, s *seq) []*seq {
	for i, x := range list {
		if x == s {
			copy(list[i:], list[i+1:])
			list[len(list)-1] = nil
			return list[:len(list)-1]
		}
	}
	return list
}

// RunUntil processes every event up to simulated time t and returns the
// tokens produced, in time order. The slice is reused by the next call.
func (e *Engine) RunUntil(t float64) []Output {
	e.outs = e.outs[:0]
	for len(e.events) > 0 && e.events[0].t <= t {
		ev := e.events.pop()
		e.now = ev.t
		switch ev.kind {
		case evIteration:
			ev.inst.freeAt = ev.t
			e.finishIteration(ev.inst, ev.t)
			e.start(ev.inst, ev.t)
		case evArrival:
			if !ev.s.cancelled {
				e.admit(ev.s, ev.t)
			}
		case evTransfer:
			s := ev.s
			if s.cancelled {
				continue
			}
			e.emit(s, 1, ev.t)
			if s.state == stDone {
				continue
			}
			dst := e.leastKV(e.insts)
			s.remote, s.ctx, s.private, s.fixed = true, s.target, 0, 0
			e.enqueue(dst, s, ev.t)
		}
	}
	if t > e.now {
		e.now = t
	}
	return e.outs
}

func (e *Engine) leastKV(pool []*instance) *instance {
	best := pool[0]
	for _, in := range pool[1:] {
		if in.kvUsed+len(in.waiting)*BlockTokens < best.kvUsed+len(best.waiting)*BlockTokens {
			best = in
		}
	}
	return best
}

// emit records n new tokens of s at time t.
func (e *Engine) emit(s *seq, n int, t float64) {
	r := s.r
	first := r.Generated == 0
	if first {
		r.FirstToken = t
	}
	r.Generated += n
	e.GeneratedTokens += int64(n)
	out := Output{Req: r, Tokens: n, Generated: r.Generated, First: first, At: t}
	if r.Generated >= r.OutputTokens {
		out.Done = true
		r.Finished = t
		s.state = stDone
		e.Finished++
	}
	e.outs = append(e.outs, out)
}

// start forms the next batch of inst at time t and schedules its end.
func (e *Engine) start(inst *instance, t float64) {
	inst.busy = false
	e.schedule(inst)
	if len(inst.batch) == 0 {
		return
	}
	inst.lastCost = e.cost.iteration(inst.work)
	d := inst.lastCost.Total()
	inst.busy = true
	inst.iterations++
	inst.busyTime += d
	e.power.startIteration(inst, t, d, inst.lastCost)
	e.push(event{t: t + d, kind: evIteration, inst: inst})
}

// schedule fills inst.batch/inst.work for one iteration, vLLM-style:
// running sequences first (decodes and unfinished prefill chunks), then
// waiting ones in arrival order while the token budget, the batch size and
// the KV cache allow; a running sequence that cannot get KV preempts the
// most recently admitted one.
func (e *Engine) schedule(in *instance) {
	in.batch, in.work = in.batch[:0], in.work[:0]
	budget := e.maxTokens
	preempted := false
	for i := 0; i < len(in.running) && budget > 0; i++ {
		s := in.running[i]
		var w work
		if s.ctx < s.target {
			q := s.target - s.ctx
			if e.chunked {
				q = min(q, budget)
			} else if q > budget && len(in.batch) > 0 {
				continue
			}
			w = work{q: q, ctx: s.ctx}
		} else {
			q := 1
			if e.draft > 0 {
				q += min(e.draft, max(s.r.OutputTokens-s.r.Generated-1, 0))
			}
			if q > budget {
				break
			}
			w = work{q: q, ctx: s.ctx, decode: true}
		}
		for !e.alloc(in, w.q) {
			victim := in.running[len(in.running)-1]
			e.preempt(in, victim)
			preempted = true
			if victim == s {
				break
			}
		}
		if s.state != stRunning {
			break
		}
		s.private += w.q
		in.batch = append(in.batch, s)
		in.work = append(in.work, w)
		budget -= w.q
	}
	if preempted {
		return
	}
	for len(in.waiting) > 0 && budget > 0 && len(in.running) < e.maxBatch {
		s := in.waiting[0]
		hits := 0
		if !s.remote {
			hits = e.lookup(in, s)
		}
		var q, need int // tokens computed this iteration; KV tokens to reserve
		if s.remote {
			q = 1
			need = s.ctx + q
		} else {
			q = s.target - hits*BlockTokens
			if e.chunked {
				q = min(q, budget)
			} else if q > budget && len(in.batch) > 0 {
				break
			}
			need = q
		}
		// Blocks about to be referenced stop being evictable.
		pinned := 0
		for i := 0; i < hits; i++ {
			if in.cache.m[s.r.Blocks[i]].ref == 0 {
				pinned++
			}
		}
		if e.kvCap-in.kvUsed+(in.cache.free-pinned)*BlockTokens < need+e.window {
			break
		}
		in.waiting = in.waiting[1:]
		for i := 0; i < hits; i++ {
			b := in.cache.m[s.r.Blocks[i]]
			if b.ref == 0 {
				in.cache.unlink(b)
			}
			b.ref++
			s.shared = append(s.shared, b)
		}
		if !s.looked && !s.remote {
			s.looked = true
			s.r.CachedTokens = hits * BlockTokens
			e.CachedTokens += int64(hits * BlockTokens)
		}
		if !s.remote {
			s.nBlocks = hits
			s.ctx = hits * BlockTokens
		}
		if !e.alloc(in, need+e.window) {
			panic("sim: KV admission check and allocation disagree")
		}
		s.fixed = e.window
		s.private = need
		s.state = stRunning
		in.running = append(in.running, s)
		in.batch = append(in.batch, s)
		in.work = append(in.work, work{q: q, ctx: s.ctx, decode: s.remote})
		budget -= q
	}
}

// lookup returns how many leading full prompt blocks of s are cached on
// in, leaving at least one prompt token to compute.
func (e *Engine) lookup(in *instance, s *seq) int {
	if !e.caching {
		return 0
	}
	full := min((s.r.PromptTokens-1)/BlockTokens, len(s.r.Blocks))
	hit := 0
	for hit < full {
		if _, ok := in.cache.m[s.r.Blocks[hit]]; !ok {
			break
		}
		hit++
	}
	return hit
}

// alloc reserves n KV tokens on in, evicting unreferenced cached blocks
// (least recently used first) when needed.
func (e *Engine) alloc(in *instance, n int) bool {
	for e.kvCap-in.kvUsed < n {
		b := in.cache.head
		if b == nil {
			return false
		}
		in.cache.unlink(b)
		delete(in.cache.m, b.hash)
		in.kvUsed -= BlockTokens
	}
	in.kvUsed += n
	return true
}

// release frees s's KV on its instance: private tokens go back, shared
// blocks lose a reference (unreferenced ones become evictable, the prompt's
// tail first so its head stays cached longest).
func (e *Engine) release(s *seq) {
	in := s.inst
	in.kvUsed -= s.private + s.fixed
	s.private, s.fixed = 0, 0
	for i := len(s.shared) - 1; i >= 0; i-- {
		b := s.shared[i]
		b.ref--
		if b.ref == 0 {
			in.cache.pushTail(b)
		}
	}
	s.shared = s.shared[:0]
}

// preempt evicts running sequence s (recompute mode): it loses its KV and
// goes back to the head of the waiting queue.
func (e *Engine) preempt(in *instance, s *seq) {
	in.running = removeSeq(in.running, s)
	e.release(s)
	s.state = stWaiting
	s.ctx = 0
	s.nBlocks = 0
	if s.remote {
		// A transferred sequence recomputes locally.
		s.remote = false
	}
	s.target = s.r.PromptTokens + s.r.Generated
	s.r.Preemptions++
	e.Preemptions++
	in.waiting = append([]*seq{s}, in.waiting...)
}

// finishIteration applies the effects of inst's iteration ending at t.
func (e *Engine) finishIteration(in *instance, t float64) {
	for i, s := range in.batch {
		w := in.work[i]
		if s.cancelled || s.state != stRunning || s.inst != in {
			continue
		}
		if !w.decode {
			s.ctx += w.q
			e.offerBlocks(in, s)
			if s.ctx < s.target {
				continue
			}
			if in.role == rolePrefill {
				// The prompt's KV moves to a decode instance; the first
				// token comes out when it lands.
				in.running = removeSeq(in.running, s)
				e.release(s)
				s.state = stTransfer
				e.push(event{t: t + e.plan.kvTransferSeconds(s.ctx), kind: evTransfer, s: s})
				continue
			}
			e.emit(s, 1, t)
		} else {
			n := 1
			if w.q > 1 {
				n += e.accepted(s, w.q-1)
			}
			n = min(n, s.r.OutputTokens-s.r.Generated)
			s.ctx += n
			s.private -= w.q - n
			in.kvUsed -= w.q - n
			s.remote = false
			e.emit(s, n, t)
		}
		if s.state == stDone {
			in.running = removeSeq(in.running, s)
			e.release(s)
		} else {
			s.target = s.ctx
		}
	}
}

// offerBlocks moves the newly completed full prompt blocks of s into the
// prefix cache (when no other sequence cached them first).
func (e *Engine) offerBlocks(in *instance, s *seq) {
	if !e.caching {
		return
	}
	full := min(min(s.ctx, s.r.PromptTokens)/BlockTokens, len(s.r.Blocks))
	for ; s.nBlocks < full; s.nBlocks++ {
		h := s.r.Blocks[s.nBlocks]
		if _, ok := in.cache.m[h]; ok {
			continue
		}
		b := &block{hash: h, ref: 1}
		in.cache.m[h] = b
		s.shared = append(s.shared, b)
		s.private -= BlockTokens
	}
}

// accepted draws how many of k draft tokens are accepted: each with
// probability accept, stopping at the first rejection.
func (e *Engine) accepted(s *seq, k int) int {
	n := 0
	for n < k {
		s.rng ^= s.rng << 13
		s.rng ^= s.rng >> 7
		s.rng ^= s.rng << 17
		if float64(s.rng>>11)/(1<<53) >= e.accept {
			break
		}
		n++
	}
	return n
}

// Stats is a snapshot of the engine's state: occupancy now (requests,
// KV tokens over all instances, cached blocks), counters since start, the
// simulated clock (s) and the cost breakdown of the last iteration started.
type Stats struct {
	Running, Waiting   int
	KVUsedTokens       int
	KVCapacityTokens   int
	CachedBlocks       int
	Iterations         int64
	BusySeconds        float64
	PromptTokens       int64
	CachedTokens       int64
	GeneratedTokens    int64
	Preemptions        int64
	FinishedRequests   int64
	SimulatedSeconds   float64
	LastIterationCost  iterationCost
	Instances          int
	PrefillInstances   int
	PrefillWaiting     int
	PrefillRunning     int
	TransfersInFlight  int
	OutstandingEvents  int
	InstanceKVUsedMax  int
	InstanceRunningMax int
	// Watts and Joules are each accelerator's modelled power at
	// SimulatedSeconds (W) and energy since the start (J), in the order of
	// Engine.AcceleratorWatts; nil when the hardware has no power figures.
	Watts, Joules []float64
}

// Stats returns a snapshot of the engine's counters and occupancy.
func (e *Engine) Stats() Stats {
	st := Stats{
		KVCapacityTokens: e.kvCap * (len(e.insts) + len(e.pinsts)),
		PromptTokens:     e.PromptTokens, CachedTokens: e.CachedTokens,
		GeneratedTokens: e.GeneratedTokens, Preemptions: e.Preemptions,
		FinishedRequests: e.Finished, SimulatedSeconds: e.now,
		Instances: len(e.insts), PrefillInstances: len(e.pinsts),
		OutstandingEvents: len(e.events),
	}
	for _, in := range e.insts {
		st.Running += len(in.running)
		st.Waiting += len(in.waiting)
		st.KVUsedTokens += in.kvUsed
		st.CachedBlocks += len(in.cache.m)
		st.Iterations += in.iterations
		st.BusySeconds += in.busyTime
		st.LastIterationCost = in.lastCost
		st.InstanceKVUsedMax = max(st.InstanceKVUsedMax, in.kvUsed)
		st.InstanceRunningMax = max(st.InstanceRunningMax, len(in.running))
	}
	for _, in := range e.pinsts {
		st.PrefillRunning += len(in.running)
		st.PrefillWaiting += len(in.waiting)
		st.KVUsedTokens += in.kvUsed
		st.CachedBlocks += len(in.cache.m)
		st.Iterations += in.iterations
		st.BusySeconds += in.busyTime
	}
	for _, ev := range e.events {
		if ev.kind == evTransfer {
			st.TransfersInFlight++
		}
	}
	if e.power.ok {
		st.Watts = e.AcceleratorWatts()
		st.Joules = make([]float64, 0, len(st.Watts))
		for _, pool := range [][]*instance{e.insts, e.pinsts} {
			for _, in := range pool {
				j := e.power.joules(in, e.now)
				for i := 0; i < e.plan.TP; i++ {
					st.Joules = append(st.Joules, j)
				}
			}
		}
	}
	return st
}
