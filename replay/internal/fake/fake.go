// Package fake is a minimal OpenAI/Anthropic-compatible streaming server for
// replay's tests and benchmarks: fixed token timing, fault injection and a
// log of what it really did (arrival of each request, send time of each
// token), so the client's measurements can be checked against server truth.
package fake

import (
	"bytes"
	"container/heap"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentperf/agentperf/internal/rxstamp"
)

// Fault is an injected failure.
type Fault int

// Faults.
const (
	FaultNone     Fault = iota
	Fault500            // answer 500 with a JSON error
	Fault429            // answer 429 with Retry-After
	FaultTruncate       // close the connection after half the tokens
	FaultStall          // stop sending after half the tokens, keep the connection open
)

// Server is the fake target.
type Server struct {
	// TTFT is the delay before the first token; ITL the gap between tokens.
	TTFT, ITL time.Duration
	// DefaultTokens is the output length when the request pins none.
	DefaultTokens int
	// ITLPerStream adds this much to ITL for every stream in flight, a
	// crude capacity limit for search tests.
	ITLPerStream time.Duration
	// TokensPerEvent groups tokens into one SSE event (0 means 1).
	TokensPerEvent int
	// TimeScale, when non-empty, is sent as X-Agentperf-Time-Scale.
	TimeScale string
	// FaultFor decides a fault per request (nil = none); n counts requests
	// from 0.
	FaultFor func(n int, body []byte) Fault
	// Record keeps Arrivals and token send times.
	Record bool
	// Tick, when > 0, sends every stream's tokens from one goroutine that
	// wakes every Tick (instead of a timer per stream): far cheaper at
	// thousands of streams; token times are still recorded after each
	// write. Faults use the per-stream path.
	Tick time.Duration

	tickOnce sync.Once
	add      chan *tickStream

	active   atomic.Int64
	mu       sync.Mutex
	n        int
	arrivals []Arrival
}

// Arrival is one request as the server saw it.
type Arrival struct {
	// At is when the request body was fully read; Start when its handler
	// started; Wire the kernel's receive time of the request's last read
	// before the handler started (zero without receive timestamps: serve
	// with ConnContext on an rxstamp.Listener).
	Start, At, Wire time.Time
	// End is when the handler finished.
	End  time.Time
	Path string
	// ProtoMajor is the HTTP major version of the request (1 or 2).
	ProtoMajor int
	// Marker is the last "session S turn T" text found in the body.
	Marker string
	// MaxTokens, MinTokens and IgnoreEOS are the pinning fields read.
	MaxTokens, MinTokens int
	IgnoreEOS            bool
	Stream               bool
	// Salt is the first "[cache-salt …]" text found in the body.
	Salt string
	// Body is kept when Record is set.
	Body []byte
	// TokenTimes are when each event was written and flushed.
	TokenTimes []time.Time
	Tokens     int
	Fault      Fault
}

var (
	markerRE = regexp.MustCompile(`session [A-Za-z0-9_-]+ turn [0-9]+`)
	saltRE   = regexp.MustCompile(`\[cache-salt [^\]]*\]`)
)

