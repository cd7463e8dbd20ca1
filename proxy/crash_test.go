package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agentperf/agentperf/internal/testutil"
)

// startBinary runs the built agentperf with args and returns the process
// and the URL it prints once listening.
func startBinary(t *testing.T, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(testutil.Binary(t), args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(os.Environ(), "HTTPS_PROXY=http://127.0.0.1:1", "HTTP_PROXY=http://127.0.0.1:1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		re := regexp.MustCompile(`listening on (http://\S+),`)
		sent := false
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil && !sent {
				urlc <- m[1]
				sent = true
			}
		}
	}()
	select {
	case u := <-urlc:
		return cmd, u
	case <-time.After(60 * time.Second):
		t.Fatal("agentperf record did not start")
	}
	return nil, ""
}

// metricValue returns the sum of a metric's samples at url/metrics.
func metricValue(t testing.TB, url, name string) float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	sum := 0.0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum
}

func waitMetric(t *testing.T, url, name string, want float64) { waitMetricT(t, url, name, want) }

func waitMetricT(t testing.TB, url, name string, want float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := metricValue(t, url, name)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v, want %v", name, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestKill9Recovery kills the recorder with SIGKILL mid-session, restarts
// it on the same output, continues the session and stops it with SIGINT:
// every turn completed before the kill is in the trace set, and the
// session continues with the right turn indices and think time.
func TestKill9Recovery(t *testing.T) {
	fake, _ := startFake(t, 4, 0)
	out := filepath.Join(t.TempDir(), "traces")
	args := []string{"record", "--upstream", fake.URL, "--listen", "127.0.0.1:0", "--out", out, "--quiet"}
	const secret = "sk-live-SECRET-1234567890"
	msgs := []string{`{"role":"user","content":"start"}`}
	send := func(url string) {
		body := `{"model":"claude-x","max_tokens":64,"stream":true,"messages":[` + strings.Join(msgs, ",") + `]}`
		status, _ := post(t, url+"/v1/messages", map[string]string{"X-Claude-Code-Session-Id": "crash-1", "x-api-key": secret,
			"Authorization": "Bearer " + secret, "Cookie": "session=" + secret, "X-Goog-Api-Token": secret}, body)
		if status != 200 {
			t.Fatalf("status %d", status)
		}
		n := len(msgs)
		msgs = append(msgs, fmt.Sprintf(`{"role":"assistant","content":[{"type":"tool_use","id":"t%d","name":"bash","input":{}}]}`, n),
			fmt.Sprintf(`{"role":"user","content":[{"type":"tool_result","tool_use_id":"t%d","content":"ok"}]}`, n))
	}
	cmd, url := startBinary(t, args...)
	for i := 0; i < 5; i++ {
		send(url)
	}
	waitMetric(t, url, "agentperf_record_turns_total", 5)
	assertNoSecret(t, out, secret) // the spool, uncompressed
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if _, err := os.Stat(filepath.Join(out, "sessions.parquet")); err == nil {
		t.Fatal("a killed recorder wrote a trace set")
	}
	time.Sleep(50 * time.Millisecond)

	cmd, url = startBinary(t, args...)
	for i := 0; i < 2; i++ {
		send(url)
	}
	waitMetric(t, url, "agentperf_record_turns_total", 2)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("record after SIGINT: %v", err)
	}
	tr := readTrace(t, out)
	rs := tr.requests["crash-1"]
	if len(tr.sessions) != 1 || len(rs) != 7 {
		t.Fatalf("sessions %v with %d turns, want crash-1 with 7", tr.order, len(rs))
	}
	for i, r := range rs {
		if r.Turn != int32(i) || r.Status != 200 || r.Error != "" {
			t.Errorf("turn %d: index %d status %d error %q", i, r.Turn, r.Status, r.Error)
		}
		if i > 0 && (r.ThinkNS <= 0 || r.ThinkNS != r.StartNS-rs[i-1].EndNS) {
			t.Errorf("turn %d: think %d, want start − previous end = %d", i, r.ThinkNS, r.StartNS-rs[i-1].EndNS)
		}
	}
	if _, err := os.Stat(filepath.Join(out, ".spool")); !os.IsNotExist(err) {
		t.Errorf("spool left behind after a clean stop: %v", err)
	}
	assertNoSecret(t, out, secret)
}
