package replay

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentperf/agentperf/internal/rxstamp"
	"github.com/agentperf/agentperf/target"
	"github.com/agentperf/agentperf/wire"
)

// TransportOptions sizes the HTTP client.
type TransportOptions struct {
	// MaxConns is the expected number of concurrent streams; idle
	// connections are kept for that many. 0 means 1024.
	MaxConns int
	// HTTP2 speaks HTTP/2 without TLS (h2c) to http:// targets. https://
	// targets negotiate HTTP/2 or HTTP/1.1 by ALPN either way.
	HTTP2 bool
	// Insecure skips TLS certificate checks.
	Insecure bool
	// ReadTimes times output events when the client reads them instead
	// of by the kernel's receive timestamp (Linux, HTTP/1.1). Receive
	// timestamps leave the client's own scheduling delay out of TTFT and
	// ITL; read times include it.
	ReadTimes bool
}

// newTransport returns a transport for replay: no compression (SSE must not
// be buffered by a decompressor), keep-alive connections sized for the
// load, HTTP/1.1 and HTTP/2.
func newTransport(o TransportOptions) *http.Transport {
	n := o.MaxConns
	if n <= 0 {
		n = 1024
	}
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	dial := d.DialContext
	if !o.ReadTimes {
		dial = rxstamp.Dial(d)
	}
	t := &http.Transport{
		Proxy:               nil, // never route benchmark traffic through a proxy from the environment
		DialContext:         dial,
		MaxIdleConns:        n + 16,
		MaxIdleConnsPerHost: n + 16,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 30 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   true,
		// Small per-connection buffers: thousands of connections stay
		// open. Large request bodies bypass the write buffer anyway.
		ReadBufferSize:        8 << 10,
		WriteBufferSize:       8 << 10,
		ExpectContinueTimeout: 0,
	}
	if o.Insecure {
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // operator's explicit choice
	}
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetHTTP2(true)
	if o.HTTP2 {
		p.SetHTTP1(false)
		p.SetUnencryptedHTTP2(true)
	}
	t.Protocols = &p
	return t
}

// rebase moves the response's wall times to a send time w later: the wait for
// the transport's write goroutine is the client's, so it counts as client
// lag, not as the target's latency. Simulated offsets are left alone
// (they count from the target's own arrival).
func (r *Response) rebase(w time.Duration) {
	r.End = max(r.End-w, 0)
	if r.Sim {
		return
	}
	if r.First >= 0 {
		r.First = max(r.First-w, 0)
	}
	for i := range r.Chunks {
		r.Chunks[i] = max(r.Chunks[i]-w, 0)
	}
}

var (
	errStalled  = errors.New("stalled")
	errTimedOut = errors.New("timed out")
	errLevelEnd = errors.New("level ended")
)

// bufPool holds read buffers for streams.
// Events are usually well under 1 KB; a larger one grows the buffer.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 8<<10); return &b }}

var (
	headerJSON  = []string{"application/json"}
	headerSSE   = []string{"text/event-stream"}
	headerOn    = []string{"1"}
	simClockKey = http.CanonicalHeaderKey(wire.HeaderSimClock)
)

// sender is the HTTP Sender: it sends requests and reads their streams.
type sender struct {
	client  *http.Client
	clk     Clock
	headers map[string]http.Header // by API
	urls    map[string]string
	// maxChunks bounds the chunk offsets kept per request.
	maxChunks int
	// simClock asks the target for its simulated clock (wire.HeaderSimClock).
	simClock bool
	// scanners read each API's responses with the target dialect's keys.
	scanners map[string]*wire.Scanner
}

// newSender returns the HTTP sender of cfg (defaults applied): a transport
// sized by cfg.Transport, the endpoint of each API under cfg.Target, and
// stream scanners with the keys of cfg.Shaping's dialect.
func newSender(cfg Config) (*sender, error) {
	urls := map[string]string{}
	for _, api := range wire.APIs {
		urls[api], _ = wire.EndpointURL(cfg.Target, api)
	}
	scanners, err := dialectScanners(cfg.Shaping.Dialect)
	if err != nil {
		return nil, err
	}
	return &sender{client: &http.Client{Transport: newTransport(cfg.Transport)}, clk: cfg.Clock,
		headers: cfg.Headers, urls: urls, maxChunks: 1 << 16, simClock: cfg.SimClock, scanners: scanners}, nil
}