// Arrivals returns a copy of the log.
func (s *Server) Arrivals() []Arrival {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Arrival(nil), s.arrivals...)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var wire time.Time
	if c, ok := r.Context().Value(connKey{}).(*rxstamp.Conn); ok {
		if ns := c.Last(); ns > 0 {
			wire = time.Unix(0, ns)
		}
	}
	api := ""
	switch r.URL.Path {
	case "/v1/chat/completions":
		api = "chat"
	case "/v1/messages":
		api = "anthropic"
	case "/v1/responses":
		api = "responses"
	default:
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	// Scan for the few fields needed instead of decoding the whole body:
	// prompts are large and the fake must stay cheap.
	if len(body) == 0 || body[0] != '{' {
		http.Error(w, `{"error":{"message":"bad json"}}`, http.StatusBadRequest)
		return
	}
	var p struct {
		MaxTokens, MaxCompletion, MaxOutputTokens, MinTokens int
		IgnoreEOS, Stream                                    bool
	}
	p.MaxTokens = intField(body, `"max_tokens":`)
	p.MaxCompletion = intField(body, `"max_completion_tokens":`)
	p.MaxOutputTokens = intField(body, `"max_output_tokens":`)
	p.MinTokens = intField(body, `"min_tokens":`)
	p.IgnoreEOS = bytes.Contains(body, []byte(`"ignore_eos":true`))
	p.Stream = bytes.Contains(body, []byte(`"stream":true`))
	maxTok := max(p.MaxTokens, p.MaxCompletion, p.MaxOutputTokens)
	n := s.DefaultTokens
	if n <= 0 {
		n = 16
	}
	if maxTok > 0 {
		n = min(n, maxTok)
	}
	if p.IgnoreEOS && p.MinTokens > 0 {
		n = p.MinTokens
	}
	s.mu.Lock()
	idx := s.n
	s.n++
	s.mu.Unlock()
	fault := FaultNone
	if s.FaultFor != nil {
		fault = s.FaultFor(idx, body)
	}
	a := Arrival{Start: start, At: time.Now(), Wire: wire, Path: r.URL.Path, ProtoMajor: r.ProtoMajor, MaxTokens: maxTok, MinTokens: p.MinTokens,
		IgnoreEOS: p.IgnoreEOS, Stream: p.Stream, Fault: fault, Tokens: n}
	if s.Record {
		if bytes.Contains(body, []byte("session ")) {
			if ms := markerRE.FindAll(body, -1); len(ms) > 0 {
				a.Marker = string(ms[len(ms)-1])
			}
		}
		if bytes.Contains(body, []byte("[cache-salt ")) {
			a.Salt = string(saltRE.Find(body))
		}
		a.Body = body
		a.TokenTimes = make([]time.Time, 0, n)
	}
	defer func() {
		a.End = time.Now()
		if s.Record {
			s.mu.Lock()
			s.arrivals = append(s.arrivals, a)
			s.mu.Unlock()
		}
	}()
	if s.TimeScale != "" {
		w.Header().Set("X-Agentperf-Time-Scale", s.TimeScale)
	}
	switch fault {
	case Fault500:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `{"error":{"message":"injected server error","type":"server_error"}}`)
		return
	case Fault429:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"error":{"message":"rate limited","type":"rate_limit_error"}}`)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fl := w.(http.Flusher)
	ev := events[api]
	if ev.start != nil {
		w.Write(ev.start)
	}
	fl.Flush()
	per := max(s.TokensPerEvent, 1)
	s.active.Add(1)
	defer s.active.Add(-1)
	next := start.Add(s.TTFT)
	if s.Tick > 0 && fault == FaultNone {
		st := &tickStream{w: w, fl: fl, ctx: r.Context(), next: next, left: n, per: per, ev: ev, n: n, done: make(chan struct{})}
		if s.Record {
			st.a = &a
		}
		s.tickOnce.Do(func() { s.add = make(chan *tickStream, 1024); go s.tickLoop() })
		s.add <- st
		<-st.done
		return
	}
	sent := 0
	for sent < n {
		if fault == FaultTruncate && sent >= n/2 {
			hijackClose(w)
			return
		}
		if fault == FaultStall && sent >= n/2 {
			select {
			case <-r.Context().Done():
			case <-time.After(time.Hour):
			}
			return
		}
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
		k := min(per, n-sent)
		for i := 0; i < k; i++ {
			w.Write(ev.token)
		}
		fl.Flush()
		if s.Record {
			a.TokenTimes = append(a.TokenTimes, time.Now())
		}
		sent += k
		next = next.Add(s.ITL + time.Duration(s.active.Load())*s.ITLPerStream)
		if r.Context().Err() != nil {
			return
		}
	}
	w.Write(ev.end(n))
	fl.Flush()
}

func hijackClose(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

type apiEvents struct {
	start, token []byte
	end          func(n int) []byte
}

var events = map[string]apiEvents{
	"chat": {
		start: []byte(`data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}` + "\n\n"),
		token: []byte(`data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":" tok"}}]}` + "\n\n"),
		end: func(n int) []byte {
			return []byte(fmt.Sprintf(`data: {"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":100,"completion_tokens":%d,"prompt_tokens_details":{"cached_tokens":40},"completion_tokens_details":{"reasoning_tokens":0}}}`+"\n\ndata: [DONE]\n\n", n))
		},
	},
	"anthropic": {
		start: []byte("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":60,\"cache_read_input_tokens\":40,\"cache_creation_input_tokens\":0,\"output_tokens\":1}}}\n\n" +
			"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"),
		token: []byte("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" tok\"}}\n\n"),
		end: func(n int) []byte {
			return []byte(fmt.Sprintf("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"+
				"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"},\"usage\":{\"output_tokens\":%d}}\n\n"+
				"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n", n))
		},
	},
	"responses": {
		start: []byte("event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0}\n\n"),
		token: []byte("event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\" tok\"}\n\n"),
		end: func(n int) []byte {
			return []byte(fmt.Sprintf("event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"status\":\"completed\",\"usage\":{\"input_tokens\":100,\"input_tokens_details\":{\"cached_tokens\":40},\"output_tokens\":%d,\"output_tokens_details\":{\"reasoning_tokens\":0}}}}\n\n", n))
		},
	},
}

