package target

import (
	"bufio"
	"os"
	"runtime"
	"strings"

	"github.com/agentperf/agentperf/schemas"
)

// Host describes the client machine replay runs on (the results footer's
// schemas.ClientMachine).
type Host = schemas.ClientMachine

// ClientHost describes this machine. It reads /proc on Linux and leaves
// CPU and Kernel empty elsewhere.
func ClientHost() Host {
	h := Host{NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), OS: runtime.GOOS,
		Arch: runtime.GOARCH, GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		h.Kernel = strings.TrimSpace(string(b))
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		defer f.Close()
		h.CPU = cpuModel(bufio.NewScanner(f))
	}
	return h
}

// cpuModel returns the first "model name" (x86) or "Model"/"CPU part"
// (arm) value of /proc/cpuinfo.
func cpuModel(sc *bufio.Scanner) string {
	fallback := ""
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "model name":
			return strings.TrimSpace(v)
		case "Model", "Hardware":
			if fallback == "" {
				fallback = strings.TrimSpace(v)
			}
		}
	}
	return fallback
}
