package adapt

import (
	"testing"

	"github.com/agentperf/agentperf/proxy/internal/fakellm"
	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/wire"
)

// replayUsage reads body as replay's HTTP sender does (replay/client.go's
// readStream): a buffer that grows by reads of the given size, events cut
// with wire.NextEvent and wire.SplitEvent, each fed to a wire.Stream until
// its end-of-stream event; an unstreamed body through Stream.Whole.
func replayUsage(api, contentType string, body []byte, read int) wire.Usage {
	st := wire.NewStream(api)
	if !wire.IsEventStream(contentType) {
		st.Whole(body)
		return st.Usage()
	}
	var scratch []byte
	start := 0
	for end := 0; end < len(body) && !st.Done; {
		end = min(len(body), end+read)
		for !st.Done {
			n, textLen := wire.NextEvent(body[start:end])
			if n == 0 {
				break
			}
			var name, data []byte
			name, data, scratch, _ = wire.SplitEvent(body[start:start+textLen], scratch)
			st.Event(name, data)
			start += n
		}
	}
	return st.Usage()
}

// captured returns adapt's usage of a response as wire.Usage (-1 = nil).
func captured(r Result) wire.Usage {
	v := func(p *int64) int64 {
		if p == nil {
			return -1
		}
		return *p
	}
	return wire.Usage{Input: v(r.Usage.Input), Cached: v(r.Usage.Cached), Output: v(r.Usage.Output), Reasoning: v(r.Usage.Reasoning)}
}

// TestUsageAsReplayReadsIt checks that capture reports the usage replay
// reads from the same recorded response — for each API, streamed and
// not, and for servers that report usage their own way (DeepSeek's
// prompt_cache_hit_tokens, usage on every chunk, Responses events without
// event: lines) — and that the counts are the ones the server sent.
func TestUsageAsReplayReadsIt(t *testing.T) {
	type recorded struct {
		name, api, contentType string
		body                   []byte
		want                   wire.Usage // -1: not reported
	}
	var cases []recorded
	for _, f := range []struct{ api, path, body string }{
		{schemas.APIAnthropic, "/v1/messages", anthTool},
		{schemas.APIOpenAIChat, "/v1/chat/completions", chatTool},
		{schemas.APIOpenAIResponses, "/v1/responses", respTool},
	} {
		for _, stream := range []string{"true", "false"} {
			status, ct, body := call(t, f.path, sprintf(f.body, stream))
			if status != 200 {
				t.Fatalf("fake %s: HTTP %d", f.api, status)
			}
			cases = append(cases, recorded{name: "fake " + f.api + " stream=" + stream, api: f.api, contentType: ct, body: body, want: wire.Usage{Input: -2}})
		}
	}
	for _, d := range fakellm.Dialects() {
		cases = append(cases, recorded{d.Name, d.API, d.ContentType, d.Body, d.Usage})
	}
	for _, c := range cases {
		res := Parse(c.api, 200, c.contentType, c.body)
		if res.Error != "" {
			t.Errorf("%s: error %q", c.name, res.Error)
		}
		got := captured(res)
		if c.want.Input != -2 && got != c.want {
			t.Errorf("%s: captured usage %+v, want %+v", c.name, got, c.want)
		}
		if got.Input < 0 || got.Output < 0 {
			t.Errorf("%s: captured usage %+v lacks input or output", c.name, got)
		}
		for _, read := range []int{1, 7, 4096} {
			if r := replayUsage(c.api, c.contentType, c.body, read); r != got {
				t.Errorf("%s: replay reads %+v (reads of %d bytes), capture %+v", c.name, r, read, got)
			}
		}
	}
}
