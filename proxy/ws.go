package proxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentperf/agentperf/proxy/wsframe"
	"github.com/agentperf/agentperf/schemas"
)

// Responses API calls over a WebSocket.
//
// Codex (with supports_websockets) opens GET /v1/responses with Upgrade:
// websocket and then, per model call, sends a text message
// {"type":"response.create", …the POST /v1/responses body fields…} and
// receives the call's stream events (response.created … response.completed)
// as text messages. The tap forwards every byte of the upgraded connection
// untouched; wsConn reads a copy of each direction with wsframe and cuts it
// into turns: a response.create opens one, the server's events are its
// response, and its terminal event (response.completed, .incomplete,
// .failed, .done or error) ends it. Each turn is handed to the recorder
// like an HTTP call, with the events as an SSE body, so the same adapter
// reads it.

// WebSocket modes of FrontOptions.WebSocket.
const (
	// WebSocketCapture forwards Responses WebSocket upgrades and records
	// the calls made over them (the default).
	WebSocketCapture = "capture"
	// WebSocketRefuse answers the upgrade with 426 Upgrade Required, so
	// Codex falls back to HTTP and SSE.
	WebSocketRefuse = "refuse"
	// WebSocketPass forwards the upgrade and records nothing of it.
	WebSocketPass = "pass"
)

// ParseWebSocketMode checks a WebSocket mode; "" means WebSocketCapture.
func ParseWebSocketMode(s string) (string, error) {
	switch s {
	case "", WebSocketCapture:
		return WebSocketCapture, nil
	case WebSocketRefuse, WebSocketPass:
		return s, nil
	}
	return "", &modeError{s}
}

type modeError struct{ s string }

func (e *modeError) Error() string {
	return "WebSocket mode " + e.s + " is not one of capture, refuse, pass"
}

// wsTerminal are the server events that end a call.
var wsTerminal = map[string]bool{
	"response.completed": true, "response.incomplete": true, "response.failed": true,
	"response.done": true, "error": true,
}

// wsConn is the upstream side of an upgraded Responses WebSocket (the 101
// response's body): reads are the server's bytes on their way to the
// client, writes the client's on their way to the server. The forwarding
// path only copies the bytes, with their arrival time, onto a queue; a
// goroutine per connection reads the frames off it, in arrival order
// across both directions, and cuts the turns.
type wsConn struct {
	rwc io.ReadWriteCloser
	tap *Tap
	// info is the upgrade request's, which every turn carries.
	info callInfo

	qmu    sync.Mutex
	queue  []wsChunk
	qbytes int
	qended bool // an end chunk is queued: nothing more is
	wake   chan struct{}
	// stopped is set once capture ended (an error): chunks are no
	// longer copied.
	stopped atomic.Bool

	// Owned by the capture goroutine.
	client, server wsframe.Reader
	open           []*exchange // turns waiting for their terminal event, oldest first
	ended          bool
}

// wsChunk is one read or write of the connection, or (end != "") its end.
type wsChunk struct {
	server bool
	at     int64
	data   []byte
	end    string
}

// maxWSQueue bounds the bytes waiting for a connection's capture
// goroutine; past it the connection is forwarded without capture.
const maxWSQueue = 256 << 20

var _ io.ReadWriteCloser = (*wsConn)(nil)

// newWSConn wraps the upgraded connection of req's 101 response resp.
func newWSConn(t *Tap, req *http.Request, resp *http.Response, rwc io.ReadWriteCloser) *wsConn {
	deflate := false
	for _, v := range resp.Header.Values("Sec-WebSocket-Extensions") {
		if strings.Contains(strings.ToLower(v), "permessage-deflate") {
			deflate = true
		}
	}
	c := &wsConn{rwc: rwc, tap: t, info: callInfoOf(req), wake: make(chan struct{}, 1)}
	c.client.Deflate, c.server.Deflate = deflate, deflate
	go c.capture()
	return c
}

// Write forwards the client's bytes upstream, a copy queued for capture.
func (c *wsConn) Write(p []byte) (int, error) {
	c.push(wsChunk{at: time.Now().UnixNano(), data: append([]byte(nil), p...)})
	return c.rwc.Write(p)
}

// Read returns the server's bytes, a copy queued for capture.
func (c *wsConn) Read(p []byte) (int, error) {
	n, err := c.rwc.Read(p)
	now := time.Now().UnixNano()
	if n > 0 {
		c.push(wsChunk{server: true, at: now, data: append([]byte(nil), p[:n]...)})
	}
	if err != nil {
		c.push(wsChunk{at: now, end: "response cut off: WebSocket ended before the terminal event: " + err.Error()})
	}
	return n, err
}

