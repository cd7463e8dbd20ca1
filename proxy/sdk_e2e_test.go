package proxy

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentperf/agentperf/internal/testutil"
	"github.com/agentperf/agentperf/proxy/internal/fakellm"
	"github.com/agentperf/agentperf/schemas"
)

const (
	sdkTokens  = 7
	sdkThinkMS = 60
	sdkSecret  = "sk-e2e-SECRET-never-in-traces-0123456789"
)

type sdkOut struct {
	Anthropic []json.RawMessage `json:"anthropic"`
	Chat      []struct {
		Content string `json:"content"`
	} `json:"chat"`
	Responses []json.RawMessage `json:"responses"`
	Raw       []struct {
		URL    string `json:"url"`
		Status int    `json:"status"`
		Body   string `json:"body"`
	} `json:"raw"`
}

// runSDK runs testdata/sdk_conversation.mjs with the real npm clients.
func runSDK(t *testing.T, env ...string) *sdkOut {
	t.Helper()
	dir := testutil.NodeDir(t)
	script, err := os.ReadFile("testdata/sdk_conversation.mjs")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.CreateTemp(dir, ".proxy-e2e-*.mjs")
	if err != nil {
		t.Fatal(err)
	}
	f.Write(script)
	f.Close()
	t.Cleanup(func() { os.Remove(f.Name()) })
	cmd := exec.Command("node", filepath.Base(f.Name()))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), fmt.Sprintf("THINK_MS=%d", sdkThinkMS))
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %v: %v\n%s", env, err, stderr.String())
	}
	var out sdkOut
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("node output: %v\n%s", err, stdout.String())
	}
	if len(out.Raw) != 12 {
		t.Fatalf("node made %d calls, want 12", len(out.Raw))
	}
	return &out
}

var (
	directOnce sync.Once
	directOut  *sdkOut
)

// sdkDirect is the conversation run straight against the fake.
func sdkDirect(t *testing.T, fakeURL string) *sdkOut {
	directOnce.Do(func() {
		directOut = runSDK(t, "MODE=direct", "ANTHROPIC_URL="+fakeURL, "OPENAI_URL="+fakeURL+"/v1")
	})
	if directOut == nil {
		t.Fatal("direct run failed")
	}
	return directOut
}

var (
	sdkFakeOnce sync.Once
	sdkFakeURL  string
)

// sdkFake is one fake upstream shared by the SDK tests, so direct and
// proxied runs see the same server.
func sdkFake(t *testing.T) string {
	sdkFakeOnce.Do(func() {
		srv, _ := startFake(&testing.T{}, sdkTokens, time.Millisecond)
		_ = srv
		sdkFakeURL = srv.URL
	})
	return sdkFakeURL
}

func compareRaw(t *testing.T, direct, proxied *sdkOut) {
	t.Helper()
	for i := range direct.Raw {
		d, p := direct.Raw[i], proxied.Raw[i]
		db, _ := base64.StdEncoding.DecodeString(d.Body)
		pb, _ := base64.StdEncoding.DecodeString(p.Body)
		if d.Status != p.Status || !bytes.Equal(db, pb) {
			t.Errorf("call %d (%s): proxied status %d, %d bytes; direct status %d, %d bytes\nproxied: %.300s\ndirect:  %.300s", i, p.URL, p.Status, len(pb), d.Status, len(db), pb, db)
		}
	}
	for i := range direct.Chat {
		if direct.Chat[i].Content != proxied.Chat[i].Content {
			t.Errorf("chat turn %d: SDK parsed %q through the proxy, %q directly", i, proxied.Chat[i].Content, direct.Chat[i].Content)
		}
	}
}

