package wire

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/agentperf/agentperf/schemas"
)

// Endpoint paths of the three APIs (schemas.API* kinds), and the other
// paths of the OpenAI and Anthropic APIs agentperf sim serves.
const (
	PathAnthropic       = "/v1/messages"
	PathOpenAIChat      = "/v1/chat/completions"
	PathOpenAIResponses = "/v1/responses"
	// PathCompletions is OpenAI's legacy text completions.
	PathCompletions = "/v1/completions"
	// PathCountTokens is Anthropic's token counting.
	PathCountTokens = "/v1/messages/count_tokens"
	// PathModels lists models.
	PathModels = "/v1/models"
)

// Path returns the endpoint path of api (a schemas.API* kind).
func Path(api string) (string, bool) {
	switch api {
	case schemas.APIAnthropic:
		return PathAnthropic, true
	case schemas.APIOpenAIChat:
		return PathOpenAIChat, true
	case schemas.APIOpenAIResponses:
		return PathOpenAIResponses, true
	}
	return "", false
}

// APIs lists the API kinds that have an endpoint.
var APIs = []string{schemas.APIAnthropic, schemas.APIOpenAIChat, schemas.APIOpenAIResponses}

// EndpointURL returns the URL of api under a target base URL. A base
// ending in /v1 is not repeated ("http://h:8000/v1" + chat =
// "http://h:8000/v1/chat/completions").
func EndpointURL(base, api string) (string, error) {
	p, ok := Path(api)
	if !ok {
		return "", fmt.Errorf("no endpoint for API %q (want %s)", api, strings.Join(APIs, ", "))
	}
	base = strings.TrimSuffix(strings.TrimRight(base, "/"), "/v1")
	return base + p, nil
}

// APIOf returns the API kind of a call, or "" for any other request:
// calls are POSTs to a path APIOfPath recognises.
func APIOf(method, path string) string {
	if method != http.MethodPost {
		return ""
	}
	return APIOfPath(path)
}

// APIOfPath returns the API kind whose endpoint path ends path (a trailing
// "/" aside), or "". Only the ending counts, so gateway prefixes
// (/openai/v1/…, /backend-api/codex/responses, /api/v1/chat/completions)
// are understood too; Anthropic's is also recognised bare (/messages).
// The capture proxy also applies it to the GET that opens a Responses
// WebSocket.
func APIOfPath(path string) string {
	path = strings.TrimRight(path, "/")
	switch {
	case strings.HasSuffix(path, PathAnthropic) || path == "/messages":
		return schemas.APIAnthropic
	case strings.HasSuffix(path, "/chat/completions"):
		return schemas.APIOpenAIChat
	case strings.HasSuffix(path, "/responses"):
		return schemas.APIOpenAIResponses
	}
	return ""
}
