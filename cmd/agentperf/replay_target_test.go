package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/internal/fakeengine"
	"github.com/agentperf/agentperf/internal/testutil"
	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/target"
)

// TestReplayEngines runs the built binary against the fake of every
// engine with the engine detected, AA's sampling, two --set values (one
// with commas) and a power command: the run succeeds, the metadata names
// the engine and its provenance, the settings reach the wire, the power
// samples sit beside the results, and the API key is on no file.
func TestReplayEngines(t *testing.T) {
	bin := testutil.Binary(t)
	traces := writeReplayTraces(t, 2, 2)
	const secret = "sk-test-secret-do-not-store"
	for _, e := range fakeengine.Engines() {
		t.Run(string(e), func(t *testing.T) {
			srv := fakeengine.New(e, fakeengine.Options{Model: "gpt-oss-120b", Cached: 4, Reasoning: 1})
			defer srv.Close()
			dir := t.TempDir()
			out := filepath.Join(dir, "results.parquet")
			args := []string{"replay", "--traces", traces, "--target", srv.Base(), "--users", "2",
				"--warmup", "0s", "--duration", "300ms", "--think-scale", "0", "--out", out, "--quiet",
				"--sampling", "aa", "--set", "seed=3", "--set", `stop=["</done>","<|end|>"]`,
				"--power", "cmd(gpus=2):sh -c 'echo 200; echo 250' with,commas"}
			if e == target.EngineTGI {
				args = append(args, "--output-policy", "cap") // TGI documents no pin
			}
			cmd := exec.Command(bin, args...)
			cmd.Env = append(os.Environ(), "OPENAI_API_KEY="+secret)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("replay: %v\nstdout %s\nstderr %s", err, stdout.String(), stderr.String())
			}
			for _, want := range []string{"power: ", "target engine: " + string(e), "probe openai-chat " + string(e)} {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("summary lacks %q:\n%s", want, stdout.String())
				}
			}
			rf, err := schemas.OpenResults(out)
			if err != nil {
				t.Fatal(err)
			}
			m := rf.RunMeta()
			rf.Close()
			if m.Engine != string(e) || m.Provenance == nil || m.Provenance.Version == "" && e != target.EngineDynamo {
				t.Errorf("engine %q, provenance %+v: want %s with its version", m.Engine, m.Provenance, e)
			}
			if len(m.Probe) != 1 || m.Power == nil || m.Power.Samples == 0 {
				t.Errorf("probe %+v, power %+v: want one probe and samples", m.Probe, m.Power)
			}
			if m.Power != nil && (len(m.Power.Sources) != 1 || !strings.Contains(m.Power.Sources[0], "with,commas")) {
				t.Errorf("power sources %q: want the one command, commas kept", m.Power.Sources)
			}
			var posts int
			for _, r := range srv.Requests() {
				if r.Method != http.MethodPost {
					continue
				}
				posts++
				var b map[string]any
				if err := json.Unmarshal(r.Body, &b); err != nil {
					t.Fatal(err)
				}
				stop, _ := b["stop"].([]any)
				if b["seed"] != 3.0 || len(stop) != 2 || b["temperature"] != 0.7 || b["reasoning_effort"] != "high" {
					t.Fatalf("body: seed %v stop %v temperature %v effort %v", b["seed"], b["stop"], b["temperature"], b["reasoning_effort"])
				}
				if r.Header.Get("Authorization") != "Bearer "+secret {
					t.Fatalf("the API key did not reach the target")
				}
			}
			if posts < 2 {
				t.Fatalf("%d requests, want the probe and the run's", posts)
			}
			for _, f := range []string{out, schemas.PowerPath(out)} {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Contains(b, []byte(secret)) {
					t.Fatalf("%s holds the API key", filepath.Base(f))
				}
			}
		})
	}
}

// TestReplayEngineRefusals: a target that ignores the pin is refused with
// a message naming the way out; bad flag values exit 2.
func TestReplayEngineRefusals(t *testing.T) {
	traces := writeReplayTraces(t, 1, 2)
	srv := fakeengine.New(target.EngineVLLM, fakeengine.Options{Model: "gpt-oss-120b", IgnorePin: true})
	defer srv.Close()
	base := []string{"replay", "--traces", traces, "--target", srv.Base(), "--users", "1", "--duration", "100ms",
		"--warmup", "0s", "--out", filepath.Join(t.TempDir(), "r.parquet"), "--quiet"}
	_, stderr, code := runIn(base...)
	if code == 0 || !strings.Contains(stderr, "--output-policy cap") || !strings.Contains(stderr, "probe openai-chat vllm") {
		t.Errorf("ignored pin: exit %d, stderr %s", code, stderr)
	}
	for _, bad := range [][]string{
		{"--engine", "ollama"}, {"--set", "noequals"}, {"--context-policy", "maybe"},
		{"--power", "ftp://x"}, {"--sampling", "nosuch"}, {"--max-context", "-1"},
	} {
		_, stderr, code := runIn(append(append([]string{}, base...), bad...)...)
		if code != 2 && !(bad[0] == "--sampling" && code != 0) {
			t.Errorf("%v: exit %d, want 2; stderr %s", bad, code, stderr)
		}
	}
}