// checkSDKTrace checks the trace set the SDK conversation produced.
func checkSDKTrace(t *testing.T, out string) {
	t.Helper()
	tr := readTrace(t, out)
	var chatID string
	for _, id := range tr.order {
		if strings.HasPrefix(id, "px-") {
			chatID = id
		}
	}
	want := []struct {
		id, api  string
		overhead int // prompt blobs that are not messages
	}{{"e2e-anthropic", schemas.APIAnthropic, 2}, {chatID, schemas.APIOpenAIChat, 1}, {"e2e-responses", schemas.APIOpenAIResponses, 2}}
	if len(tr.sessions) != 3 {
		t.Fatalf("sessions %v, want e2e-anthropic, one prefix-chain chat session, e2e-responses", tr.order)
	}
	for _, w := range want {
		s := tr.sessions[w.id]
		rs := tr.requests[w.id]
		if s.Turns != 4 || len(rs) != 4 || s.API != w.api || s.Agent != "sdk" {
			t.Errorf("session %q: %d turns, api %q, agent %q; want 4 %s turns by sdk", w.id, len(rs), s.API, s.Agent, w.api)
			continue
		}
		for i, r := range rs {
			n := len(r.Prompt) - w.overhead
			outTok := sdkTokens
			if i%2 == 0 {
				outTok = fakellm.ToolOutputTokens // user message → tool call
			}
			u := fakellm.UsageFor(n, outTok)
			if r.Turn != int32(i) || r.Status != 200 || r.Error != "" {
				t.Errorf("%s turn %d: index %d status %d error %q", w.id, i, r.Turn, r.Status, r.Error)
			}
			if r.OutputTokens != int32(outTok) || r.UsageInput == nil || *r.UsageInput != u.Input ||
				r.UsageCached == nil || *r.UsageCached != u.Cached || r.UsageOutput == nil || *r.UsageOutput != u.Output {
				t.Errorf("%s turn %d (%d messages): output %d input %v cached %v; want %d %d %d", w.id, i, n, r.OutputTokens, ptr(r.UsageInput), ptr(r.UsageCached), outTok, u.Input, u.Cached)
			}
			if w.api == schemas.APIAnthropic && (r.UsageCacheWrite == nil || *r.UsageCacheWrite != u.CacheWrite) {
				t.Errorf("%s turn %d: cache write %v, want %d", w.id, i, ptr(r.UsageCacheWrite), u.CacheWrite)
			}
			if w.api != schemas.APIAnthropic && (r.UsageReasoning == nil || *r.UsageReasoning != u.Reasoning) {
				t.Errorf("%s turn %d: reasoning %v, want %d", w.id, i, ptr(r.UsageReasoning), u.Reasoning)
			}
			wantStream := !(w.api == schemas.APIAnthropic && i == 3)
			if r.Stream != wantStream || r.FirstTokenNS < r.StartNS || r.EndNS < r.FirstTokenNS || r.FirstTokenNS == 0 {
				t.Errorf("%s turn %d: stream %v start %d first token %d end %d", w.id, i, r.Stream, r.StartNS, r.FirstTokenNS, r.EndNS)
			}
			if wantStream && len(r.ChunkNS) < 2 {
				t.Errorf("%s turn %d: %d chunk arrivals recorded for a stream", w.id, i, len(r.ChunkNS))
			}
			if i > 0 && (r.ThinkNS < sdkThinkMS*int64(time.Millisecond) || r.ThinkNS != r.StartNS-rs[i-1].EndNS) {
				t.Errorf("%s turn %d: think %v, want start − previous end (%v) ≥ %d ms", w.id, i, time.Duration(r.ThinkNS), time.Duration(r.StartNS-rs[i-1].EndNS), sdkThinkMS)
			}
			if i > 0 && !bytes.Equal(int64Bytes(r.Prompt[:len(rs[i-1].Prompt)]), int64Bytes(rs[i-1].Prompt)) {
				t.Errorf("%s turn %d: prompt does not extend the previous turn's (prefix sharing lost)", w.id, i)
			}
		}
	}
	assertNoSecret(t, out, sdkSecret)
}

func int64Bytes(v []int64) []byte { b, _ := json.Marshal(v); return b }

// TestSDKReverse runs the SDK conversation through reverse mode, routed by
// API to the official hosts, which --map points at the fake.
func TestSDKReverse(t *testing.T) {
	fakeURL := sdkFake(t)
	direct := sdkDirect(t, fakeURL)
	maps, _ := ParseMap([]string{"api.anthropic.com=" + fakeURL, "api.openai.com=" + fakeURL})
	out := filepath.Join(t.TempDir(), "traces")
	run := startRun(t, Config{Front: FrontOptions{Map: maps, Logger: testLogger(t)}, Recorder: Options{Out: out, Logger: testLogger(t)}})
	proxied := runSDK(t, "MODE=reverse", "ANTHROPIC_URL="+run.url, "OPENAI_URL="+run.url+"/v1")
	run.stop(t)
	compareRaw(t, direct, proxied)
	checkSDKTrace(t, out)
}

// TestSDKMITM runs the SDK conversation through the HTTPS proxy with real
// TLS: the clients talk to https://api.anthropic.com and
// https://api.openai.com, trusting the generated CA via NODE_EXTRA_CA_CERTS;
// --map sends the opened traffic to the fake.
func TestSDKMITM(t *testing.T) {
	fakeURL := sdkFake(t)
	direct := sdkDirect(t, fakeURL)
	maps, _ := ParseMap([]string{"api.anthropic.com=" + fakeURL, "api.openai.com=" + fakeURL})
	caDir := t.TempDir()
	out := filepath.Join(t.TempDir(), "traces")
	run := startRun(t, Config{MITM: true, CADir: caDir, Front: FrontOptions{Map: maps}, Recorder: Options{Out: out}})
	proxied := runSDK(t, "MODE=mitm", "PROXY="+run.url, "NODE_EXTRA_CA_CERTS="+filepath.Join(caDir, CACertFile))
	run.stop(t)
	compareRaw(t, direct, proxied)
	checkSDKTrace(t, out)
}
