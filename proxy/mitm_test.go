package proxy

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/proxy/internal/fakellm"
)

func proxyClient(proxy string, roots *x509.CertPool) *http.Client {
	pu, _ := url.Parse(proxy)
	return &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu), DisableKeepAlives: true,
		TLSClientConfig: &tls.Config{RootCAs: roots}}}
}

// TestMITMTLS checks the HTTPS proxy with real TLS: a client trusting the
// generated CA succeeds and its call is recorded; one that does not fails
// with a certificate error; a host that is not intercepted is tunnelled
// with its own certificate; Codex's WebSocket attempt gets 426 when
// refusing is configured.
func TestMITMTLS(t *testing.T) {
	// The proxy's own connections must not follow these (no loops).
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:1")
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:1")
	fake, _ := startFake(t, 5, 0)
	other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "tunnelled")
	}))
	defer other.Close()
	caDir := filepath.Join(t.TempDir(), "ca")
	out := filepath.Join(t.TempDir(), "traces")
	maps, _ := ParseMap([]string{"api.anthropic.com=" + fake.URL, "api.openai.com=" + fake.URL})
	run := startRun(t, Config{MITM: true, CADir: caDir, Front: FrontOptions{Map: maps, WebSocket: WebSocketRefuse}, Recorder: Options{Out: out}})

	st, err := os.Stat(filepath.Join(caDir, CAKeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("CA key: %v, mode %v; want 0600", err, st.Mode().Perm())
	}
	caPEM, _ := os.ReadFile(filepath.Join(caDir, CACertFile))
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("ca.pem holds no certificate")
	}
	body := `{"model":"claude-x","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
	var serials []string
	for i := 0; i < 2; i++ {
		req, _ := http.NewRequest(http.MethodPost, "https://api.anthropic.com/v1/messages", strings.NewReader(body))
		req.Header.Set("anthropic-version", "2023-06-01")
		resp, err := proxyClient(run.url, roots).Do(req)
		if err != nil {
			t.Fatalf("trusting client: %v", err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), "message_stop") {
			t.Fatalf("trusting client: %d %s", resp.StatusCode, b)
		}
		leaf := resp.TLS.PeerCertificates[0]
		if leaf.Subject.CommonName != "api.anthropic.com" && !contains(leaf.DNSNames, "api.anthropic.com") {
			t.Errorf("leaf certificate names %v", leaf.DNSNames)
		}
		serials = append(serials, leaf.SerialNumber.String())
	}
	if serials[0] != serials[1] {
		t.Errorf("leaf certificate not cached: serials %v", serials)
	}

	// Not trusting the CA: a TLS verification error.
	_, err = proxyClient(run.url, x509.NewCertPool()).Post("https://api.anthropic.com/v1/messages", "application/json", strings.NewReader(body))
	var verr *tls.CertificateVerificationError
	if !errors.As(err, &verr) {
		t.Errorf("untrusting client: error %v, want a certificate verification error", err)
	}

	// A host outside the intercept list is tunnelled with its own certificate.
	otherRoots := x509.NewCertPool()
	otherRoots.AddCert(other.Certificate())
	resp, err := proxyClient(run.url, otherRoots).Get(other.URL)
	if err != nil {
		t.Fatalf("tunnelled request: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "tunnelled" || !resp.TLS.PeerCertificates[0].Equal(other.Certificate()) {
		t.Errorf("tunnel: body %q, certificate from %v", b, resp.TLS.PeerCertificates[0].Issuer)
	}

	// With --websocket refuse, Codex's WebSocket attempt is refused so it
	// falls back to SSE.
	req, _ := http.NewRequest(http.MethodGet, "https://api.openai.com/v1/responses", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	resp, err = proxyClient(run.url, roots).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUpgradeRequired {
		t.Errorf("websocket upgrade: status %d, want 426", resp.StatusCode)
	}
	run.stop(t)
	tr := readTrace(t, out)
	if tr.turns() != 2 {
		t.Errorf("%d turns recorded, want the 2 intercepted calls", tr.turns())
	}
	for _, rs := range tr.requests {
		for _, r := range rs {
			if r.UsageInput == nil || *r.UsageInput != fakellm.UsageFor(1, 0).Input {
				t.Errorf("usage input %v", ptr(r.UsageInput))
			}
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestReverseWebSocketRefused checks the 426 answer in reverse mode with
// WebSocketRefuse and that the upstream transport ignores proxy settings.
func TestReverseWebSocketRefused(t *testing.T) {
	if NewTransport().Proxy != nil {
		t.Fatal("upstream transport consults proxy settings: it could loop into itself")
	}
	fake, f := startFake(t, 3, 0)
	out := filepath.Join(t.TempDir(), "t")
	run := startRun(t, Config{Front: FrontOptions{Upstream: mustURL(fake.URL), WebSocket: WebSocketRefuse}, Recorder: Options{Out: out}})
	req, _ := http.NewRequest(http.MethodGet, run.url+"/v1/responses", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUpgradeRequired || f.Requests.Load() != 0 {
		t.Errorf("status %d, upstream saw %d requests; want 426 and none", resp.StatusCode, f.Requests.Load())
	}
	run.stop(t)
	// A run without LLM calls still leaves an (empty) trace set.
	if tr := readTrace(t, out); tr.turns() != 0 || len(tr.sessions) != 0 {
		t.Errorf("empty run: %d turns, %d sessions", tr.turns(), len(tr.sessions))
	}
}

func TestCA(t *testing.T) {
	dir := t.TempDir()
	ca, err := LoadOrCreateCA(dir)
	if err != nil || !ca.Created || !ca.Cert.Leaf.IsCA {
		t.Fatalf("create: %v %+v", err, ca)
	}
	again, err := LoadOrCreateCA(dir)
	if err != nil || again.Created || !again.Cert.Leaf.Equal(ca.Cert.Leaf) {
		t.Fatalf("reload made a different CA: %v", err)
	}
	env := AgentEnv(again, "http://127.0.0.1:8788")
	for _, w := range []string{"HTTPS_PROXY=http://127.0.0.1:8788", "NODE_EXTRA_CA_CERTS=" + ca.CertPath, "CODEX_CA_CERTIFICATE=" + ca.CertPath, "SSL_CERT_FILE="} {
		if !strings.Contains(env, w) {
			t.Errorf("env lacks %s:\n%s", w, env)
		}
	}
	os.Chmod(filepath.Join(dir, CAKeyFile), 0o644)
	if _, err := LoadOrCreateCA(dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable key accepted: %v", err)
	}
}

func TestParseMapRetarget(t *testing.T) {
	m, err := ParseMap([]string{"API.openai.com=https://gw.internal/openai", "api.anthropic.com=http://127.0.0.1:9000"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ in, want string }{
		{"https://api.openai.com/v1/responses", "https://gw.internal/openai/v1/responses"},
		{"https://api.anthropic.com/v1/messages?beta=true", "http://127.0.0.1:9000/v1/messages?beta=true"},
	}
	for _, tt := range tests {
		u, _ := url.Parse(tt.in)
		retarget(u, m[hostOnly(u.Host)])
		if u.String() != tt.want {
			t.Errorf("retarget(%s) = %s, want %s", tt.in, u, tt.want)
		}
	}
	for _, bad := range []string{"nohost", "=http://x", "h=ftp://x", "h="} {
		if _, err := ParseMap([]string{bad}); err == nil {
			t.Errorf("ParseMap(%q) accepted", bad)
		}
	}
}

// TestMITMPlainHTTP proxies a plain-http API call (absolute-form request to
// the proxy) and records it.
func TestMITMPlainHTTP(t *testing.T) {
	fake, _ := startFake(t, 3, 0)
	out := filepath.Join(t.TempDir(), "traces")
	maps, _ := ParseMap([]string{"api.openai.com=" + fake.URL})
	run := startRun(t, Config{MITM: true, CADir: t.TempDir(), Front: FrontOptions{Map: maps}, Recorder: Options{Out: out}})
	pu, _ := url.Parse(run.url)
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu)}}
	resp, err := c.Post("http://api.openai.com/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"x"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasSuffix(string(b), "data: [DONE]\n\n") {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	waitMetricT(t, run.url, "agentperf_record_turns_total", 1) // /metrics in MITM mode
	run.stop(t)
	if n := readTrace(t, out).turns(); n != 1 {
		t.Errorf("%d turns, want 1", n)
	}
}
