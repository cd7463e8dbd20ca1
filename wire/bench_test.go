package wire

import (
	"testing"

	"github.com/agentperf/agentperf/schemas"
)

// BenchmarkStreamEvent scans the events of a 256-token OpenAI Chat stream
// (content deltas, the usage chunk, [DONE]) with the default keys: the
// per-event cost of Stream.Event on replay's hot path.
func BenchmarkStreamEvent(b *testing.B) {
	delta := []byte(`{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":" tok"}}]}`)
	last := []byte(`{"choices":[],"usage":{"prompt_tokens":100,"completion_tokens":256}}`)
	done := []byte("[DONE]")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s := NewStream(schemas.APIOpenAIChat)
		n := 0
		for range 256 {
			if s.Event(nil, delta) {
				n++
			}
		}
		s.Event(nil, last)
		s.Event(nil, done)
		if n != 256 || s.Usage().Output != 256 || !s.Done {
			b.Fatal(n, s.Usage())
		}
	}
}
