package proxy

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/schemas"
)

// TestMalformedPassThrough sends malformed, truncated and unknown traffic
// through the proxy: the client gets exactly what a direct connection
// gets, nothing panics, and every call is still recorded, with a note.
func TestMalformedPassThrough(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		switch r.URL.Query().Get("case") {
		case "garbage-sse":
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: {not json\n\nevent: ???\ndata: \x00\xff\n\n: comment only\n")
		case "truncated":
			w.Header().Set("Content-Type", "text/event-stream")
			w.(http.Flusher).Flush()
			io.WriteString(w, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m1\",\"usage\":{\"input_tokens\":3}}}\n\nevent: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\nevent: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel")
			w.(http.Flusher).Flush()
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close() // cut mid-event, without the chunked terminator
		case "html":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
			io.WriteString(w, "<html>bad gateway</html>")
		default:
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"ok":true}`)
		}
	}))
	defer up.Close()
	out := filepath.Join(t.TempDir(), "traces")
	run := startRun(t, Config{Front: FrontOptions{Upstream: mustURL(up.URL)}, Recorder: Options{Out: out}})
	fetch := func(base, path, body string) (int, []byte, error) {
		resp, err := http.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}
	cases := []struct{ path, body string }{
		{"/v1/chat/completions?case=garbage-sse", `{"model":"m","stream":true,"messages":[{"role":"user","content":"a"}]}`},
		{"/v1/messages?case=truncated", `{"model":"m","stream":true,"messages":[{"role":"user","content":"b"}]}`},
		{"/v1/responses?case=html", `{"model":"m","input":"c"}`},
		{"/v1/messages", `this is not json`},
		{"/v1/responses", `[1,2,3]`},
	}
	for _, c := range cases {
		ds, db, derr := fetch(up.URL, c.path, c.body)
		ps, pb, perr := fetch(run.url, c.path, c.body)
		if ds != ps || !bytes.Equal(db, pb) || (derr == nil) != (perr == nil) {
			t.Errorf("%s: proxied %d %q (err %v), direct %d %q (err %v)", c.path, ps, pb, perr, ds, db, derr)
		}
	}
	run.stop(t)
	tr := readTrace(t, out)
	if tr.turns() != len(cases) {
		t.Fatalf("%d turns recorded, want %d", tr.turns(), len(cases))
	}
	var errs []string
	raw := 0
	for _, rs := range tr.requests {
		for _, r := range rs {
			errs = append(errs, r.Error)
			if r.API == schemas.APIRaw {
				raw++
			}
		}
	}
	all := strings.Join(errs, "\n")
	for _, w := range []string{"truncated", "HTTP 502", "not a JSON object", "parse:"} {
		if !strings.Contains(all, w) {
			t.Errorf("errors lack %q:\n%s", w, all)
		}
	}
	if raw != 2 {
		t.Errorf("%d raw turns, want the 2 non-object bodies", raw)
	}
}
