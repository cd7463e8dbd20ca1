package proxy

import (
	"bytes"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentperf/agentperf/schemas"
)

// TestRedactAndMetrics checks that --redact masks bodies in the trace set
// but not on the wire, and that /metrics and the status line report turns,
// tokens and zero drops.
func TestRedactAndMetrics(t *testing.T) {
	fake, f := startFake(t, 4, 0)
	out := filepath.Join(t.TempDir(), "traces")
	var status bytes.Buffer
	run := startRun(t, Config{Front: FrontOptions{Upstream: mustURL(fake.URL)},
		Recorder: Options{Out: out, Redact: []string{`sk-[A-Za-z0-9]{10,}`, `alice@example\.com`}},
		Status:   &status, StatusEvery: 20 * time.Millisecond})
	body := `{"model":"gpt-x","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"my key is sk-abcdefghijKLMNOP, mail alice@example.com"}]}`
	for i := 0; i < 3; i++ {
		if st, _ := post(t, run.url+"/v1/chat/completions", nil, body); st != 200 {
			t.Fatal(st)
		}
	}
	if got := string(f.LastBody.Load().([]byte)); got != body {
		t.Errorf("upstream received an altered body: %s", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for metricValue(t, run.url, "agentperf_record_turns_total") != 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	for name, want := range map[string]float64{
		"agentperf_record_turns_total":             3,
		"agentperf_record_drops_total":             0,
		"agentperf_record_sessions_total":          1,
		"agentperf_record_spool_lag_seconds_count": 3,
	} {
		if got := metricValue(t, run.url, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	resp, _ := http.Get(run.url + "/metrics")
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, w := range []string{`agentperf_record_tokens_total{kind="input"} 3111`, `agentperf_record_tokens_total{kind="output"} 27`, `agentperf_record_bytes_total{direction="response"}`} {
		if !strings.Contains(string(m), w) {
			t.Errorf("/metrics lacks %s", w)
		}
	}
	time.Sleep(60 * time.Millisecond)
	run.stop(t)
	line := status.String()
	if !strings.Contains(line, "1 sessions, 3 turns, 3.1k in (0 cached) / 27 out tokens") {
		t.Errorf("status line: %q", line)
	}
	ts, err := schemas.OpenTraceSet(out, schemas.TraceSetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	n := 0
	ts.Blobs(func(b *schemas.Blob) error {
		if strings.Contains(b.Body, "sk-abcdefghij") || strings.Contains(b.Body, "alice@") {
			t.Errorf("blob kept a redacted match: %s", b.Body)
		}
		if strings.Contains(b.Body, RedactMask) {
			n++
		}
		return nil
	})
	if n != 1 {
		t.Errorf("%d blobs carry the mask, want the one user message", n)
	}
}

func TestRedactor(t *testing.T) {
	r, err := NewRedactor([]string{`secret\d+`})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ in, want string }{
		{`{"a":"x secret12 y","secret3":1}`, `{"[REDACTED]":1,"a":"x [REDACTED] y"}`},
		{`{"a":"nothing"}`, `{"a":"nothing"}`},
		{`not json secret9`, `not json [REDACTED]`},
		{`{"a":"<b>&secret1"}`, `{"a":"<b>&[REDACTED]"}`},
	}
	for _, tt := range tests {
		got := string(r.Apply([]byte(tt.in)))
		if c, err := schemas.Canonical([]byte(got)); err == nil {
			got = string(c)
		}
		if got != tt.want {
			t.Errorf("Apply(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
	if _, err := NewRedactor([]string{"("}); err == nil {
		t.Error("bad pattern accepted")
	}
}
