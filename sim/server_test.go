package sim

import (
	"bufio"
	"context"
	"encoding/json"
	"github.com/agentperf/agentperf/wire"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentperf/agentperf/catalog"
	"github.com/agentperf/agentperf/tokens"
)

func startServer(t *testing.T, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	if cfg.TimeScale == 0 {
		cfg.TimeScale = 1000
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	return srv, hs
}

func post(t *testing.T, url, body string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestMalformedRequests(t *testing.T) {
	// A 4,096-token context keeps the over-long prompts cheap to count.
	cat := catalog.Default()
	m, _ := cat.FindModel("gpt-oss-120b")
	m.ContextTokens = 4096
	_, hs := startServer(t, Config{Catalog: cat})
	long := tokens.Filler(1, 5000)
	tests := []struct {
		name, path, body string
		status           int
		errType          string
		param            string // OpenAI only
		contains         string
	}{
		{"chat not json", "/v1/chat/completions", `{"model":`, 400, "invalid_request_error", "", "invalid JSON"},
		{"chat array body", "/v1/chat/completions", `[1,2]`, 400, "invalid_request_error", "", "JSON object"},
		{"chat empty body", "/v1/chat/completions", ``, 400, "invalid_request_error", "", "empty"},
		{"chat no messages", "/v1/chat/completions", `{"model":"m"}`, 400, "invalid_request_error", "messages", "required"},
		{"chat empty messages", "/v1/chat/completions", `{"model":"m","messages":[]}`, 400, "invalid_request_error", "messages", "at least one"},
		{"chat bad role", "/v1/chat/completions", `{"model":"m","messages":[{"role":"wizard","content":"x"}]}`, 400, "invalid_request_error", "messages[0]", "role"},
		{"chat max_tokens string", "/v1/chat/completions", `{"model":"m","max_tokens":"9","messages":[{"role":"user","content":"x"}]}`, 400, "invalid_request_error", "max_tokens", "integer"},
		{"chat max_tokens zero", "/v1/chat/completions", `{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"x"}]}`, 400, "invalid_request_error", "max_tokens", "at least 1"},
		{"chat n=2", "/v1/chat/completions", `{"model":"m","n":2,"messages":[{"role":"user","content":"x"}]}`, 400, "invalid_request_error", "n", "one choice"},
		{"chat trailing garbage", "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"x"}]} x`, 400, "invalid_request_error", "", "after the JSON"},
		{"chat context", "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"` + long + `"}]}`, 400, "invalid_request_error", "messages", "maximum context length is 4096"},
		{"completions no prompt", "/v1/completions", `{"model":"m"}`, 400, "invalid_request_error", "prompt", "required"},
		{"completions two prompts", "/v1/completions", `{"model":"m","prompt":["a","b"]}`, 400, "invalid_request_error", "prompt", "one prompt"},
		{"completions object prompt", "/v1/completions", `{"model":"m","prompt":{"x":1}}`, 400, "invalid_request_error", "prompt", "expected a string"},
		{"completions context", "/v1/completions", `{"model":"m","prompt":"` + long + `"}`, 400, "invalid_request_error", "prompt", "maximum context length is 4096"},
		{"responses no input", "/v1/responses", `{"model":"m"}`, 400, "invalid_request_error", "input", "required"},
		{"responses bad input", "/v1/responses", `{"model":"m","input":42}`, 400, "invalid_request_error", "input", "string or an array"},
		{"responses previous id", "/v1/responses", `{"model":"m","input":"x","previous_response_id":"resp_1"}`, 400, "invalid_request_error", "previous_response_id", "stores no responses"},
		{"responses context", "/v1/responses", `{"model":"m","input":[{"role":"user","content":"` + long + `"}]}`, 400, "invalid_request_error", "input", "context window"},
		{"messages no max_tokens", "/v1/messages", `{"model":"m","messages":[{"role":"user","content":"x"}]}`, 400, "invalid_request_error", "", "max_tokens"},
		{"messages system role", "/v1/messages", `{"model":"m","max_tokens":5,"messages":[{"role":"system","content":"x"}]}`, 400, "invalid_request_error", "", "role"},
		{"messages bad tool_choice", "/v1/messages", `{"model":"m","max_tokens":5,"tool_choice":{"type":"magic"},"messages":[{"role":"user","content":"x"}]}`, 400, "invalid_request_error", "", "tool_choice"},
		{"messages not json", "/v1/messages", `{"model":"m",}`, 400, "invalid_request_error", "", "invalid JSON"},
		{"messages context", "/v1/messages", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"` + long + `"}]}`, 400, "invalid_request_error", "", "prompt is too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(t, hs.URL+tt.path, tt.body)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if resp.Header.Get(wire.HeaderTimeScale) != "1000" {
				t.Errorf("time-scale header %q", resp.Header.Get(wire.HeaderTimeScale))
			}
			if strings.HasPrefix(tt.path, "/v1/messages") {
				var e struct {
					Type  string
					Error struct{ Type, Message string }
				}
				if err := json.Unmarshal(body, &e); err != nil || e.Type != "error" || e.Error.Type != tt.errType || !strings.Contains(e.Error.Message, tt.contains) {
					t.Errorf("anthropic error shape: %s (%v)", body, err)
				}
				return
			}
			var e struct {
				Error struct {
					Message, Type string
					Param, Code   *string
				}
			}
			if err := json.Unmarshal(body, &e); err != nil || e.Error.Type != tt.errType || !strings.Contains(e.Error.Message, tt.contains) {
				t.Errorf("openai error shape: %s (%v)", body, err)
			}
			gotParam := ""
			if e.Error.Param != nil {
				gotParam = *e.Error.Param
			}
			if gotParam != tt.param {
				t.Errorf("param %q, want %q", gotParam, tt.param)
			}
			if strings.Contains(tt.name, "context") && (e.Error.Code == nil || *e.Error.Code != "context_length_exceeded") {
				t.Errorf("context error code %v", e.Error.Code)
			}
		})
	}
}

func TestMethodsAndRoutes(t *testing.T) {
	_, hs := startServer(t, Config{})
	for _, tt := range []struct {
		method, path string
		hdr          []string
		status       int
		contains     string
	}{
		{"GET", "/v1/chat/completions", nil, 405, `"error"`},
		{"GET", "/v1/messages", nil, 405, `"type":"error"`},
		{"GET", "/v1/responses", []string{"Upgrade", "websocket", "Connection", "Upgrade"}, 426, "WebSocket"},
		{"GET", "/nope", nil, 404, `"error"`},
		{"GET", "/nope", []string{"anthropic-version", "2023-06-01"}, 404, `"not_found_error"`},
		{"GET", "/v1/models", nil, 200, `"object":"list"`},
		{"GET", "/v1/models", []string{"anthropic-version", "2023-06-01"}, 200, `"display_name"`},
		{"GET", "/health", nil, 200, "ok"},
		{"GET", "/v1/messages/count_tokens", nil, 405, `"type":"error"`},
		{"HEAD", "/", nil, 200, ""},
		{"GET", "/metrics", nil, 200, "agentperf_sim_time_scale{hardware=\"h100\",model=\"gpt-oss-120b\"} 1000"},
	} {
		req, _ := http.NewRequest(tt.method, hs.URL+tt.path, nil)
		for i := 0; i+1 < len(tt.hdr); i += 2 {
			req.Header.Set(tt.hdr[i], tt.hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.contains) {
			t.Errorf("%s %s %v: %d %s; want %d containing %q", tt.method, tt.path, tt.hdr, resp.StatusCode, b, tt.status, tt.contains)
		}
	}
}

// sseEvents reads a stream and returns its data payloads.
func sseEvents(t *testing.T, r io.Reader) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	return out
}

func TestCountTokens(t *testing.T) {
	_, hs := startServer(t, Config{})
	resp, b := post(t, hs.URL+"/v1/messages/count_tokens", `{"model":"m","messages":[{"role":"user","content":"hello world"}]}`)
	// "hello world" (2) + 3 per message + 3 reply priming.
	if resp.StatusCode != 200 || string(b) != `{"input_tokens":8}` {
		t.Errorf("count_tokens: %d %s", resp.StatusCode, b)
	}
	resp, b = post(t, hs.URL+"/v1/messages/count_tokens", `{"model":"m"}`)
	if resp.StatusCode != 400 || !strings.Contains(string(b), "messages") {
		t.Errorf("count_tokens without messages: %d %s", resp.StatusCode, b)
	}
}

func TestPrefixCacheReportedInUsage(t *testing.T) {
	_, hs := startServer(t, Config{})
	sys := tokens.Filler(3, 3000)
	body := `{"model":"m","max_tokens":4,"ignore_eos":true,"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"system","content":"` + sys + `"},{"role":"user","content":"turn"}]}`
	usage := func() (prompt, cached int) {
		resp, b := post(t, hs.URL+"/v1/chat/completions", body)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		ev := sseEvents(t, strings.NewReader(string(b)))
		if len(ev) < 3 || ev[len(ev)-1] != "[DONE]" {
			t.Fatalf("events: %v", ev)
		}
		var u struct {
			Usage struct {
				PromptTokens int `json:"prompt_tokens"`
				Details      struct {
					CachedTokens int `json:"cached_tokens"`
				} `json:"prompt_tokens_details"`
			}
		}
		if err := json.Unmarshal([]byte(ev[len(ev)-2]), &u); err != nil {
			t.Fatal(err)
		}
		return u.Usage.PromptTokens, u.Usage.Details.CachedTokens
	}
	p1, c1 := usage()
	p2, c2 := usage()
	// 3000 filler tokens + 2×3 template + "turn" + 3 priming.
	if want := 3000 + 3 + 1 + 3 + 3; p1 != want || p2 != want {
		t.Errorf("prompt tokens %d, %d; want %d", p1, p2, want)
	}
	if c1 != 0 || c2 != (p2-1)/BlockTokens*BlockTokens {
		t.Errorf("cached tokens %d then %d; want 0 then %d", c1, c2, (p2-1)/BlockTokens*BlockTokens)
	}
}

func TestStreamEventsPerToken(t *testing.T) {
	_, hs := startServer(t, Config{})
	for _, tt := range []struct {
		path, body string
		perToken   string
		n          int
	}{
		{"/v1/chat/completions", `{"model":"m","max_tokens":25,"ignore_eos":true,"stream":true,"messages":[{"role":"user","content":"x"}]}`, `"delta":{"content":`, 25},
		{"/v1/messages", `{"model":"m","max_tokens":25,"ignore_eos":true,"stream":true,"messages":[{"role":"user","content":"x"}]}`, `"text_delta"`, 25},
		{"/v1/responses", `{"model":"m","max_output_tokens":25,"ignore_eos":true,"stream":true,"input":"x"}`, `"response.output_text.delta"`, 25},
	} {
		_, b := post(t, hs.URL+tt.path, tt.body)
		got := 0
		seqs := map[float64]bool{}
		for _, d := range sseEvents(t, strings.NewReader(string(b))) {
			if strings.Contains(d, tt.perToken) {
				got++
			}
			if d == "[DONE]" {
				continue
			}
			var v map[string]any
			if err := json.Unmarshal([]byte(d), &v); err != nil {
				t.Errorf("%s: event is not JSON: %s", tt.path, d)
			}
			if n, ok := v["sequence_number"].(float64); ok {
				if seqs[n] {
					t.Errorf("duplicate sequence_number %v", n)
				}
				seqs[n] = true
			}
		}
		if got != tt.n {
			t.Errorf("%s: %d token events, want %d", tt.path, got, tt.n)
		}
	}
}

func TestCoalescedStreamCarriesAllTokens(t *testing.T) {
	_, hs := startServer(t, Config{CoalesceTokens: true, TimeScale: 1e5})
	_, b := post(t, hs.URL+"/v1/chat/completions", `{"model":"m","max_tokens":200,"ignore_eos":true,"stream":true,"messages":[{"role":"user","content":"x"}]}`)
	var text strings.Builder
	for _, d := range sseEvents(t, strings.NewReader(string(b))) {
		var v struct {
			Choices []struct {
				Delta struct{ Content string }
			}
		}
		if json.Unmarshal([]byte(d), &v) == nil && len(v.Choices) > 0 {
			text.WriteString(v.Choices[0].Delta.Content)
		}
	}
	if n := tokens.Count(text.String()); n != 200 {
		t.Errorf("coalesced text is %d tokens, want 200", n)
	}
}

// flushCounter counts the flushes a handler makes.
type flushCounter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (f flushCounter) Flush() {
	f.n.Add(1)
	f.ResponseWriter.(http.Flusher).Flush()
}

func TestStreamIntervalBatchesWrites(t *testing.T) {
	flushes := func(interval int) (events, n int64) {
		srv, err := New(Config{StreamInterval: interval, TimeScale: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		var count atomic.Int64
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			srv.Handler().ServeHTTP(flushCounter{w, &count}, r)
		}))
		defer hs.Close()
		_, b := post(t, hs.URL+"/v1/chat/completions", `{"model":"m","max_tokens":40,"ignore_eos":true,"stream":true,"messages":[{"role":"user","content":"x"}]}`)
		for _, d := range sseEvents(t, strings.NewReader(string(b))) {
			if strings.Contains(d, `"delta":{"content":`) {
				events++
			}
		}
		return events, count.Load()
	}
	e1, f1 := flushes(1)
	e4, f4 := flushes(4)
	if e1 != 40 || e4 != 40 {
		t.Errorf("token events %d and %d, want 40 each", e1, e4)
	}
	// Interval 1: headers + one flush per iteration (≈ 41, fewer when the
	// handler falls behind and catches up in one write); interval 4: at
	// most headers, the first token, ten batches of 4 and the end.
	if f4 > 13 || f1 <= f4 {
		t.Errorf("flushes: %d with interval 1, %d with interval 4; want ≈ 41 and ≤ 13", f1, f4)
	}
}

func TestDeterministicOutputLengths(t *testing.T) {
	lengths := func(seed int64) []int {
		_, hs := startServer(t, Config{Seed: seed})
		var out []int
		for i := 0; i < 5; i++ {
			_, b := post(t, hs.URL+"/v1/messages", `{"model":"m","max_tokens":100000,"messages":[{"role":"user","content":"question `+string(rune('a'+i))+`"}]}`)
			var v struct {
				Usage struct {
					OutputTokens int `json:"output_tokens"`
				}
			}
			json.Unmarshal(b, &v)
			out = append(out, v.Usage.OutputTokens)
		}
		return out
	}
	a, b, c := lengths(1), lengths(1), lengths(2)
	if fmtInts(a) != fmtInts(b) {
		t.Errorf("same seed gave %v and %v", a, b)
	}
	if fmtInts(a) == fmtInts(c) {
		t.Errorf("seeds 1 and 2 gave the same lengths %v", a)
	}
	for _, n := range a {
		if n < 1 {
			t.Errorf("output length %d", n)
		}
	}
}

func fmtInts(v []int) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestCloseEndsStreams(t *testing.T) {
	srv, hs := startServer(t, Config{TimeScale: 1})
	resp, err := http.Post(hs.URL+"/v1/messages", "application/json",
		strings.NewReader(`{"model":"m","max_tokens":100000,"ignore_eos":true,"stream":true,"messages":[{"role":"user","content":"x"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	time.AfterFunc(300*time.Millisecond, func() { srv.Close() })
	done := make(chan []string)
	go func() { done <- sseEvents(t, resp.Body) }()
	select {
	case ev := <-done:
		if last := ev[len(ev)-1]; !strings.Contains(last, "overloaded_error") {
			t.Errorf("last event %s, want an error event", last)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("stream did not end after Close")
	}
	r2, b := post(t, hs.URL+"/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"x"}]}`)
	if r2.StatusCode != 503 || !strings.Contains(string(b), "shut down") {
		t.Errorf("after Close: %d %s", r2.StatusCode, b)
	}
}

func TestClientCancelFreesEngine(t *testing.T) {
	srv, hs := startServer(t, Config{TimeScale: 1})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", hs.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"m","max_tokens":100000,"ignore_eos":true,"stream":true,"messages":[{"role":"user","content":"x"}]}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	br.ReadString('\n') // a first event
	cancel()
	resp.Body.Close()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if st := srv.Stats(); st.Running == 0 && st.Waiting == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("request still in the engine after the client left: %+v", srv.Stats())
}

func TestTimeScaleSpeedsUp(t *testing.T) {
	// 100 tokens of gpt-oss-120b on an H100 take ≈ 0.4 s simulated; at
	// K = 20 that is ≈ 20 ms of wall time. The engine cannot be early, so the
	// lower bound is firm; the upper one allows for a loaded machine.
	const k = 20
	_, hs := startServer(t, Config{TimeScale: k})
	post(t, hs.URL+"/v1/chat/completions", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"warm"}]}`)
	start := time.Now()
	resp, b := post(t, hs.URL+"/v1/chat/completions", `{"model":"m","max_tokens":100,"ignore_eos":true,"messages":[{"role":"user","content":"x"}]}`)
	wall := time.Since(start)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	sim := wall.Seconds() * k
	if sim < 0.3 || sim > 5 {
		t.Errorf("100 tokens took %v wall = %.2f s simulated; want ≈ 0.4 s", wall, sim)
	}
}

func TestServeWithEngineOptions(t *testing.T) {
	for _, cfg := range []Config{
		{Accelerators: 2, PrefillAccelerators: 1},
		{SpecDraftTokens: 3, SpecAcceptance: 0.8},
		{Accelerators: 4, TP: 1, DisablePrefixCache: true, DisableChunkedPrefill: true},
		{Hardware: "h200", Model: "deepseek-v3.2", Accelerators: 8, ExpertParallel: true},
	} {
		_, hs := startServer(t, cfg)
		resp, b := post(t, hs.URL+"/v1/messages", `{"model":"m","max_tokens":40,"ignore_eos":true,"stream":true,"messages":[{"role":"user","content":"`+tokens.Filler(5, 2000)+`"}]}`)
		ev := sseEvents(t, strings.NewReader(string(b)))
		deltas := 0
		for _, d := range ev {
			if strings.Contains(d, `"text_delta"`) {
				deltas++
			}
		}
		if resp.StatusCode != 200 || deltas != 40 || !strings.Contains(ev[len(ev)-2], `"output_tokens":40`) {
			t.Errorf("%+v: status %d, %d deltas, events %v", cfg, resp.StatusCode, deltas, ev[len(ev)-2:])
		}
	}
}

// TestHTTP2Cleartext: the simulator's http.Server answers HTTP/1.1 and
// h2c with prior knowledge alike, streaming tokens either way.
func TestHTTP2Cleartext(t *testing.T) {
	srv, err := New(Config{TimeScale: 1000})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(nil)
	hs.Config = srv.HTTPServer()
	hs.Start()
	t.Cleanup(func() { srv.Close(); hs.Close() })
	body := `{"model":"m","stream":true,"max_tokens":5,"ignore_eos":true,"messages":[{"role":"user","content":"hi"}]}`
	for _, h2 := range []bool{false, true} {
		var p http.Protocols
		if h2 {
			p.SetUnencryptedHTTP2(true)
		} else {
			p.SetHTTP1(true)
		}
		c := &http.Client{Transport: &http.Transport{Protocols: &p}}
		resp, err := c.Post(hs.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatalf("h2c %v: %v", h2, err)
		}
		events := sseEvents(t, resp.Body)
		resp.Body.Close()
		want := 1
		if h2 {
			want = 2
		}
		if resp.ProtoMajor != want || resp.StatusCode != 200 || len(events) < 5 {
			t.Errorf("h2c %v: HTTP/%d status %d, %d events", h2, resp.ProtoMajor, resp.StatusCode, len(events))
		}
	}
}
