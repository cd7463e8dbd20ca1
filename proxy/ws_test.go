package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/agentperf/agentperf/proxy/internal/fakellm"
	"github.com/agentperf/agentperf/schemas"
)

// wsUpstream is a fake Responses WebSocket server: each response.create
// message is answered with the events fakellm streams for the same body,
// one text message per event.
func wsUpstream(t *testing.T, mode websocket.CompressionMode) *httptest.Server {
	fake := &fakellm.Server{Tokens: 4}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "" {
			fake.ServeHTTP(w, r)
			return
		}
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: mode})
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(1 << 24)
		ctx := r.Context()
		for {
			_, msg, err := c.Read(ctx)
			if err != nil {
				return
			}
			var body map[string]any
			if json.Unmarshal(msg, &body) != nil || body["type"] != "response.create" {
				continue
			}
			delete(body, "type")
			body["stream"] = true
			b, _ := json.Marshal(body)
			rec := httptest.NewRecorder()
			fake.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/responses", bytes.NewReader(b)))
			slow := bytes.Contains(msg, []byte(`"again"`)) // a call the client abandons
			for _, line := range strings.Split(rec.Body.String(), "\n") {
				if data, ok := strings.CutPrefix(line, "data: "); ok {
					if err := c.Write(ctx, websocket.MessageText, []byte(data)); err != nil {
						return
					}
					if slow {
						time.Sleep(50 * time.Millisecond)
					}
				}
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// readUntilCompleted reads events until response.completed and returns its
// response id and output items.
func readUntilCompleted(t *testing.T, ctx context.Context, c *websocket.Conn) (string, []json.RawMessage) {
	t.Helper()
	for {
		_, msg, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("reading events: %v", err)
		}
		if eventType(msg) == "response.completed" {
			return completedOutput(t, append([]byte("data: "), msg...))
		}
	}
}

// TestWebSocketCapture drives Codex's WebSocket transport with a real
// WebSocket client (github.com/coder/websocket) through both proxy modes,
// with and without permessage-deflate: two calls chained by
// previous_response_id are two turns of the session named by the session-id
// header — complete, timed, the second materialized to its full input —
// and a call the client abandons mid-stream is a cut-off turn.
func TestWebSocketCapture(t *testing.T) {
	for _, comp := range []struct {
		name string
		mode websocket.CompressionMode
	}{{"plain", websocket.CompressionDisabled}, {"deflate", websocket.CompressionContextTakeover}} {
		t.Run(comp.name, func(t *testing.T) {
			up := wsUpstream(t, comp.mode)
			eachMode(t, up.URL, FrontOptions{}, func(t *testing.T, fe *frontEnd) {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				u := strings.Replace(fe.base, "http", "ws", 1) + "/v1/responses"
				hdr := http.Header{"Session-Id": {"codex-ws-1"}, "Originator": {"codex_cli_rs"},
					"User-Agent": {"codex_cli_rs/0.17.0 (Linux)"}, "Authorization": {"Bearer sk-secret-ws"}}
				c, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: fe.client, HTTPHeader: hdr, CompressionMode: comp.mode})
				if err != nil {
					t.Fatalf("dial %s: %v", u, err)
				}
				if comp.mode != websocket.CompressionDisabled && !strings.Contains(resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate") {
					t.Fatalf("permessage-deflate not negotiated: %v", resp.Header)
				}
				c.SetReadLimit(1 << 24)
				first := `{"role":"user","content":[{"type":"input_text","text":"` + strings.Repeat("list the files ", 40) + `"}]}`
				send := func(msg string) {
					if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
						t.Fatal(err)
					}
				}
				send(`{"type":"response.create","model":"gpt-5","instructions":"be brief","store":false,"input":[` + first + `]}`)
				id1, out1 := readUntilCompleted(t, ctx, c)
				time.Sleep(30 * time.Millisecond) // the tool runs
				var call struct {
					CallID string `json:"call_id"`
				}
				json.Unmarshal(out1[len(out1)-1], &call)
				toolOut := `{"type":"function_call_output","call_id":"` + call.CallID + `","output":"a.go b.go"}`
				send(`{"type":"response.create","model":"gpt-5","instructions":"be brief","store":false,"previous_response_id":"` + id1 + `","input":[` + toolOut + `]}`)
				readUntilCompleted(t, ctx, c)
				// A third call abandoned after its first event.
				send(`{"type":"response.create","model":"gpt-5","instructions":"be brief","input":[{"role":"user","content":"again"}]}`)
				if _, _, err := c.Read(ctx); err != nil {
					t.Fatal(err)
				}
				c.CloseNow()
				waitMetricT(t, fe.run.url, "agentperf_record_turns_total", 3)
				fe.run.stop(t)

				tr := readTrace(t, fe.out)
				rs := tr.requests["codex-ws-1"]
				if len(tr.sessions) != 1 || len(rs) != 3 {
					t.Fatalf("sessions %v, %d turns in codex-ws-1; want one session with 3 turns", tr.order, len(rs))
				}
				if s := tr.sessions["codex-ws-1"]; s.Agent != "codex" || s.API != schemas.APIOpenAIResponses {
					t.Errorf("session %+v", s)
				}
				for i, r := range rs[:2] {
					if r.Status != 200 || r.Error != "" || !r.Stream || r.Model != "gpt-5" || r.Extras == "" || !strings.Contains(r.Extras, `"transport":"websocket"`) {
						t.Errorf("turn %d: status %d error %q stream %v model %q extras %s", i, r.Status, r.Error, r.Stream, r.Model, r.Extras)
					}
					if r.UsageOutput == nil || len(r.Response) == 0 || !(r.StartNS < r.FirstByteNS && r.FirstByteNS <= r.FirstTokenNS && r.FirstTokenNS <= r.EndNS) {
						t.Errorf("turn %d: usage %v, %d response items, times %d %d %d %d", i, ptr(r.UsageOutput), len(r.Response), r.StartNS, r.FirstByteNS, r.FirstTokenNS, r.EndNS)
					}
				}
				if rs[1].ThinkNS < int64(30*time.Millisecond) || rs[1].ContextItems != int32(1+len(out1)) {
					t.Errorf("turn 1: think %v context items %d, want ≥ 30ms and %d", time.Duration(rs[1].ThinkNS), rs[1].ContextItems, 1+len(out1))
				}
				body, _ := tr.set.Body(nil, &rs[1])
				var got struct {
					Input    []json.RawMessage `json:"input"`
					Prev     *string           `json:"previous_response_id"`
					Type     *string           `json:"type"`
					Stream   bool              `json:"stream"`
					Instruct string            `json:"instructions"`
				}
				json.Unmarshal(body, &got)
				if len(got.Input) != 2+len(out1) || got.Prev != nil || got.Type != nil || !got.Stream || got.Instruct != "be brief" {
					t.Errorf("turn 1 body: %s", body)
				}
				if r := rs[2]; !strings.Contains(r.Error, "cut off") {
					t.Errorf("abandoned turn: error %q, want a cut-off", r.Error)
				}
				assertNoSecret(t, fe.out, "sk-secret-ws")
			})
		})
	}
}

