package wire

import (
	"testing"

	"github.com/agentperf/agentperf/schemas"
)

// TestAPIOf recognises the calls the capture proxy records and nothing
// else (count-tokens, model lists, health checks pass uncaptured).
func TestAPIOf(t *testing.T) {
	tests := []struct{ method, path, want string }{
		{"POST", "/v1/messages", schemas.APIAnthropic},
		{"POST", "/v1/messages/", schemas.APIAnthropic},
		{"POST", "/messages", schemas.APIAnthropic},
		{"POST", "/v1/messages/count_tokens", ""},
		{"POST", "/v1/chat/completions", schemas.APIOpenAIChat},
		{"POST", "/api/v1/chat/completions", schemas.APIOpenAIChat},
		{"POST", "/v1/responses", schemas.APIOpenAIResponses},
		{"POST", "/backend-api/codex/responses", schemas.APIOpenAIResponses},
		{"GET", "/v1/responses", ""},
		{"HEAD", "/", ""},
		{"GET", "/v1/models", ""},
	}
	for _, tt := range tests {
		if got := APIOf(tt.method, tt.path); got != tt.want {
			t.Errorf("APIOf(%s %s) = %q, want %q", tt.method, tt.path, got, tt.want)
		}
	}
	if got := APIOfPath("/backend-api/codex/responses/"); got != schemas.APIOpenAIResponses {
		t.Errorf("APIOfPath of a WebSocket's path = %q", got)
	}
}
