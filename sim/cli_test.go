package sim

import (
	"bufio"
	"bytes"
	"errors"
	"github.com/agentperf/agentperf/wire"
	"io"
	"net/http"
	"os/exec"
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
	} {
		out, err := exec.Command(bin, tt.args...).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), tt.want) {
			t.Errorf("%v: exit %v, output %s; want exit 2 mentioning %q", tt.args, err, out, tt.want)
		}
	}
}
