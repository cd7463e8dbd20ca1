package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/elazarl/goproxy"
)

// Official API hosts, the defaults of reverse mode without --upstream and
// the hosts MITM mode decodes.
var (
	AnthropicURL = &url.URL{Scheme: "https", Host: "api.anthropic.com"}
	OpenAIURL    = &url.URL{Scheme: "https", Host: "api.openai.com"}
)

// DefaultInterceptHosts are the hosts whose HTTPS traffic MITM mode opens
// (all other CONNECTs are tunnelled untouched). Within them only LLM API
// calls (wire.APIOf) are decoded; everything else is forwarded as is.
var DefaultInterceptHosts = []string{
	"api.anthropic.com", "api.openai.com", "chatgpt.com",
	"openrouter.ai", "api.deepseek.com", "api.together.xyz", "api.fireworks.ai",
	"api.groq.com", "api.mistral.ai", "api.x.ai", "generativelanguage.googleapis.com",
}

// ParseMap parses "HOST=URL" mappings (--map).
func ParseMap(specs []string) (map[string]*url.URL, error) {
	m := map[string]*url.URL{}
	for _, s := range specs {
		host, target, ok := strings.Cut(s, "=")
		if !ok || host == "" || target == "" {
			return nil, fmt.Errorf("--map %q: want HOST=URL, e.g. api.anthropic.com=http://127.0.0.1:9000", s)
		}
		u, err := url.Parse(target)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("--map %q: %q is not an http(s) URL", s, target)
		}
		m[strings.ToLower(host)] = u
	}
	return m, nil
}

// hostOnly strips a port.
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return strings.ToLower(h)
	}
	return strings.ToLower(hostport)
}

// joinPath puts base's path in front of p.
func joinPath(base, p string) string {
	if base == "" || base == "/" {
		return p
	}
	return strings.TrimRight(base, "/") + "/" + strings.TrimLeft(p, "/")
}

// retarget points u at base (scheme, host, path prefix).
func retarget(u *url.URL, base *url.URL) {
	u.Scheme, u.Host = base.Scheme, base.Host
	u.Path = joinPath(base.Path, u.Path)
	if u.RawPath != "" {
		u.RawPath = joinPath(base.EscapedPath(), u.RawPath)
	}
}

// webSocketRefusal answers a Codex WebSocket attempt so it falls back to
// HTTP and SSE (WebSocketRefuse).
const webSocketRefusal = "agentperf record: WebSocket transport refused by configuration; use HTTP+SSE (Codex falls back automatically)\n"

// FrontOptions configures the reverse and MITM front ends.
type FrontOptions struct {
	// Upstream, in reverse mode, receives every request; nil routes by API:
	// requests carrying an anthropic-version header go to AnthropicURL,
	// others to OpenAIURL.
	Upstream *url.URL
	// Map sends requests for a host to another base URL.
	Map map[string]*url.URL
	// Intercept lists the hosts MITM mode opens; nil means
	// DefaultInterceptHosts. Mapped hosts are always opened.
	Intercept []string
	// WebSocket says what happens to WebSocket upgrades of /responses
	// (Codex's WebSocket transport): WebSocketCapture (the default, "")
	// forwards them and records the calls made over them, WebSocketRefuse
	// answers 426 so the client falls back to HTTP+SSE, WebSocketPass
	// forwards them unrecorded.
	WebSocket string
	// Metrics, when set, is served at /metrics.
	Metrics *Metrics
	// Logger receives per-connection failures; nil discards them.
	Logger *slog.Logger
}

// NewReverse returns the reverse-proxy front end: agents use its URL as
// their API base URL.
func NewReverse(rec *Recorder, transport http.RoundTripper, opt FrontOptions) http.Handler {
	tap := rec.Tap(transport)
	tap.WebSocket = opt.WebSocket == "" || opt.WebSocket == WebSocketCapture
	logger := opt.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			base := opt.Upstream
			if base == nil {
				base = OpenAIURL
				if pr.In.Header.Get("Anthropic-Version") != "" {
					base = AnthropicURL
				}
				if m := opt.Map[base.Host]; m != nil {
					base = m
				}
			}
			pr.SetURL(base)
			pr.Out.Host = ""
		},
		Transport:     tap,
		FlushInterval: -1,
		BufferPool:    bufferPool{},
		ErrorLog:      slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(err, context.Canceled) {
				return
			}
			logger.Warn("upstream request failed", "path", r.URL.Path, "err", err)
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprintf(w, "agentperf record: upstream request failed: %v\n", err)
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/metrics" && opt.Metrics != nil {
			opt.Metrics.Handler().ServeHTTP(w, r)
			return
		}
		if isResponsesWebSocket(r) && opt.WebSocket == WebSocketRefuse {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusUpgradeRequired)
			io.WriteString(w, webSocketRefusal)
			return
		}
		// Full duplex: the upstream may answer before the transport has
		// read the request body's EOF; without this the server would
		// close the body under the transport's feet as the response
		// header goes out, and the transport would drop the stream.
		_ = http.NewResponseController(w).EnableFullDuplex()
		rp.ServeHTTP(w, r)
	})
}

