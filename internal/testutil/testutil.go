// Package testutil holds helpers shared by end-to-end tests: building the
// agentperf binary once per test process, and locating the repository's
// npm clients.
package testutil

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// Root returns the repository root.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildOut  []byte
)

// Binary builds cmd/agentperf once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "agentperf-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "agentperf")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/agentperf")
		cmd.Dir = Root()
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("building agentperf: %v\n%s", buildErr, buildOut)
	}
	return binPath
}

// NodeDir returns the directory holding the e2e npm clients (e2e/, with
// node_modules installed by scripts/test-setup.sh). It fails the test with
// the fix when they are missing.
func NodeDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(Root(), "e2e")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "openai")); err != nil {
		t.Fatalf("npm clients missing in %s: run 'make test-setup' (or ./scripts/test-setup.sh)", dir)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node not found on PATH: install Node.js (it comes with npm)")
	}
	return dir
}

// MooncakeSample returns the path of the Mooncake FAST'25 synthetic trace
// kept in testdata/traces/mooncake (3,993 requests; Apache-2.0).
func MooncakeSample(t testing.TB) string {
	t.Helper()
	p := filepath.Join(Root(), "testdata", "traces", "mooncake", "synthetic_trace.jsonl")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("Mooncake sample missing: %v", err)
	}
	return p
}

// Run executes the built agentperf binary with args and returns its stdout,
// stderr and exit code; it fails the test only when the binary cannot run.
func Run(t testing.TB, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(Binary(t), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}
