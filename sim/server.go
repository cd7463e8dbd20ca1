package sim

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentperf/agentperf/tokens"
)

// ErrClosed is the failure of requests cut off by Server.Close.
var ErrClosed = errors.New("simulator shut down")

// Server is a simulated inference server: an HTTP handler for the OpenAI
// and Anthropic APIs in front of one Engine, driven in wall time by a
// single goroutine that maps simulated time to wall time through the time
// scale.
type Server struct {
	plan   *Plan
	eng    *Engine
	log    *slog.Logger
	scale  float64
	start  time.Time
	ops    chan op
	quit   chan struct{}
	done   chan struct{}
	closed atomic.Bool
	once   sync.Once

	counts  *countCache
	words   *wordTable
	metrics *metrics
	mux     *http.ServeMux
	reqSeq  atomic.Uint64

	// statsMu guards stats, the engine snapshot the loop publishes.
	statsMu sync.Mutex
	stats   Stats
	lag     atomic.Int64 // latest lag of the loop behind its schedule, ns
	// lagSum and lagCount accumulate the lag of every wake-up that found
	// events due: their ratio is the mean lateness of deliveries.
	lagSum, lagCount atomic.Int64
	live             map[*stream]struct{}
}

type opKind uint8

const (
	opSubmit opKind = iota
	opCancel
)

type op struct {
	kind opKind
	st   *stream
}

// New validates cfg and starts the engine loop. Close stops it.
func New(cfg Config) (*Server, error) {
	plan, err := Resolve(cfg)
	if err != nil {
		return nil, err
	}
	return NewFromPlan(plan), nil
}

// NewFromPlan starts a server for an already resolved plan.
func NewFromPlan(plan *Plan) *Server {
	log := plan.cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{
		plan:   plan,
		eng:    NewEngine(plan),
		log:    log,
		scale:  plan.TimeScale,
		start:  time.Now(),
		ops:    make(chan op, 4096),
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
		counts: newCountCache(),
		words:  defaultWords(),
		live:   make(map[*stream]struct{}),
	}
	tokens.Count("warm up") // load the tokenizer now, not on the first request
	s.metrics = newMetrics(s)
	s.mux = s.routes()
	log.Info("sim: started", "model", plan.Model.Name, "hardware", plan.Hardware.Name,
		"accelerators", plan.Accelerators, "tp", plan.TP, "instances", plan.Instances,
		"prefill_instances", plan.PrefillInstances, "kv_tokens_per_instance", plan.KVTokens,
		"context_tokens", plan.ContextTokens, "time_scale", plan.TimeScale)
	go s.loop()
	return s
}

// Plan returns the resolved deployment the server simulates.
func (s *Server) Plan() *Plan { return s.plan }

// TimeScale returns K: simulated time runs K× faster than wall time.
func (s *Server) TimeScale() float64 { return s.scale }

// Handler returns the HTTP handler serving every endpoint.
func (s *Server) Handler() http.Handler { return s.mux }

// HTTPServer returns an http.Server for Handler that speaks HTTP/1.1 and,
// to clients that open with it, HTTP/2 without TLS (h2c with prior
// knowledge, what `replay --http2` sends).
func (s *Server) HTTPServer() *http.Server {
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	return &http.Server{Handler: s.mux, ReadHeaderTimeout: 30 * time.Second, Protocols: &p}
}

// Close stops the engine; in-flight streams end with an error event and
// new requests are refused. It is safe to call more than once.
func (s *Server) Close() error {
	s.once.Do(func() {
		s.closed.Store(true)
		close(s.quit)
		<-s.done
	})
	return nil
}

// simNow is the simulated time now, s.
func (s *Server) simNow() float64 { return time.Since(s.start).Seconds() * s.scale }

// wallUntil is the wall time until simulated time t.
func (s *Server) wallUntil(t float64) time.Duration {
	return time.Duration((t/s.scale - time.Since(s.start).Seconds()) * 1e9)
}

// submit hands st to the engine loop; false when the server is closed.
func (s *Server) submit(st *stream) bool {
	if s.closed.Load() {
		return false
	}
	select {
	case s.ops <- op{kind: opSubmit, st: st}:
		return true
	case <-s.quit:
		return false
	}
}

func (s *Server) cancel(st *stream) {
	select {
	case s.ops <- op{kind: opCancel, st: st}:
	case <-s.quit:
	}
}

