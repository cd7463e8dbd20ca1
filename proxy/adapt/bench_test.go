package adapt

import (
	"bytes"
	"testing"

	"github.com/agentperf/agentperf/schemas"
)

// BenchmarkParseStream measures the capture goroutine's cost per SSE event
// of decoding a finished 256-token stream of each API.
func BenchmarkParseStream(b *testing.B) {
	for _, tt := range []struct{ name, api, path, body string }{
		{"anthropic", schemas.APIAnthropic, "/v1/messages", anthTool},
		{"openai-chat", schemas.APIOpenAIChat, "/v1/chat/completions", chatTool},
		{"openai-responses", schemas.APIOpenAIResponses, "/v1/responses", respTool},
	} {
		b.Run(tt.name, func(b *testing.B) {
			status, ct, body := callTokens(b, tt.path, sprintf(tt.body, "true"), 256)
			events := bytes.Count(body, []byte("\n\n"))
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if r := Parse(tt.api, status, ct, body); r.Error != "" {
					b.Fatal(r.Error)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(events), "ns/event")
		})
	}
}
