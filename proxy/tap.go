package proxy

import (
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/wire"
)

// isResponsesWebSocket reports a Codex attempt to open the Responses API
// over a WebSocket.
func isResponsesWebSocket(r *http.Request) bool {
	return r.Method == http.MethodGet && wire.APIOfPath(r.URL.Path) == schemas.APIOpenAIResponses &&
		strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// mark is the arrival of one chunk: the body length after it, and when.
type mark struct {
	end int
	at  int64
}

// exchange is one LLM API call as it passed through the tap: raw bytes and
// arrival times, nothing parsed.
type exchange struct {
	api string
	callInfo
	reqEncoding string

	reqMu   sync.Mutex
	reqBody []byte

	status                 int
	respType, respEncoding string
	respBody               []byte
	marks                  []mark
	startNS, firstByteNS   int64
	endNS                  int64
	err                    string
	// cut is true when err says the response body ended early (a read
	// error or the client closing it); whether the call was cut off is
	// decided once the response is parsed: a response whose terminal
	// event arrived is complete.
	cut  bool
	done atomic.Bool
	// transport is "websocket" for a turn captured on a WebSocket; "" for
	// HTTP.
	transport string
}

// Tap is an http.RoundTripper that forwards through Transport and hands a
// copy of every LLM API call (wire.APIOf) to Sink once its response has ended. Other
// requests pass through untouched and uncopied. Responses are returned to
// the caller as they arrive: the tap copies each chunk aside as the caller
// reads it and never reads ahead.
type Tap struct {
	// Transport sends requests upstream.
	Transport http.RoundTripper
	// Sink receives each finished call. It must not block.
	Sink func(*exchange)
	// Map rewrites the destination of a request (host → base URL); nil
	// leaves it alone.
	Map func(*http.Request)
	// Started, when set, is called as an LLM API call begins (before Sink
	// gets it).
	Started func()
	// WebSocket records the Responses calls made over WebSocket upgrades
	// of /responses (WebSocketCapture); otherwise the upgraded connection
	// is forwarded uncopied.
	WebSocket bool
}

// RoundTrip implements http.RoundTripper.
func (t *Tap) RoundTrip(req *http.Request) (*http.Response, error) {
	api := wire.APIOf(req.Method, req.URL.Path)
	ws := t.WebSocket && isResponsesWebSocket(req)
	if t.Map != nil {
		t.Map(req)
	}
	if ws {
		resp, err := t.Transport.RoundTrip(req)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			return resp, err
		}
		if rwc, ok := resp.Body.(io.ReadWriteCloser); ok {
			resp.Body = newWSConn(t, req, resp, rwc)
		}
		return resp, nil
	}
	if api == "" {
		return t.Transport.RoundTrip(req)
	}
	if t.Started != nil {
		t.Started()
	}
	x := &exchange{api: api, callInfo: callInfoOf(req)}
	x.startNS = time.Now().UnixNano()
	x.reqEncoding = req.Header.Get("Content-Encoding")
	if req.Body != nil && req.Body != http.NoBody {
		req.Body = &teeRequest{rc: req.Body, x: x}
	}
	resp, err := t.Transport.RoundTrip(req)
	if err != nil {
		x.endNS = time.Now().UnixNano()
		x.err = "upstream: " + err.Error()
		t.finish(x)
		return nil, err
	}
	x.status = resp.StatusCode
	x.respType = resp.Header.Get("Content-Type")
	x.respEncoding = resp.Header.Get("Content-Encoding")
	if resp.Body == nil || resp.Body == http.NoBody {
		x.endNS = time.Now().UnixNano()
		t.finish(x)
		return resp, nil
	}
	resp.Body = &tapBody{rc: resp.Body, x: x, tap: t}
	return resp, nil
}

func (t *Tap) finish(x *exchange) {
	if x.done.Swap(true) {
		return
	}
	t.Sink(x)
}

// callInfo is what the capture goroutine needs of a call's request: where
// it went and the header values that name its session and client. Secrets
// are never copied.
type callInfo struct {
	host, path                                           string
	sessionHeader, heliconeHeader, userAgent, originator string
}

// callInfoOf reads the callInfo of req.
func callInfoOf(req *http.Request) callInfo {
	c := callInfo{host: req.Host, path: req.URL.Path}
	if c.host == "" {
		c.host = req.URL.Host
	}
	h := req.Header
	c.sessionHeader = firstHeader(h, "X-Claude-Code-Session-Id", "Session-Id", "Session_id")
	c.heliconeHeader = h.Get("Helicone-Session-Id")
	c.userAgent = h.Get("User-Agent")
	c.originator = h.Get("Originator")
	return c
}

// firstHeader returns the first non-empty value among names. Header names
// with underscores are looked up as sent (Go does not canonicalise them).
func firstHeader(h http.Header, names ...string) string {
	for _, n := range names {
		if v := h.Get(n); v != "" {
			return v
		}
		if vs := h[n]; len(vs) > 0 && vs[0] != "" {
			return vs[0]
		}
		if vs := h[strings.ToLower(n)]; len(vs) > 0 && vs[0] != "" {
			return vs[0]
		}
	}
	return ""
}

// teeRequest copies the request body aside as the transport sends it.
type teeRequest struct {
	rc io.ReadCloser
	x  *exchange
}

func (r *teeRequest) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	if n > 0 {
		r.x.reqMu.Lock()
		r.x.reqBody = append(r.x.reqBody, p[:n]...)
		r.x.reqMu.Unlock()
	}
	return n, err
}

func (r *teeRequest) Close() error { return r.rc.Close() }

// tapBody copies the response aside as the caller reads it, noting when
// each chunk arrived.
type tapBody struct {
	rc       io.ReadCloser
	x        *exchange
	tap      *Tap
	finished bool
}

func (b *tapBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if b.finished {
		return n, err
	}
	x := b.x
	if n > 0 {
		now := time.Now().UnixNano()
		if x.firstByteNS == 0 {
			x.firstByteNS = now
		}
		x.respBody = append(x.respBody, p[:n]...)
		x.marks = append(x.marks, mark{end: len(x.respBody), at: now})
	}
	if err != nil {
		x.endNS = time.Now().UnixNano()
		if err != io.EOF {
			x.err, x.cut = "response cut off: "+err.Error(), true
		}
		b.finished = true
		b.tap.finish(x)
	}
	return n, err
}

func (b *tapBody) Close() error {
	err := b.rc.Close()
	if !b.finished {
		b.finished = true
		x := b.x
		x.endNS = time.Now().UnixNano()
		x.err, x.cut = "client closed the response before its end", true
		b.tap.finish(x)
	}
	return err
}

// NewTransport returns the upstream transport the proxy uses: it never
// consults HTTPS_PROXY/HTTP_PROXY (so a proxy exported for agents cannot
// loop back into itself), keeps many idle connections per host for
// hundreds of concurrent streams, never adds or removes compression, and
// verifies TLS with the system roots.
func NewTransport() *http.Transport {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          0,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   15 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		ReadBufferSize:        32 << 10,
		WriteBufferSize:       32 << 10,
	}
}