// loop is the engine's only goroutine: it runs the engine up to the
// simulated now, delivers the tokens produced, and sleeps on one timer
// until the next event or the next request.
func (s *Server) loop() {
	defer close(s.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		now := s.simNow()
		if next, ok := s.eng.Next(); ok && next <= now {
			lag := int64((now - next) / s.scale * 1e9)
			s.lag.Store(lag)
			s.lagSum.Add(lag)
			s.lagCount.Add(1)
		} else {
			s.lag.Store(0)
		}
		s.deliver(s.eng.RunUntil(now))
		s.publishStats()
		if next, ok := s.eng.Next(); ok {
			timer.Reset(s.wallUntil(next))
		}
		select {
		case o := <-s.ops:
			s.apply(o)
			// Take what else is queued, but a bounded batch, so a steady
			// stream of requests cannot keep the loop from its timer and
			// statistics.
			for n := 0; n < 256; n++ {
				select {
				case o := <-s.ops:
					s.apply(o)
					continue
				default:
				}
				break
			}
		case <-timer.C:
		case <-s.quit:
			timer.Stop()
			for st := range s.live {
				st.fail(ErrClosed)
			}
			s.live = nil
			return
		}
		timer.Stop()
	}
}

func (s *Server) apply(o op) {
	switch o.kind {
	case opSubmit:
		s.deliver(s.eng.RunUntil(s.simNow()))
		s.live[o.st] = struct{}{}
		s.eng.Submit(&o.st.req, o.st.arrival)
	case opCancel:
		if _, ok := s.live[o.st]; ok {
			s.eng.Cancel(&o.st.req)
			delete(s.live, o.st)
		}
	}
}

// deliver hands each output to its stream.
func (s *Server) deliver(outs []Output) {
	for _, o := range outs {
		st := o.Req.sink
		if st == nil {
			continue
		}
		if o.First {
			st.cached.Store(int64(o.Req.CachedTokens))
		}
		st.publish(o.Generated, o.At, o.Done)
		if o.Done {
			delete(s.live, st)
		}
	}
}

func (s *Server) publishStats() {
	st := s.eng.Stats()
	s.statsMu.Lock()
	s.stats = st
	s.statsMu.Unlock()
}

// Stats returns the latest engine snapshot.
func (s *Server) Stats() Stats {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	return s.stats
}

// Lag is how far the engine loop was behind its schedule at its last
// wake-up (wall time); a loaded machine shows here first.
func (s *Server) Lag() time.Duration { return time.Duration(s.lag.Load()) }

// stream is the state one request shares between its HTTP handler and the
// engine loop: the loop publishes token counts, the handler renders them.
type stream struct {
	req     Request
	arrival float64 // simulated time the request reached the handler
	notify  chan struct{}
	tokens  atomic.Int64
	cached  atomic.Int64
	state   atomic.Int32 // 0 running, 1 done, 2 failed
	err     error

	// clock is set when the client asked for simulated times
	// (wire.HeaderSimClock); then every delivery is also kept in marks, under
	// mu, until the handler takes it.
	clock bool
	mu    sync.Mutex
	marks []mark
}

// mark is one delivery to a stream: the request had n tokens at simulated
// time at (s).
type mark struct {
	n  int
	at float64
}

func newStream() *stream {
	st := &stream{notify: make(chan struct{}, 1)}
	st.req.sink = st
	return st
}

func (st *stream) publish(tokens int, at float64, done bool) {
	if st.clock {
		st.mu.Lock()
		st.marks = append(st.marks, mark{n: tokens, at: at})
		st.mu.Unlock()
	}
	st.tokens.Store(int64(tokens))
	if done {
		st.state.Store(1)
	}
	select {
	case st.notify <- struct{}{}:
	default:
	}
}

// takeMarks appends the deliveries not yet taken to dst.
func (st *stream) takeMarks(dst []mark) []mark {
	st.mu.Lock()
	dst = append(dst, st.marks...)
	st.marks = st.marks[:0]
	st.mu.Unlock()
	return dst
}

func (st *stream) fail(err error) {
	st.err = err
	st.state.Store(2)
	select {
	case st.notify <- struct{}{}:
	default:
	}
}

// wait blocks until the stream finishes or ctx ends; it returns the
// failure, ctx's error, or nil.
func (st *stream) wait(ctx context.Context) error {
	for {
		switch st.state.Load() {
		case 1:
			return nil
		case 2:
			return st.err
		}
		select {
		case <-st.notify:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func formatScale(k float64) string { return strconv.FormatFloat(k, 'g', -1, 64) }

// Running is a simulator serving HTTP on a listener (Start).
type Running struct {
	// URL is the base URL to send to ("http://127.0.0.1:PORT").
	URL string
	*Server
	hs *http.Server
}

// Start starts a simulator with cfg serving HTTP on addr ("127.0.0.1:0":
// an ephemeral loopback port). Close stops both.
func Start(cfg Config, addr string) (*Running, error) {
	srv, err := New(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		srv.Close()
		return nil, err
	}
	hs := srv.HTTPServer()
	go hs.Serve(ln)
	return &Running{URL: "http://" + ln.Addr().String(), Server: srv, hs: hs}, nil
}

// Close stops the simulator, then its HTTP server (waiting up to a second
// for responses in flight).
func (r *Running) Close() error {
	r.Server.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return r.hs.Shutdown(ctx)
}
