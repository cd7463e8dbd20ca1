package proxy

import (
	"bufio"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentperf/agentperf/schemas"
)

// frontEnd is one proxy mode set up in front of an upstream: a client that
// reaches the upstream through the proxy, and the URL to call for a path.
type frontEnd struct {
	run    *running
	out    string
	client *http.Client
	base   string // "http://127.0.0.1:port" (reverse) or "https://api.openai.com" (MITM)
}

// eachMode runs fn once in reverse mode and once in MITM mode (real TLS
// through goproxy, api.openai.com and api.anthropic.com mapped to
// upstream).
func eachMode(t *testing.T, upstream string, opt FrontOptions, fn func(t *testing.T, fe *frontEnd)) {
	for _, mitm := range []bool{false, true} {
		t.Run(map[bool]string{false: "reverse", true: "mitm"}[mitm], func(t *testing.T) {
			fe := &frontEnd{out: filepath.Join(t.TempDir(), "traces")}
			front := opt
			if !mitm {
				front.Upstream = mustURL(upstream)
				fe.run = startRun(t, Config{Front: front, Recorder: Options{Out: fe.out}})
				fe.client = &http.Client{Transport: &http.Transport{}}
				fe.base = fe.run.url
				fn(t, fe)
				return
			}
			caDir := t.TempDir()
			front.Map, _ = ParseMap([]string{"api.anthropic.com=" + upstream, "api.openai.com=" + upstream})
			fe.run = startRun(t, Config{MITM: true, CADir: caDir, Front: front, Recorder: Options{Out: fe.out}})
			pem, _ := os.ReadFile(filepath.Join(caDir, CACertFile))
			roots := x509.NewCertPool()
			roots.AppendCertsFromPEM(pem)
			fe.client = proxyClient(fe.run.url, roots)
			fe.base = "https://api.openai.com"
			fn(t, fe)
		})
	}
}

// TestClientClosesAfterTerminalEvent plays Codex: the client hangs up as
// soon as it has read the terminal event, while the upstream keeps the
// response open. The turn is complete — status 200, no error, its end at
// the terminal event — in both modes and for each API; a client that hangs
// up before the terminal event still leaves a cut-off turn.
func TestClientClosesAfterTerminalEvent(t *testing.T) {
	streams := map[string]struct {
		api, path, events, terminal string
	}{
		"responses": {schemas.APIOpenAIResponses, "/v1/responses",
			"event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\",\"status\":\"in_progress\",\"output\":[]}}\n\n" +
				"event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"output_index\":0,\"delta\":\"hi\"}\n\n" +
				"event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\",\"status\":\"completed\",\"output\":[{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"hi\"}]}],\"usage\":{\"input_tokens\":10,\"output_tokens\":7}}}\n\n",
			"response.completed"},
		"anthropic": {schemas.APIAnthropic, "/v1/messages",
			"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\n" +
				"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
				"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n" +
				"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":7}}\n\n" +
				"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
			"message_stop"},
		"chat": {schemas.APIOpenAIChat, "/v1/chat/completions",
			"data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"hi\"},\"finish_reason\":null}]}\n\n" +
				"data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n" +
				"data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":7}}\n\n" +
				"data: [DONE]\n\n",
			"[DONE]"},
	}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		var s string
		for _, st := range streams {
			if strings.HasSuffix(r.URL.Path, st.path) {
				s = st.events
			}
		}
		w.Header().Set("Content-Type", "text/event-stream")
		if strings.Contains(r.Header.Get("X-Test"), "early") {
			s = s[:len(s)/2]
		}
		io.WriteString(w, s)
		w.(http.Flusher).Flush()
		// Keep the response open with keep-alive comments until the
		// client is gone (reverse mode cancels the request; in MITM mode
		// the writes to the gone client fail).
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < 250; i++ {
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
				io.WriteString(w, ": ping\n\n")
				w.(http.Flusher).Flush()
			}
		}
	}))
	defer up.Close()
	eachMode(t, up.URL, FrontOptions{}, func(t *testing.T, fe *frontEnd) {
		for _, name := range []string{"responses", "anthropic", "chat", "early"} {
			st := streams[name]
			early := name == "early"
			if early {
				st = streams["responses"]
			}
			req, _ := http.NewRequest(http.MethodPost, fe.base+st.path, strings.NewReader(`{"model":"m","stream":true,"input":[{"role":"user","content":"`+name+`"}],"messages":[{"role":"user","content":"`+name+`"}]}`))
			req.Header.Set("X-Test", name)
			if st.api == schemas.APIAnthropic {
				req.Header.Set("Anthropic-Version", "2023-06-01")
				req.URL.Host = strings.Replace(req.URL.Host, "api.openai.com", "api.anthropic.com", 1)
			}
			resp, err := fe.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(resp.Body)
			for {
				line, err := br.ReadString('\n')
				if err != nil || strings.Contains(line, st.terminal) || (early && strings.Contains(line, "delta")) {
					break
				}
			}
			resp.Body.Close() // hang up, as Codex does
			if tr, ok := fe.client.Transport.(*http.Transport); ok {
				tr.CloseIdleConnections()
			}
		}
		waitMetricT(t, fe.run.url, "agentperf_record_turns_total", 4)
		fe.run.stop(t)
		tr := readTrace(t, fe.out)
		if tr.turns() != 4 {
			t.Fatalf("%d turns, want 4", tr.turns())
		}
		for _, rs := range tr.requests {
			for _, r := range rs {
				body, _ := tr.set.Body(nil, &r)
				early := strings.Contains(string(body), "early")
				switch {
				case early && (r.Error == "" || !strings.Contains(r.Error, "cut off") && !strings.Contains(r.Error, "client closed")):
					t.Errorf("%s: a client gone before the terminal event: error %q, want a cut-off", body, r.Error)
				case !early && (r.Error != "" || r.Status != 200 || r.UsageOutput == nil || *r.UsageOutput != 7):
					t.Errorf("%s: status %d error %q output %v, want a complete turn", body, r.Status, r.Error, ptr(r.UsageOutput))
				case !early && time.Duration(r.EndNS-r.StartNS) > 10*time.Second:
					t.Errorf("%s: end %v after start: want the terminal event's arrival, not the hang-up", body, time.Duration(r.EndNS-r.StartNS))
				}
			}
		}
	})
}
