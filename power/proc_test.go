//go:build unix

package power

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestCommandStoppedWithItsGroup: stopping the sampler stops the command
// and everything it started, with SIGTERM, or SIGKILL when SIGTERM is
// ignored.
func TestCommandStoppedWithItsGroup(t *testing.T) {
	for _, tt := range []struct{ name, script string }{
		{"children", `sleep 300 & sleep 300 & while :; do echo 5; sleep 0.02; done`},
		{"SIGTERM ignored", `trap "" TERM; sleep 300 & while :; do echo 5; sleep 0.02; done`},
	} {
		src := mustParse(t, "cmd(gpus=1):sh -c '"+tt.script+"'")
		var pid atomic.Int64
		tr := &tracker{src: src, opt: &Options{Clock: func(t time.Time) int64 { return t.UnixNano() }, Logger: discard()}}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			cmdSource{src: src, grace: 200 * time.Millisecond, started: func(p int) { pid.Store(int64(p)) }}.run(ctx, tr)
			close(done)
		}()
		waitFor(t, "the command to start", func() bool { return pid.Load() != 0 })
		cancel()
		<-done
		gone := func() bool { return !groupAlive(int(pid.Load())) }
		for deadline := time.Now().Add(10 * time.Second); !gone() && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		if !gone() {
			t.Errorf("%s: process group %d still has members after stop", tt.name, pid.Load())
			syscall.Kill(-int(pid.Load()), syscall.SIGKILL)
		}
		tr.finish(time.Now())
		if len(tr.gaps) != 0 {
			t.Errorf("%s: stopping the command recorded a gap: %v", tt.name, tr.gaps)
		}
	}
}

// groupAlive reports whether a process group has a member that is not a
// zombie: from /proc where there is one (killed orphans wait there for
// init to reap them), else by probing with signal 0.
func groupAlive(pgid int) bool {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	if len(stats) == 0 {
		return !errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH)
	}
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp …
		_, rest, ok := strings.Cut(string(b), ") ")
		if f := strings.Fields(rest); ok && len(f) > 2 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" && f[0] != "X" {
			return true
		}
	}
	return false
}