// bufferPool lends ReverseProxy its copy buffers.
type bufferPool struct{}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (bufferPool) Get() []byte  { return *copyBufs.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { copyBufs.Put(&b) }

// NewMITM returns the HTTPS man-in-the-middle front end on goproxy: agents
// set HTTPS_PROXY to its URL and trust ca. CONNECTs to intercepted hosts
// are opened with a leaf certificate signed by ca (cached per host); all
// others are tunnelled untouched.
func NewMITM(rec *Recorder, transport *http.Transport, ca *CA, opt FrontOptions) http.Handler {
	if transport == nil {
		transport = NewTransport()
	}
	tap := rec.Tap(transport)
	tap.WebSocket = opt.WebSocket == "" || opt.WebSocket == WebSocketCapture
	tap.Map = func(req *http.Request) {
		if m := opt.Map[hostOnly(req.URL.Host)]; m != nil {
			retarget(req.URL, m)
			req.Host = m.Host
		}
	}
	intercept := map[string]bool{}
	hosts := opt.Intercept
	if hosts == nil {
		hosts = DefaultInterceptHosts
	}
	for _, h := range hosts {
		intercept[strings.ToLower(h)] = true
	}
	for h := range opt.Map {
		intercept[h] = true
	}
	p := goproxy.NewProxyHttpServer()
	p.Logger = log.New(io.Discard, "", 0)
	p.Tr = transport
	p.ConnectDial = nil // dial directly, never through HTTPS_PROXY
	p.ConnectDialWithReq = nil
	p.KeepAcceptEncoding = true
	p.CertStore = &certCache{}
	mitm := &goproxy.ConnectAction{Action: goproxy.ConnectMitm, TLSConfig: goproxy.TLSConfigFromCA(&ca.Cert)}
	p.OnRequest().HandleConnectFunc(func(host string, ctx *goproxy.ProxyCtx) (*goproxy.ConnectAction, string) {
		if intercept[hostOnly(host)] {
			return mitm, host
		}
		return goproxy.OkConnect, host
	})
	rt := goproxy.RoundTripperFunc(func(req *http.Request, ctx *goproxy.ProxyCtx) (*http.Response, error) {
		return tap.RoundTrip(req)
	})
	p.OnRequest().DoFunc(func(req *http.Request, ctx *goproxy.ProxyCtx) (*http.Request, *http.Response) {
		if isResponsesWebSocket(req) && opt.WebSocket == WebSocketRefuse {
			resp := goproxy.NewResponse(req, "text/plain; charset=utf-8", http.StatusUpgradeRequired, webSocketRefusal)
			return req, resp
		}
		ctx.RoundTripper = rt
		return req, nil
	})
	p.NonproxyHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" && opt.Metrics != nil {
			opt.Metrics.Handler().ServeHTTP(w, r)
			return
		}
		http.Error(w, "agentperf record (MITM mode): set HTTPS_PROXY to this address; see 'agentperf ca'", http.StatusBadRequest)
	})
	return p
}

// Config configures Run.
type Config struct {
	// Listen is the address to listen on; "" means 127.0.0.1:8787 (reverse)
	// or 127.0.0.1:8788 (MITM).
	Listen string
	// MITM selects the HTTPS-proxy front end; CADir holds its CA.
	MITM  bool
	CADir string
	Front FrontOptions
	// Recorder configures capture and output.
	Recorder Options
	// Status, when set, receives a live one-line status every
	// StatusEvery (0 means 1 s), redrawn in place with '\r'.
	Status      io.Writer
	StatusEvery time.Duration
	// StatusPlain writes each status as its own line, without the
	// terminal escapes that redraw it in place (for logs and pipes).
	StatusPlain bool
	// Ready is called with the proxy's URL once it is listening.
	Ready func(url string)
	// Grace bounds how long Run waits for calls in flight at shutdown; 0
	// means 10 s.
	Grace time.Duration
	// Transport overrides the upstream transport (tests); nil means
	// NewTransport.
	Transport *http.Transport
}