// intField returns the integer after the last occurrence of key, or 0.
func intField(b []byte, key string) int {
	i := bytes.LastIndex(b, []byte(key))
	if i < 0 {
		return 0
	}
	n := 0
	for _, c := range b[i+len(key):] {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// Listen serves s on a new loopback listener and returns it; closing the
// listener (and the returned server) stops it. Requests are timed by
// kernel receive timestamps where the platform has them (Arrival.Wire).
func Listen(s *Server) (*http.Server, net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second, ConnContext: ConnContext}
	go hs.Serve(rxstamp.Listener{Listener: ln})
	return hs, ln, nil
}

type connKey struct{}

// ConnContext is an http.Server ConnContext that lets handlers find their
// connection's receive timestamps (Arrival.Wire).
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if sc := rxstamp.Of(c); sc != nil {
		return context.WithValue(ctx, connKey{}, sc)
	}
	return ctx
}

// TokenGaps returns, for recorded arrivals, the server-side first-token
// delay (first token write − handler start) and the gaps between tokens.
func TokenGaps(as []Arrival) (ttft, itl []time.Duration) {
	for _, a := range as {
		if len(a.TokenTimes) == 0 {
			continue
		}
		ttft = append(ttft, a.TokenTimes[0].Sub(a.Start))
		for i := 1; i < len(a.TokenTimes); i++ {
			itl = append(itl, a.TokenTimes[i].Sub(a.TokenTimes[i-1]))
		}
	}
	return ttft, itl
}

// ParseMarker splits "session S turn T".
func ParseMarker(m string) (session string, turn int, ok bool) {
	f := bytes.Fields([]byte(m))
	if len(f) != 4 {
		return "", 0, false
	}
	t, err := strconv.Atoi(string(f[3]))
	return string(f[1]), t, err == nil
}

// tickStream is one stream served by the tick loop.
type tickStream struct {
	w         http.ResponseWriter
	fl        http.Flusher
	ctx       interface{ Err() error }
	next      time.Time
	left, per int
	n         int
	ev        apiEvents
	a         *Arrival
	done      chan struct{}
}

type streamHeap []*tickStream

func (h streamHeap) Len() int           { return len(h) }
func (h streamHeap) Less(i, j int) bool { return h[i].next.Before(h[j].next) }
func (h streamHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *streamHeap) Push(x any)        { *h = append(*h, x.(*tickStream)) }
func (h *streamHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// tickLoop writes due tokens of all streams, waking every Tick.
func (s *Server) tickLoop() {
	var h streamHeap
	tick := time.NewTicker(s.Tick)
	defer tick.Stop()
	for {
		select {
		case st := <-s.add:
			heap.Push(&h, st)
			continue
		case <-tick.C:
		}
		for drained := false; !drained; {
			select {
			case st := <-s.add:
				heap.Push(&h, st)
			default:
				drained = true
			}
		}
		now := time.Now()
		for h.Len() > 0 && !h[0].next.After(now) {
			st := heap.Pop(&h).(*tickStream)
			if st.ctx.Err() != nil {
				close(st.done)
				continue
			}
			k := min(st.per, st.left)
			for i := 0; i < k; i++ {
				st.w.Write(st.ev.token)
			}
			st.fl.Flush()
			if st.a != nil {
				st.a.TokenTimes = append(st.a.TokenTimes, time.Now())
			}
			st.left -= k
			if st.left > 0 {
				st.next = st.next.Add(s.ITL + time.Duration(s.active.Load())*s.ITLPerStream)
				heap.Push(&h, st)
				continue
			}
			st.w.Write(st.ev.end(st.n))
			st.fl.Flush()
			close(st.done)
		}
	}
}
