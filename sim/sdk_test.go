package sim

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentperf/agentperf/internal/testutil"
)

// TestSDKClients runs the real npm openai and @anthropic-ai/sdk clients,
// unchanged, against the simulator: streaming and not, text and tools,
// errors and the model list; once with the standard byte stream and once
// with the sim-clock comment lines, which the SDKs must skip.
func TestSDKClients(t *testing.T) {
	dir := testutil.NodeDir(t)
	for _, clock := range []bool{false, true} {
		name := "standard"
		if clock {
			name = "sim-clock"
		}
		t.Run(name, func(t *testing.T) { testSDKClients(t, dir, clock) })
	}
}

func testSDKClients(t *testing.T, dir string, clock bool) {
	srv, err := New(Config{TimeScale: 200})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var comments atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv.Handler().ServeHTTP(simClockCounter{w, &comments}, r)
	}))
	defer hs.Close()

	script, err := os.ReadFile(filepath.Join("testdata", "sdk.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "sim-sdk-"+filepath.Base(t.TempDir())+".mjs")
	if err := os.WriteFile(tmp, script, 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", tmp)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BASE_URL="+hs.URL)
	if clock {
		cmd.Env = append(cmd.Env, "SIM_CLOCK=1")
	}
	raw, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("node: %v\n%s\n%s", err, raw, stderr)
	}
	var got struct {
		ChatStream struct {
			Deltas int
			Text   string
			Finish string
			Usage  struct {
				PromptTokens     int `json:"prompt_tokens"`
				CompletionTokens int `json:"completion_tokens"`
			}
		}
		ChatTool struct {
			Name   string
			Args   map[string]string
			Finish string
		}
		Chat struct {
			Text, Finish, Model string
			Usage               struct {
				CompletionTokens int `json:"completion_tokens"`
			}
		}
		ResponsesStream struct {
			Deltas                 int
			Text, Snapshot, Status string
			Usage                  struct {
				InputTokens  int `json:"input_tokens"`
				OutputTokens int `json:"output_tokens"`
			}
		}
		ResponsesTool struct {
			Name, Status string
			Args         map[string]string
		}
		Responses struct {
			Text, Status string
			Usage        struct {
				OutputTokens int `json:"output_tokens"`
			}
		}
		MessagesStream struct {
			Deltas     int
			Text, Stop string
			Usage      struct {
				InputTokens  int `json:"input_tokens"`
				OutputTokens int `json:"output_tokens"`
			}
		}
		MessagesTool struct {
			Name, Stop string
			Input      map[string]string
		}
		Messages struct {
			Text, Stop string
			Usage      struct {
				OutputTokens int `json:"output_tokens"`
			}
		}
		Completions struct {
			Text   string
			Tokens int
			Finish string
			Usage  struct {
				PromptTokens     int `json:"prompt_tokens"`
				CompletionTokens int `json:"completion_tokens"`
			}
		}
		AnthropicError struct {
			Status int
			Type   string
		}
		OpenaiError struct {
			Status      int
			Type, Param string
		}
		Models []string
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("decoding node output: %v\n%s", err, raw)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"chat stream deltas", got.ChatStream.Deltas, 12},
		{"chat stream finish", got.ChatStream.Finish, "length"},
		{"chat stream completion tokens", got.ChatStream.Usage.CompletionTokens, 12},
		{"chat tool name", got.ChatTool.Name, "bash"},
		{"chat tool finish", got.ChatTool.Finish, "tool_calls"},
		{"chat finish", got.Chat.Finish, "length"},
		{"chat model echoed", got.Chat.Model, "any-model"},
		{"chat completion tokens", got.Chat.Usage.CompletionTokens, 7},
		{"responses stream deltas", got.ResponsesStream.Deltas, 10},
		{"responses stream status", got.ResponsesStream.Status, "incomplete"},
		{"responses stream output tokens", got.ResponsesStream.Usage.OutputTokens, 10},
		{"responses tool name", got.ResponsesTool.Name, "bash"},
		{"responses tool status", got.ResponsesTool.Status, "completed"},
		{"responses output tokens", got.Responses.Usage.OutputTokens, 4},
		{"messages stream deltas", got.MessagesStream.Deltas, 11},
		{"messages stream stop", got.MessagesStream.Stop, "max_tokens"},
		{"messages stream output tokens", got.MessagesStream.Usage.OutputTokens, 11},
		{"messages tool name", got.MessagesTool.Name, "bash"},
		{"messages tool stop", got.MessagesTool.Stop, "tool_use"},
		{"messages stop", got.Messages.Stop, "max_tokens"},
		{"messages output tokens", got.Messages.Usage.OutputTokens, 3},
		{"completions stream tokens", got.Completions.Usage.CompletionTokens, 6},
		{"completions stream prompt", got.Completions.Usage.PromptTokens, 4},
		{"completions token-id prompt", got.Completions.Tokens, 4},
		{"completions finish", got.Completions.Finish, "length"},
		{"anthropic error status", got.AnthropicError.Status, 400},
		{"anthropic error type", got.AnthropicError.Type, "invalid_request_error"},
		{"openai error status", got.OpenaiError.Status, 400},
		{"openai error type", got.OpenaiError.Type, "invalid_request_error"},
		{"openai error param", got.OpenaiError.Param, "messages"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if got.ChatStream.Usage.PromptTokens < 10 || got.ResponsesStream.Usage.InputTokens < 3 || got.MessagesStream.Usage.InputTokens < 3 {
		t.Errorf("prompt tokens not reported: %+v %+v %+v", got.ChatStream.Usage, got.ResponsesStream.Usage, got.MessagesStream.Usage)
	}
	for name, args := range map[string]map[string]string{"chat": got.ChatTool.Args, "responses": got.ResponsesTool.Args, "messages": got.MessagesTool.Input} {
		if args["input"] == "" {
			t.Errorf("%s tool call arguments %v lack the input field", name, args)
		}
	}
	if got.ResponsesStream.Snapshot != got.ResponsesStream.Text {
		t.Errorf("responses snapshot %q != streamed text %q", got.ResponsesStream.Snapshot, got.ResponsesStream.Text)
	}
	if got.ChatStream.Text == "" || got.ResponsesStream.Text == "" || got.MessagesStream.Text == "" || got.Responses.Text == "" || got.Messages.Text == "" {
		t.Errorf("empty text in %s", raw)
	}
	if len(got.Models) != 1 || got.Models[0] != "gpt-oss-120b" {
		t.Errorf("models = %v", got.Models)
	}
	// The streams above carry at least 12 + 10 + 11 + 6 token events.
	if n := comments.Load(); clock && n < 39 || !clock && n != 0 {
		t.Errorf("%d sim-clock comment lines written (sim clock %v)", n, clock)
	}
}
