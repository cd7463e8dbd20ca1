package fakeengine

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/target"
)

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestFakePinAndLimits checks the fakes' own rules: the pin field
// lengthens the answer to the cap, the natural answer is short, a prompt
// over the context is refused, and every request is recorded.
func TestFakePinAndLimits(t *testing.T) {
	s := New(target.EngineVLLM, Options{Context: 200})
	defer s.Close()
	url := s.Base() + "/chat/completions"
	_, natural := post(t, url, `{"model":"m","messages":[],"stream":true,"max_tokens":20}`)
	_, pinned := post(t, url, `{"model":"m","messages":[],"stream":true,"max_tokens":20,"ignore_eos":true}`)
	_, min := post(t, url, `{"model":"m","messages":[],"stream":true,"max_tokens":20,"min_tokens":9}`)
	for _, tt := range []struct {
		name, body string
		want       int
	}{{"natural", natural, 3}, {"ignore_eos", pinned, 20}, {"min_tokens", min, 9}} {
		if got := strings.Count(tt.body, `"content":"t`); got != tt.want {
			t.Errorf("%s: %d tokens, want %d", tt.name, got, tt.want)
		}
	}
	code, body := post(t, url, `{"model":"m","messages":[],"stream":true,"max_tokens":190,"pad":"`+strings.Repeat("x", 200)+`"}`)
	if code != http.StatusBadRequest || !strings.Contains(body, "maximum context length is 200") {
		t.Errorf("over-long request: %d %s", code, body)
	}
	if n := len(s.Requests()); n != 4 {
		t.Errorf("%d requests recorded, want 4", n)
	}
	if !bytes.Contains(s.Requests()[1].Body, []byte(`"ignore_eos":true`)) {
		t.Errorf("recorded body %s", s.Requests()[1].Body)
	}
}