// Close closes the connection; calls still open are cut off.
func (c *wsConn) Close() error {
	err := c.rwc.Close()
	c.push(wsChunk{at: time.Now().UnixNano(), end: "response cut off: WebSocket closed before the terminal event"})
	return err
}

// push queues a chunk for the capture goroutine without ever blocking.
func (c *wsConn) push(ch wsChunk) {
	if ch.end == "" && c.stopped.Load() {
		return
	}
	c.qmu.Lock()
	if c.qended {
		c.qmu.Unlock()
		return
	}
	if c.qbytes+len(ch.data) > maxWSQueue && ch.end == "" {
		ch = wsChunk{at: ch.at, end: "capture stopped: it fell behind the connection"}
	}
	c.qended = ch.end != ""
	c.queue = append(c.queue, ch)
	c.qbytes += len(ch.data)
	c.qmu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// capture reads the queued chunks until the connection's end.
func (c *wsConn) capture() {
	for range c.wake {
		c.qmu.Lock()
		q := c.queue
		c.queue, c.qbytes = nil, 0
		c.qmu.Unlock()
		for _, ch := range q {
			if ch.end != "" {
				c.endTurns(ch.end, ch.at)
				return
			}
			if ch.server {
				c.observe(&c.server, ch, c.serverMessage)
			} else {
				c.observe(&c.client, ch, c.clientMessage)
			}
		}
	}
}

// observe feeds a chunk to one direction's reader. A capture failure
// never reaches the forwarding path: the connection is then forwarded
// without capture.
func (c *wsConn) observe(r *wsframe.Reader, ch wsChunk, fn func(wsframe.Message, int64)) {
	defer func() {
		if p := recover(); p != nil {
			c.endTurns(fmt.Sprintf("capture failed: %v", p), ch.at)
		}
	}()
	if c.ended || r.Err() != nil {
		return
	}
	if err := r.Feed(ch.data, func(m wsframe.Message) { fn(m, ch.at) }); err != nil {
		c.endTurns("capture stopped: "+err.Error(), ch.at)
	}
}

// clientMessage opens a turn for a response.create message.
func (c *wsConn) clientMessage(m wsframe.Message, now int64) {
	if !m.Text || eventType(m.Data) != "response.create" {
		return
	}
	x := &exchange{api: schemas.APIOpenAIResponses, transport: "websocket", callInfo: c.info, startNS: now, reqBody: m.Data}
	if c.tap.Started != nil {
		c.tap.Started()
	}
	c.open = append(c.open, x)
}

// serverMessage adds an event to the oldest open turn; a terminal event
// ends it.
func (c *wsConn) serverMessage(m wsframe.Message, now int64) {
	if len(c.open) == 0 || !m.Text {
		return
	}
	x := c.open[0]
	if x.firstByteNS == 0 {
		x.firstByteNS = now
		x.status, x.respType = http.StatusOK, "text/event-stream"
	}
	x.respBody = append(x.respBody, "data: "...)
	x.respBody = append(x.respBody, m.Data...)
	x.respBody = append(x.respBody, "\n\n"...)
	x.marks = append(x.marks, mark{end: len(x.respBody), at: now})
	if wsTerminal[eventType(m.Data)] {
		x.endNS = now
		c.open = c.open[1:]
		c.tap.finish(x)
	}
}

// endTurns cuts off the calls still open; the connection is captured no
// further.
func (c *wsConn) endTurns(why string, at int64) {
	if c.ended {
		return
	}
	c.ended = true
	c.stopped.Store(true)
	for _, x := range c.open {
		x.endNS, x.err, x.cut = at, why, true
		c.tap.finish(x)
	}
	c.open = nil
}

// eventType returns the top-level "type" of a JSON object message.
func eventType(msg []byte) string {
	const head = `{"type":"`
	if bytes.HasPrefix(msg, []byte(head)) {
		rest := msg[len(head):]
		if i := bytes.IndexByte(rest, '"'); i >= 0 && bytes.IndexByte(rest[:i], '\\') < 0 {
			return string(rest[:i])
		}
	}
	var v struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(msg, &v)
	return v.Type
}

// wsRequestBody turns a response.create message into the POST
// /v1/responses body it stands for: without "type", with "stream": true
// (the events are streamed). A message that nests the body under
// "response" is unwrapped. A message that is not a JSON object is kept.
func wsRequestBody(msg []byte) []byte {
	var obj map[string]json.RawMessage
	if json.Unmarshal(msg, &obj) != nil || obj == nil {
		return msg
	}
	delete(obj, "type")
	if inner, ok := obj["response"]; ok && len(obj) == 1 {
		var o map[string]json.RawMessage
		if json.Unmarshal(inner, &o) == nil && o != nil {
			obj = o
		}
	}
	if _, ok := obj["stream"]; !ok {
		obj["stream"] = json.RawMessage("true")
	}
	return mustMarshal(obj)
}
