//go:build linux

package proxy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/agentperf/agentperf/internal/testutil"
)

// TestRecordReportsLossOnFullDisk runs the built binary with --quiet and
// fills its disk for three calls mid-session: the file-size limit of the
// process (RLIMIT_FSIZE, set from outside with prlimit) is lowered to just
// above its spool, so spool writes fail with EFBIG, then raised again.
// Each loss is on stderr despite --quiet, counted in /metrics, summed on
// exit, and record exits 1 — with the other turns in the trace set.
func TestRecordReportsLossOnFullDisk(t *testing.T) {
	fake, _ := startFake(t, 3, 0)
	out := filepath.Join(t.TempDir(), "traces")
	cmd := exec.Command(testutil.Binary(t), "record", "--upstream", fake.URL, "--listen", "127.0.0.1:0", "--out", out, "--quiet")
	cmd.Env = append(os.Environ(), "HTTPS_PROXY=http://127.0.0.1:1", "HTTP_PROXY=http://127.0.0.1:1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var mu sync.Mutex
	var lines []string
	urlc := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		re := regexp.MustCompile(`listening on (http://\S+),`)
		for sc.Scan() {
			mu.Lock()
			lines = append(lines, sc.Text())
			mu.Unlock()
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				urlc <- m[1]
			}
		}
	}()
	var url string
	select {
	case url = <-urlc:
	case <-time.After(60 * time.Second):
		t.Fatal("record did not start")
	}
	limit := func(n uint64) {
		t.Helper()
		if err := unix.Prlimit(cmd.Process.Pid, unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: n, Max: unix.RLIM_INFINITY}, nil); err != nil {
			t.Skipf("cannot set the file-size limit of the recorder: %v", err)
		}
	}
	// A 100 kB system prompt: every spooled turn is large, the trace set
	// (one copy of the prompt) small.
	sys := strings.Repeat("Keep functions short and test every branch. ", 2300)
	msgs := []string{`{"role":"user","content":"go"}`}
	call := func() {
		body := `{"model":"claude-x","max_tokens":64,"stream":true,"system":"` + sys + `","messages":[` + strings.Join(msgs, ",") + `]}`
		if st, b := post(t, url+"/v1/messages", map[string]string{"X-Claude-Code-Session-Id": "full-1", "anthropic-version": "2023-06-01"}, body); st != 200 {
			t.Fatalf("status %d: %s", st, b)
		}
		msgs = append(msgs, `{"role":"assistant","content":"ok"}`, `{"role":"user","content":"more"}`)
	}
	call()
	call()
	waitMetric(t, url, "agentperf_record_turns_total", 2)
	segs, _ := filepath.Glob(filepath.Join(out, ".spool", "seg-*.wal"))
	if len(segs) != 1 {
		t.Fatalf("spool segments %v", segs)
	}
	st, err := os.Stat(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	limit(uint64(st.Size()) + 10_000) // the disk is full
	for i := 0; i < 3; i++ {
		call()
	}
	waitMetric(t, url, `agentperf_record_drops_total{reason="spool_write"}`, 3)
	limit(unix.RLIM_INFINITY) // space again
	call()
	call()
	waitMetric(t, url, "agentperf_record_turns_total", 4)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	<-done
	err = cmd.Wait()
	mu.Lock()
	text := strings.Join(lines, "\n")
	mu.Unlock()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("exit: %v, want status 1\n%s", err, text)
	}
	if !strings.Contains(text, "DROPPED") || !strings.Contains(text, "file too large") {
		t.Errorf("stderr under --quiet lacks the loss report:\n%s", text)
	}
	if !strings.Contains(text, "3 captured call(s) were dropped") || !strings.Contains(text, "trace set written to") {
		t.Errorf("stderr lacks the exit summary:\n%s", text)
	}
	if strings.Contains(text, "recording ") {
		t.Errorf("--quiet printed the status line:\n%s", text)
	}
	tr := readTrace(t, out)
	if n := len(tr.requests["full-1"]); n != 4 {
		t.Errorf("%d turns in the trace set, want the 4 not dropped", n)
	}
}
