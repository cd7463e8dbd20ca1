package target

import (
	"bufio"
	"os"
	"runtime"
	"strings"
)

// Host describes the client machine replay runs on.
type Host struct {
	// CPU is the processor model name ("" when unknown), Cores the
	// logical CPUs, GOMAXPROCS the Go scheduler's limit.
	CPU        string `json:"cpu,omitempty"`
	Cores      int    `json:"cores"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	// OS, Arch and Kernel name the operating system, the architecture and
	// the kernel release ("" when unknown).
	OS     string `json:"os"`
	Arch   string `json:"arch"`
	Kernel string `json:"kernel,omitempty"`
	// GoVersion is the Go runtime's version; Agentperf agentperf's.
	GoVersion string `json:"go_version"`
	Agentperf string `json:"agentperf,omitempty"`
}

// ClientHost describes this machine; version is agentperf's version.
// It reads /proc on Linux and leaves CPU and Kernel empty elsewhere.
func ClientHost(version string) Host {
	h := Host{Cores: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), OS: runtime.GOOS,
		Arch: runtime.GOARCH, GoVersion: runtime.Version(), Agentperf: version}
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
