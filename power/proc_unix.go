//go:build unix

package power

import (
	"os/exec"
	"syscall"
	"time"
)

// setGroup starts the command in its own process group, so stopping it
// stops what it started too (sh -c, ssh, a wrapper script).
func setGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// stopGroup sends SIGTERM to the command's process group and, if the
// command has not exited after grace, SIGKILL.
func stopGroup(cmd *exec.Cmd, grace time.Duration, exited <-chan struct{}) {
	pgid := cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(grace):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
}

// killGroup sends SIGKILL to what is left of the command's process group
// (children that outlived it).
func killGroup(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