// TestWSRequestBody checks the turn body made from a response.create
// message.
func TestWSRequestBody(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"type":"response.create","model":"m","input":[]}`, `{"input":[],"model":"m","stream":true}`},
		{`{"type":"response.create","response":{"model":"m","stream":false}}`, `{"model":"m","stream":false}`},
		{`not json`, `not json`},
	}
	for _, tt := range tests {
		got := wsRequestBody([]byte(tt.in))
		if c, err := schemas.Canonical(got); err == nil {
			got = c
		}
		if string(got) != tt.want {
			t.Errorf("wsRequestBody(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
	if eventType([]byte(`{"type":"response.completed","response":{}}`)) != "response.completed" ||
		eventType([]byte(`{"sequence_number":1,"type":"error"}`)) != "error" || eventType([]byte(`[1]`)) != "" {
		t.Error("eventType")
	}
}

// rwcBuf records what is written to it and reads from a fixed stream.
type rwcBuf struct {
	mu      sync.Mutex
	written bytes.Buffer
	r       io.Reader
}

func (b *rwcBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.written.Write(p)
}
func (b *rwcBuf) Read(p []byte) (int, error) { return b.r.Read(p) }
func (b *rwcBuf) Close() error               { return nil }

// TestWSConnMalformed checks that bytes which stop being valid WebSocket
// frames are still forwarded untouched, and that the open turn is then
// kept as cut off with the reason.
func TestWSConnMalformed(t *testing.T) {
	got := make(chan *exchange, 4)
	tap := &Tap{Sink: func(x *exchange) { got <- x }}
	rwc := &rwcBuf{r: bytes.NewReader(nil)}
	req := httptest.NewRequest(http.MethodGet, "/v1/responses", nil)
	c := newWSConn(tap, req, &http.Response{Header: http.Header{}}, rwc)
	create := []byte(`{"type":"response.create","model":"m","input":"hi"}`)
	frame := append([]byte{0x81, 0x80 | byte(len(create)), 1, 2, 3, 4}, create...)
	for i := range create {
		frame[6+i] ^= []byte{1, 2, 3, 4}[i&3]
	}
	garbage := []byte{0x8F, 0x00, 0xde, 0xad} // reserved opcode
	c.Write(frame)
	c.Write(garbage)
	c.Close()
	select {
	case x := <-got:
		if !x.cut || !strings.Contains(x.err, "capture stopped") || !strings.Contains(string(x.reqBody), "response.create") {
			t.Errorf("turn: cut %v err %q body %s", x.cut, x.err, x.reqBody)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the open turn was not handed over")
	}
	rwc.mu.Lock()
	defer rwc.mu.Unlock()
	if want := append(append([]byte(nil), frame...), garbage...); !bytes.Equal(rwc.written.Bytes(), want) {
		t.Errorf("forwarded %x, want %x", rwc.written.Bytes(), want)
	}
}

func TestParseWebSocketMode(t *testing.T) {
	for in, want := range map[string]string{"": WebSocketCapture, "capture": WebSocketCapture, "refuse": WebSocketRefuse, "pass": WebSocketPass, "426": ""} {
		got, err := ParseWebSocketMode(in)
		if got != want || (err != nil) != (want == "") {
			t.Errorf("ParseWebSocketMode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