// Run records until ctx is cancelled, then stops accepting, waits up to
// Grace for calls in flight, and writes the trace set. The returned error
// is about the run (listen, spool, trace set), not single calls.
func Run(ctx context.Context, cfg Config) error {
	logger := cfg.Recorder.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:8787"
		if cfg.MITM {
			cfg.Listen = "127.0.0.1:8788"
		}
	}
	var ca *CA
	if cfg.MITM {
		dir := cfg.CADir
		if dir == "" {
			var err error
			if dir, err = DefaultCADir(); err != nil {
				return err
			}
		}
		var err error
		if ca, err = LoadOrCreateCA(dir); err != nil {
			return err
		}
		if ca.Created {
			logger.Info("created capture CA", "cert", ca.CertPath)
		}
	}
	m := cfg.Front.Metrics
	if m == nil {
		m = NewMetrics()
		cfg.Front.Metrics = m
	}
	cfg.Recorder.Metrics = m
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	rec, err := NewRecorder(cfg.Recorder)
	if err != nil {
		ln.Close()
		return err
	}
	m.Attach(rec)
	tr := cfg.Transport
	if tr == nil {
		tr = NewTransport()
	}
	var h http.Handler
	if cfg.MITM {
		h = NewMITM(rec, tr, ca, cfg.Front)
	} else {
		h = NewReverse(rec, tr, cfg.Front)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second,
		ErrorLog: log.New(io.Discard, "", 0), TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){}}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	url := "http://" + ln.Addr().String()
	if cfg.Ready != nil {
		cfg.Ready(url)
	}
	start := time.Now()
	stopStatus := make(chan struct{})
	statusDone := make(chan struct{})
	go func() {
		defer close(statusDone)
		if cfg.Status == nil {
			return
		}
		every := cfg.StatusEvery
		if every <= 0 {
			every = time.Second
		}
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if cfg.StatusPlain {
					fmt.Fprintf(cfg.Status, "%s\n", StatusLine(rec.Stats(), time.Since(start)))
				} else {
					fmt.Fprintf(cfg.Status, "\r\033[K%s", StatusLine(rec.Stats(), time.Since(start)))
				}
			case <-stopStatus:
				if cfg.StatusPlain {
					fmt.Fprintf(cfg.Status, "%s\n", StatusLine(rec.Stats(), time.Since(start)))
				} else {
					fmt.Fprintf(cfg.Status, "\r\033[K%s\n", StatusLine(rec.Stats(), time.Since(start)))
				}
				return
			}
		}
	}()
	var runErr error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		runErr = err
	}
	grace := cfg.Grace
	if grace <= 0 {
		grace = 10 * time.Second
	}
	deadline := time.Now().Add(grace)
	sctx, cancel := context.WithDeadline(context.Background(), deadline)
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		logger.Warn("shutdown", "err", err)
	}
	cancel()
	// MITM connections are hijacked, so Shutdown does not wait for them:
	// wait for the calls still streaming, within the same grace.
	for rec.InFlight() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	closeErr := rec.Close()
	close(stopStatus) // the last status line counts every turn written
	<-statusDone
	return errors.Join(runErr, closeErr)
}

// ParseRotate reads a --rotate value: a duration ("1h", "30m") or a size
// ("512MB", "1GiB", "100000000").
func ParseRotate(s string) (every time.Duration, bytes int64, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, 0, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return 0, 0, fmt.Errorf("--rotate %q: must be positive", s)
		}
		return d, 0, nil
	}
	num := strings.TrimRightFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	unit := strings.ToUpper(strings.TrimSpace(s[len(num):]))
	mult := map[string]int64{"": 1, "B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
		"KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30, "TIB": 1 << 40, "K": 1e3, "M": 1e6, "G": 1e9}[unit]
	var n int64
	if _, err := fmt.Sscan(num, &n); err != nil || mult == 0 || n <= 0 {
		return 0, 0, fmt.Errorf("--rotate %q: want a duration (1h, 30m) or a size (512MB, 1GiB)", s)
	}
	return 0, n * mult, nil
}
