package sim

import (
	"bufio"
	"bytes"
	"errors"
	"github.com/agentperf/agentperf/wire"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agentperf/agentperf/internal/testutil"
)

// TestCLI runs the built `agentperf sim`: it serves on the port it prints,
// announces the time scale, and exits 0 on SIGTERM; bad input exits 2 with
// a message that says what to do.
func TestCLI(t *testing.T) {
	bin := testutil.Binary(t)
	cmd := exec.Command(bin, "sim", "--listen", "127.0.0.1:0", "--time-scale", "100", "--hardware", "h200")
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stdout)
	base := ""
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
			base = u
			break
		}
	}
	if base == "" {
		t.Fatalf("no listening line; stderr: %s", stderr.String())
	}
	go io.Copy(io.Discard, stdout)
	resp, err := http.Post(base+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"m","max_tokens":5,"ignore_eos":true,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get(wire.HeaderTimeScale) != "100" || !strings.Contains(string(b), `"completion_tokens":5`) {
		t.Errorf("response %d %q %s", resp.StatusCode, resp.Header.Get(wire.HeaderTimeScale), b)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v; stderr: %s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not exit after SIGTERM")
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"sim", "--hardware", "tpu9"}, "unknown hardware"},
		{[]string{"sim", "--model", "deepseek-v3.2", "--hardware", "h100", "--accelerators", "2"}, "does not fit"},
		{[]string{"sim", "--accelerators", "3", "--tp", "2"}, "not a multiple"},
		{[]string{"sim", "--time-scale", "-1"}, "time scale"},
		{[]string{"sim", "extra"}, "no arguments"},
		{[]string{"sim", "--catalog", "/nonexistent.yaml"}, "nonexistent"},
		{[]string{"sim", "--engine", "tgi"}, "unknown engine"},
		{[]string{"sim", "--kv-cache-dtype", "int4"}, "KV cache dtype"},
		{[]string{"calibrate"}, "calibration FILE"},
	} {
		out, err := exec.Command(bin, tt.args...).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), tt.want) {
			t.Errorf("%v: exit %v, output %s; want exit 2 mentioning %q", tt.args, err, out, tt.want)
		}
	}
}

// TestCalibrateCLI runs the built `agentperf calibrate` on two public runs:
// it prints each row with public, simulated and ratio and the summary, and
// --check fails (exit 1, listing the misses) when a goal is missed.
func TestCalibrateCLI(t *testing.T) {
	bin := testutil.Binary(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.csv")
	rows := calibrationHeader +
		"h100,vllm,fp4,1024,1024,8.0,1.0,4,260.52081845022605,129.6265600998868,0.03313328269869089,0.07465249285101891,0.0037048207969943995,3.43,3.46,2026-01-02T22:24:09Z,20667906037\n" +
		"b200,vllm,fp4,1024,1024,4.0,1.0,4,646.024932793361,321.4406828403363,0.029755607568949925,0.05902469937456772,0.0029851369719622193,2.77,2.79,2026-01-02T22:24:09Z,20667906037\n"
	os.WriteFile(good, []byte(rows), 0o644)
	out, err := exec.Command(bin, "calibrate", "--check", good).CombinedOutput()
	if err != nil {
		t.Fatalf("calibrate --check on two calibrated runs: %v\n%s", err, out)
	}
	for _, want := range []string{"| h100 | vllm | 8 | 1 | 1024/1024 | 4 | 261 |", "| b200 | vllm | 4 | 1 | 1024/1024 | 4 | 646 |", "tok/s/GPU geo-mean"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// The same runs claiming 3× the throughput miss the goals.
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte(strings.ReplaceAll(rows, ",4,260.52081845022605,", ",4,781.5,")), 0o644)
	out, err = exec.Command(bin, "calibrate", "--check", "--summary", bad).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "goal(s) missed") || !strings.Contains(string(out), "h100 vllm TP8 1024/1024 c4: tok/s/GPU") {
		t.Errorf("calibrate --check on a 3× claim: %v\n%s", err, out)
	}
}
