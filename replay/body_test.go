package replay

import (
	"testing"

	"github.com/agentperf/agentperf/schemas"
)

func TestShapeParams(t *testing.T) {
	tests := []struct {
		api, params string
		policy      OutputPolicy
		want        string
	}{
		{schemas.APIOpenAIChat, `{"max_tokens":100,"model":"a"}`, OutputExact,
			`{"ignore_eos":true,"max_tokens":42,"min_tokens":42,"model":"m","stream":true,"stream_options":{"include_usage":true}}`},
		{schemas.APIOpenAIChat, `{"max_completion_tokens":100}`, OutputCap,
			`{"max_completion_tokens":42,"model":"m","stream":true,"stream_options":{"include_usage":true}}`},
		{schemas.APIAnthropic, `{"max_tokens":64000,"stream":false}`, OutputFree,
			`{"max_tokens":64000,"model":"m","stream":true}`},
		{schemas.APIOpenAIResponses, `{"previous_response_id":"r1","store":true}`, OutputExact,
			`{"ignore_eos":true,"max_output_tokens":42,"min_tokens":42,"model":"m","store":true,"stream":true}`},
	}
	for _, tt := range tests {
		got, err := Shaping{Model: "m", Output: tt.policy}.shapeParams(tt.params, tt.api, 42)
		if err != nil || string(got) != tt.want {
			t.Errorf("%s %s %s: got %s, %v\nwant %s", tt.api, tt.params, tt.policy, got, err, tt.want)
		}
	}
}

func TestSaltPiece(t *testing.T) {
	tests := []struct{ kind, in, want string }{
		{schemas.KindSystem, `"sys"`, `"[s]\nsys"`},
		{schemas.KindSystem, `[{"type":"text","text":"a"}]`, `[{"text":"[s]\na","type":"text"}]`},
		{schemas.KindMessage, `{"role":"user","content":"hi"}`, `{"content":"[s]\nhi","role":"user"}`},
		{schemas.KindMessage, `{"role":"user","content":[{"type":"input_text","text":"hi"}]}`, `{"content":[{"text":"[s]\nhi","type":"input_text"}],"role":"user"}`},
		{schemas.KindMessage, `{"role":"user","content":[{"type":"image"}]}`, `{"content":[{"text":"[s]\n","type":"text"},{"type":"image"}],"role":"user"}`},
	}
	for _, tt := range tests {
		got, err := saltPiece(tt.kind, []byte(tt.in), "[s]\n")
		if err != nil || string(got) != tt.want {
			t.Errorf("saltPiece(%s, %s) = %s, %v; want %s", tt.kind, tt.in, got, err, tt.want)
		}
	}
}
