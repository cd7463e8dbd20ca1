package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agentperf/agentperf/internal/testutil"
	"github.com/agentperf/agentperf/schemas"
	"go.yaml.in/yaml/v3"
)

// writeReplayTraces writes a small chat trace set: sessions × turns, one
// second of recorded think time between turns, 30 output tokens each.
func writeReplayTraces(t *testing.T, sessions, turns int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "traces")
	w, err := schemas.CreateTraceSet(dir, schemas.TraceWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for s := 0; s < sessions; s++ {
		sid := fmt.Sprintf("s%d", s)
		w.SetSession(schemas.Session{ID: sid, Source: schemas.SourceSynth, Agent: "test"})
		msgs := `{"role":"system","content":"You are a coding agent."}`
		for k := 0; k < turns; k++ {
			msgs += fmt.Sprintf(`,{"role":"user","content":"session %s turn %d"}`, sid, k)
			body := `{"model":"gpt-oss-120b","stream":true,"messages":[` + msgs + `]}`
			out := int64(30)
			think := int64(0)
			if k > 0 {
				think = int64(time.Second)
			}
			if _, err := w.WriteTurn(&schemas.Turn{SessionID: sid, API: schemas.APIOpenAIChat, Body: []byte(body),
				Response: [][]byte{[]byte(`{"role":"assistant","content":"ok"}`)}, ThinkNS: think, Status: 200,
				Usage: schemas.Usage{Output: &out}}); err != nil {
				t.Fatal(err)
			}
			msgs += `,{"role":"assistant","content":"ok"}`
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestReplayCLI runs agentperf replay in-process against the embedded
// simulator and checks the results file and the summary.
func TestReplayCLI(t *testing.T) {
	traces := writeReplayTraces(t, 4, 3)
	out := filepath.Join(t.TempDir(), "results.parquet")
	stdout, stderr, code := runIn("replay", "--traces", traces, "--users", "3",
		"--warmup", "2s", "--duration", "20s", "--out", out, "--quiet", "--run-id", "cli-test")
	if code != 0 {
		t.Fatalf("replay: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "rows written to") {
		t.Errorf("summary missing:\n%s", stdout)
	}
	rf, err := schemas.OpenResults(out)
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	m := rf.RunMeta()
	if rf.NumRows() == 0 || m.RunID != "cli-test" || m.Target != "sim" || m.ResponseClock != "virtual" || m.AgentperfVersion == "" || len(m.Levels) != 1 || m.Levels[0].Client == nil {
		t.Errorf("rows %d, meta %+v", rf.NumRows(), m)
	}
	// A second run without --overwrite refuses to clobber the file.
	if _, stderr, code := runIn("replay", "--traces", traces, "--users", "1", "--duration", "1s", "--out", out, "--quiet"); code == 0 || !strings.Contains(stderr, "--out") {
		t.Errorf("overwriting without --overwrite: exit %d, stderr %s", code, stderr)
	}
	if _, _, code := runIn("replay", "--traces", traces, "--output-policy", "maybe"); code != 2 {
		t.Errorf("bad --output-policy: exit %d, want 2", code)
	}
	if _, stderr, code := runIn("replay", "--traces", traces, "--search", "--tier", "fast"); code != 2 || !strings.Contains(stderr, "--tier") {
		t.Errorf("bad --tier: exit %d, stderr %s", code, stderr)
	}
	// The adaptive search's flags.
	for _, bad := range [][]string{{"--search-replicates", "10"}, {"--search-budget", "-1s"}, {"--search-repeats", "-1"}} {
		args := append([]string{"replay", "--traces", traces, "--search", "--tier", "1:5s"}, bad...)
		if _, stderr, code := runIn(args...); code != 2 || !strings.Contains(stderr, bad[0]) {
			t.Errorf("%v: exit %d, stderr %s", bad, code, stderr)
		}
	}
}

// TestReplayAdaptiveSearchCLI: a search on the embedded simulator with the
// adaptive phase prints max users fitted with its interval and what ended
// the search, and records it in the metadata.
func TestReplayAdaptiveSearchCLI(t *testing.T) {
	traces := writeReplayTraces(t, 4, 3)
	out := filepath.Join(t.TempDir(), "search.parquet")
	stdout, stderr, code := runIn("replay", "--traces", traces, "--search", "--tier", "1:5s", "--search-max", "4",
		"--warmup", "1s", "--duration", "2s", "--time-scale", "20", "--search-repeats", "1", "--search-replicates", "50",
		"--out", out, "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "max users fitted over") || !strings.Contains(stdout, "search ended: ") {
		t.Errorf("summary lacks the fitted max users or what ended the search:\n%s", stdout)
	}
	rf, err := schemas.OpenResults(out)
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	if s := rf.RunMeta().Search; s == nil || s.Ended == "" || s.Estimate == nil || s.Windows == 0 {
		t.Errorf("search metadata %+v, want what ended it and the estimate", s)
	}
}

// TestReplaySIGINT interrupts a long run of the built binary: it exits 130
// and leaves a valid results file; meanwhile its Prometheus endpoint and
// progress line work.
func TestReplaySIGINT(t *testing.T) {
	bin := testutil.Binary(t)
	traces := writeReplayTraces(t, 4, 3)
	out := filepath.Join(t.TempDir(), "results.parquet")
	cmd := exec.Command(bin, "replay", "--traces", traces, "--users", "4",
		"--warmup", "0s", "--duration", "100000h", "--out", out, "--metrics-addr", "127.0.0.1:0", "--progress-interval", "200ms")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stderr)
	metricsRE := regexp.MustCompile(`metrics on (http://\S+)`)
	var metricsURL string
	progress := 0
	deadline := time.Now().Add(30 * time.Second)
	for sc.Scan() && time.Now().Before(deadline) {
		line := sc.Text()
		if m := metricsRE.FindStringSubmatch(line); m != nil {
			metricsURL = m[1]
		}
		if strings.Contains(line, "requests ") && strings.Contains(line, "tok/s") {
			progress++
			if strings.Contains(line, "requests 0 ") {
				continue
			}
			break
		}
	}
	if metricsURL == "" || progress == 0 {
		t.Fatalf("no metrics address (%q) or no progress line (%d)", metricsURL, progress)
	}
	resp, err := http.Get(metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "agentperf_replay_requests_total") || !strings.Contains(string(body), "agentperf_replay_active_users 4") {
		t.Errorf("metrics lack requests_total or 4 active users:\n%s", body)
	}
	go io.Copy(io.Discard, stderr)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("replay did not stop within 20 s of SIGINT")
	}
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit code %d, want 130", code)
	}
	rf, err := schemas.OpenResults(out)
	if err != nil {
		t.Fatalf("results after SIGINT are not valid: %v", err)
	}
	defer rf.Close()
	if rf.NumRows() == 0 || !rf.RunMeta().Interrupted {
		t.Errorf("rows %d, interrupted %v", rf.NumRows(), rf.RunMeta().Interrupted)
	}
	if matches, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*partial*")); len(matches) > 0 {
		t.Errorf("partial files left behind: %v", matches)
	}
}

// TestReplayJobArgsAreFlags checks that the Kubernetes manifest invokes
// replay with flags this binary knows.
func TestReplayJobArgsAreFlags(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testutil.Root(), "deploy", "k8s", "replay-job.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var job struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct {
						Args []string `yaml:"args"`
					} `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(data, &job); err != nil {
		t.Fatal(err)
	}
	args := job.Spec.Template.Spec.Containers[0].Args
	os.Setenv("JOB_COMPLETION_INDEX", "1")
	defer os.Unsetenv("JOB_COMPLETION_INDEX")
	var got bytes.Buffer
	code := run(append(append([]string{"agentperf"}, args...), "--help"), &got, &got)
	if code != 0 {
		t.Fatalf("agentperf %v --help: exit %d\n%s", args, code, got.String())
	}
}
