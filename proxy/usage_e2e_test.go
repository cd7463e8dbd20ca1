package proxy

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/internal/testutil"
	"github.com/agentperf/agentperf/proxy/internal/fakellm"
	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/wire"
)

// TestCaptureAndReplayReportSameUsage records one streamed call of each
// API from a server that reports usage its own way (DeepSeek's
// prompt_cache_hit_tokens, Anthropic's cumulative message_delta, Responses
// without event: lines), replays the trace set against the same server
// with the built binary, and checks that the trace set and the results
// file hold the same input, cached, output and reasoning counts — the
// server's.
func TestCaptureAndReplayReportSameUsage(t *testing.T) {
	var served fakellm.Replayer
	want := map[string]wire.Usage{}
	for _, d := range fakellm.Dialects() {
		if _, ok := want[d.API]; !ok && d.ContentType == "text/event-stream" {
			served = append(served, d)
			want[d.API] = d.Usage
		}
	}
	upstream := httptest.NewServer(served)
	defer upstream.Close()

	traces := filepath.Join(t.TempDir(), "traces")
	run := startRun(t, Config{Front: FrontOptions{Upstream: mustURL(upstream.URL)}, Recorder: Options{Out: traces}})
	for _, c := range []struct{ path, body string }{
		{wire.PathOpenAIChat, `{"model":"deepseek-reasoner","stream":true,"messages":[{"role":"user","content":"one"}]}`},
		{wire.PathAnthropic, `{"model":"claude-x","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"two"}]}`},
		{wire.PathOpenAIResponses, `{"model":"m","stream":true,"input":[{"role":"user","content":"three"}]}`},
	} {
		resp, err := http.Post(run.url+c.path, "application/json", strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	run.stop(t)

	tr := readTrace(t, traces)
	captured := map[string]wire.Usage{}
	v := func(p *int64) int64 {
		if p == nil {
			return -1
		}
		return *p
	}
	for _, rs := range tr.requests {
		for _, r := range rs {
			captured[r.API] = wire.Usage{Input: v(r.UsageInput), Cached: v(r.UsageCached), Output: v(r.UsageOutput), Reasoning: v(r.UsageReasoning)}
		}
	}

	results := filepath.Join(t.TempDir(), "results.parquet")
	stdout, stderr, code := testutil.Run(t, "replay", "--traces", traces, "--target", upstream.URL, "--timestamps",
		"--duration", "0", "--warmup", "0", "--out", results, "--quiet", "--no-probe") // its fake answers a fixed length: the probe would refuse it
	if code != 0 {
		t.Fatalf("replay: exit %d\n%s\n%s", code, stdout, stderr)
	}
	rf, err := schemas.OpenResults(results)
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	replayed := map[string]wire.Usage{}
	if err := rf.Each(func(r *schemas.Result) error {
		if r.Error != "" {
			t.Errorf("replayed %s: %s", r.API, r.Error)
		}
		replayed[r.API] = wire.Usage{Input: int64(r.InputTokens), Cached: int64(r.CachedTokens), Output: int64(r.OutputTokens), Reasoning: int64(r.ReasoningTokens)}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, api := range wire.APIs {
		if captured[api] != want[api] || replayed[api] != want[api] {
			t.Errorf("%s: captured %+v, replayed %+v, the server reported %+v", api, captured[api], replayed[api], want[api])
		}
	}
}