// dialectScanners compiles the stream keys of each API of d (the generic
// dialect's where d does not document an API, or d is the zero value).
func dialectScanners(d target.Dialect) (map[string]*wire.Scanner, error) {
	if d.APIs == nil {
		d = target.DialectOf(target.EngineGeneric)
	}
	out := map[string]*wire.Scanner{}
	for _, api := range wire.APIs {
		sc, err := wire.NewScanner(api, d.API(api).Keys())
		if err != nil {
			return nil, fmt.Errorf("the %s dialect's stream keys of %s: %w", d.Engine, api, err)
		}
		out[api] = sc
	}
	return out, nil
}

// stream returns the state of a response of api before its first event.
func (s *sender) stream(api string) wire.Stream {
	if sc := s.scanners[api]; sc != nil {
		return sc.Stream()
	}
	return wire.NewStream(api)
}

// wireTrace follows one request through the transport: the connection it
// went out on (when that keeps kernel receive timestamps: newTransport
// dials such connections unless told ReadTimes), whether that was an idle
// one, and when the transport began writing it.
type wireTrace struct {
	sc     *rxstamp.Conn
	reused bool
	// sent is when the request was handed to the transport; wrote, when
	// the transport began writing its headers to the connection (wall ns
	// after sent; 0 until then). The transport's write goroutine sets it.
	sent  time.Time
	clk   Clock
	wrote atomic.Int64
}

func (w *wireTrace) got(info httptrace.GotConnInfo) {
	w.reused = info.Reused
	w.sc = rxstamp.Of(info.Conn)
}

func (w *wireTrace) wroteHeaders() { w.wrote.Store(max(int64(w.clk.Now().Sub(w.sent)), 1)) }

// Send performs one HTTP request (Sender). x.Sent must be set by the
// caller right before.
// before. The transport may read body after send returns: the caller must
// not reuse it.
func (s *sender) Send(ctx context.Context, ex *Exchange) (r Response) {
	api, body, expectOut := ex.API, ex.Body, ex.ExpectOutput
	r = Response{First: -1, st: s.stream(api)}
	wt := &wireTrace{sent: ex.Sent, clk: s.clk}
	since := func() time.Duration { return s.clk.Now().Sub(ex.Sent) }
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: wt.got, WroteHeaders: wt.wroteHeaders})
	defer func() {
		if wt.reused {
			r.Wrote = time.Duration(wt.wrote.Load())
		}
		r.Usage = r.st.Usage()
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.urls[api], bytes.NewReader(body))
	if err != nil {
		r.Err = err.Error()
		return r
	}
	req.Header["Content-Type"] = headerJSON
	req.Header["Accept"] = headerSSE
	for k, v := range s.headers[api] {
		req.Header[k] = v
	}
	if s.simClock {
		req.Header[simClockKey] = headerOn
	}
	resp, err := s.client.Do(req)
	if err != nil {
		r.End = since()
		r.Err = describe(ctx, err)
		return r
	}
	drainAsync := false
	defer func() {
		if drainAsync {
			return
		}
		resp.Body.Close()
	}()
	r.Status = resp.StatusCode
	r.TimeScale = resp.Header.Get(wire.HeaderTimeScale)
	r.simClock = s.simClock && resp.Header.Get(wire.HeaderSimClock) == "1"
	ex.Read(since())
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		r.End = since()
		r.Err = statusError(resp.StatusCode, b)
		return r
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
		r.End = since()
		if err != nil {
			r.Err = describe(ctx, err)
			return r
		}
		r.st.Whole(b)
		r.First = r.End
		if ns := wire.ParseNS([]byte(resp.Header.Get(wire.HeaderSimEnd))); r.simClock && ns >= 0 {
			// The whole body arrives at the end, on the simulated clock.
			r.Sim, r.First, r.SimEnd = true, time.Duration(ns), time.Duration(ns)
		}
		r.Chunks = append(r.Chunks, r.First)
		if r.st.Usage().Output < 0 && r.st.Err == "" {
			r.Err = fmt.Sprintf("not a stream (Content-Type %q) and no usage in the body", ct)
		}
		return r
	}
	if expectOut > 0 {
		r.Chunks = make([]time.Duration, 0, min(expectOut+4, s.maxChunks))
	}
	var sc *rxstamp.Conn
	if resp.ProtoMajor == 1 {
		// HTTP/2 multiplexes streams on one connection: its receive
		// times are not this stream's.
		sc = wt.sc
	}
	s.readStream(ctx, ex, resp.Body, sc, &r)
	if r.st.Done {
		// Read the rest (the chunked terminator) in the background so the
		// connection goes back to the pool without holding up the user:
		// closing a body before EOF closes the connection, and every
		// request would dial anew.
		// The drain owns the request context from here: cancelling it
		// earlier would close the connection too.
		drainAsync, r.Draining = true, true
		go func(b io.ReadCloser) {
			t := s.clk.AfterFunc(10*time.Second, func() { ex.Cancel(errTimedOut) })
			io.Copy(io.Discard, io.LimitReader(b, 1<<20))
			b.Close()
			t.Stop()
			ex.Cancel(nil)
		}(resp.Body)
	}
	return r
}

