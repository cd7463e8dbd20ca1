//go:build !unix

package power

import (
	"os/exec"
	"time"
)

// setGroup does nothing where there are no process groups.
func setGroup(cmd *exec.Cmd) {}

// stopGroup kills the command: without process groups or SIGTERM, its own
// children are not reached.
func stopGroup(cmd *exec.Cmd, grace time.Duration, exited <-chan struct{}) {
	_ = cmd.Process.Kill()
}

// killGroup kills the command if it still runs.
func killGroup(cmd *exec.Cmd) { _ = cmd.Process.Kill() }