// readStream scans an SSE body in place: it reads into one buffer, cuts
// complete events at blank lines and timestamps each output event with the
// time of the read that completed it — the kernel's receive time of its
// last byte when sc is set, else the time the read returned — or, when
// r.simClock is set and a sim-clock comment came before the first output
// event, with the simulated time of the latest such comment (r.Sim).
func (s *sender) readStream(ctx context.Context, ex *Exchange, body io.Reader, sc *rxstamp.Conn, r *Response) {
	bp := bufPool.Get().(*[]byte)
	buf := *bp
	defer func() { *bp = buf; bufPool.Put(bp) }()
	var scratch []byte
	start, end := 0, 0
	simAt := int64(-1) // latest simulated time read, ns since arrival
	sentNS := ex.Sent.UnixNano()
	var prev time.Duration // the latest read's time, so times never go back
	defer func() {
		if r.Sim {
			r.SimEnd = time.Duration(simAt)
		}
	}()
	for {
		n, err := body.Read(buf[end:])
		now := s.clk.Now().Sub(ex.Sent)
		if n > 0 {
			ex.Read(now)
			if sc != nil {
				// The receive time of the newest segment read: no later
				// than now, and no earlier than the previous read.
				if ns := sc.Last(); ns > 0 {
					if d := time.Duration(ns - sentNS); d >= 0 && d < now {
						now = max(d, prev)
						r.Kernel = true
					}
				}
			}
			prev = now
			end += n
			for !r.st.Done {
				evLen, textLen := wire.NextEvent(buf[start:end])
				if evLen == 0 {
					break
				}
				var name, data []byte
				var t int64
				name, data, scratch, t = wire.SplitEvent(buf[start:start+textLen], scratch)
				if t >= 0 && r.simClock {
					simAt = t
				}
				if r.st.Event(name, data) {
					at := now
					if r.First < 0 {
						// The clock is chosen once, at the first output.
						r.Sim = simAt >= 0
					}
					if r.Sim {
						at = time.Duration(simAt)
					}
					if r.First < 0 {
						r.First = at
					}
					if len(r.Chunks) < s.maxChunks {
						r.Chunks = append(r.Chunks, at)
					}
				}
				start += evLen
			}
			switch {
			case start == end:
				start, end = 0, 0
			case end == len(buf):
				if start > 0 {
					copy(buf, buf[start:end])
					end -= start
					start = 0
				} else {
					// One event larger than the buffer: grow it.
					nb := make([]byte, 2*len(buf))
					copy(nb, buf[:end])
					buf = nb
				}
			}
		}
		if r.st.Done {
			r.End = now
			r.Err = r.st.Err
			return
		}
		if err != nil {
			r.End = now
			switch {
			case err == io.EOF && r.st.Err != "":
				r.Err = r.st.Err
			case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
				r.Err = "truncated stream: the connection closed before the end-of-stream event"
			case ctx.Err() != nil:
				r.Err = describe(ctx, err)
			default:
				r.Err = "stream: " + describe(ctx, err)
			}
			return
		}
	}
}

// describe turns a transport error into a short message, naming the cause
// when replay cancelled the request itself.
func describe(ctx context.Context, err error) string {
	if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
		switch {
		case errors.Is(cause, errStalled):
			return "stalled: no bytes within the stall timeout"
		case errors.Is(cause, errTimedOut):
			return "timed out: request took longer than the request timeout"
		case errors.Is(cause, errLevelEnd):
			return "cancelled: level ended"
		case errors.Is(cause, context.Canceled):
			return "cancelled: run interrupted"
		default:
			return "cancelled: " + cause.Error()
		}
	}
	msg := err.Error()
	if len(msg) > 300 {
		msg = msg[:300]
	}
	return msg
}

// statusError is a row's error for a response of HTTP status status with
// body body (an error body, however the target sent it): the virtual-time
// run's refusals read as the HTTP path's.
func statusError(status int, body []byte) string {
	return fmt.Sprintf("HTTP %d: %s", status, wire.Snippet(bytes.TrimSpace(body)))
}
