package sim

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/agentperf/agentperf/internal/testutil"
)

// tokenMark is in every streamed content chunk of the chat API.
var tokenMark = []byte(`"delta":{"content":" `)

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// procCPU returns the user+system CPU time of process pid so far.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, err
	}
	// Fields after the parenthesised command: state is field 3; utime and
	// stime are fields 14 and 15, in clock ticks (100 per second on Linux).
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

// procWait returns the time the threads of process pid spent runnable but
// waiting for a CPU (sum of /proc/<pid>/task/*/schedstat field 2): how much
// other load on the machine held the process back.
func procWait(pid int) time.Duration {
	tasks, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "schedstat"))
	var total int64
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) >= 2 {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			total += n
		}
	}
	return time.Duration(total)
}

// BenchmarkServerStreams is the load test of the simulator's HTTP path: it
// runs `agentperf sim` as a child process at real-time pacing and drives
// SIM_BENCH_STREAMS (default 5,000) concurrent closed-loop streaming chat
// requests from this process for SIM_BENCH_DURATION (default 60 s), then
// reports the server's CPU (from /proc, after a warm-up third), the token
// rate and the client-observed inter-token gaps. The deployment
// (SIM_BENCH_ARGS) is sized so every stream is in a running batch:
// gpt-oss-120b on 40 H100s (TP 1, 125 sequences each).
//
//	go test -run '^$' -bench BenchmarkServerStreams -benchtime 1x ./sim/
func BenchmarkServerStreams(b *testing.B) {
	streams, _ := strconv.Atoi(envOr("SIM_BENCH_STREAMS", "5000"))
	dur, _ := time.ParseDuration(envOr("SIM_BENCH_DURATION", "60s"))
	outTokens, _ := strconv.Atoi(envOr("SIM_BENCH_OUTPUT", "256"))
	args := strings.Fields(envOr("SIM_BENCH_ARGS", "--hardware h100 --model gpt-oss-120b --accelerators 40 --tp 1"))
	bin := testutil.Binary(b)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, append([]string{"sim", "--listen", addr}, args...)...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	base := "http://" + addr
	for i := 0; ; i++ {
		if resp, err := http.Get(base + "/health"); err == nil {
			resp.Body.Close()
			break
		}
		if i > 100 {
			b.Fatal("simulator did not come up")
		}
		time.Sleep(50 * time.Millisecond)
	}

	tr := &http.Transport{MaxIdleConns: streams + 100, MaxIdleConnsPerHost: streams + 100, DisableCompression: true}
	client := &http.Client{Transport: tr}
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()

	var (
		inflight, maxInflight atomic.Int64
		tokensSeen, requests  atomic.Int64
		errorsSeen            atomic.Int64
		measuring             atomic.Bool
		mu                    sync.Mutex
		gaps                  []float64 // ms, sampled from stream 0 mod 50
	)
	var wg sync.WaitGroup
	b.ResetTimer()
	for u := 0; u < streams; u++ {
		wg.Add(1)
		go func(u int) {
			defer wg.Done()
			buf := make([]byte, 32<<10)
			for turn := 0; ctx.Err() == nil; turn++ {
				// Lengths spread over [out/2, 3·out/2) so the streams do not
				// all end and restart together.
				length := outTokens/2 + (u*7919+turn*104729)%max(outTokens, 1)
				body := fmt.Sprintf(`{"model":"gpt-oss-120b","stream":true,"max_tokens":%d,"ignore_eos":true,"messages":[{"role":"user","content":"user %d turn %d: explain the build"}]}`, length, u, turn)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/chat/completions", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						errorsSeen.Add(1)
					}
					continue
				}
				n := inflight.Add(1)
				for {
					m := maxInflight.Load()
					if n <= m || maxInflight.CompareAndSwap(m, n) {
						break
					}
				}
				requests.Add(1)
				// Count token events per read: cheaper than per line, so
				// the client leaves the CPU to the server. A read holding k
				// tokens gives one real gap and k−1 zero gaps.
				last := time.Time{}
				for {
					n, err := resp.Body.Read(buf)
					if n > 0 {
						k := bytes.Count(buf[:n], tokenMark)
						if k > 0 {
							now := time.Now()
							if measuring.Load() {
								tokensSeen.Add(int64(k))
								if u%50 == 0 && !last.IsZero() {
									mu.Lock()
									gaps = append(gaps, float64(now.Sub(last).Microseconds())/1000)
									for j := 1; j < k; j++ {
										gaps = append(gaps, 0)
									}
									mu.Unlock()
								}
							}
							last = now
						}
					}
					if err != nil {
						break
					}
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				inflight.Add(-1)
			}
		}(u)
	}
	// Warm up for a third of the run, then measure.
	time.Sleep(dur / 3)
	measuring.Store(true)
	cpu0, _ := procCPU(cmd.Process.Pid)
	wait0 := procWait(cmd.Process.Pid)
	var self0 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self0)
	t0 := time.Now()
	minInflight := int64(streams)
	var sumInflight, samples int64
	for ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
		if ctx.Err() != nil {
			break
		}
		n := inflight.Load()
		minInflight = min(minInflight, n)
		sumInflight += n
		samples++
	}
	avgInflight := float64(sumInflight) / float64(max(samples, 1))
	wall := time.Since(t0)
	measuring.Store(false)
	cpu1, _ := procCPU(cmd.Process.Pid)
	wait1 := procWait(cmd.Process.Pid)
	var self1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self1)
	metrics := scrape(base + "/metrics")
	wg.Wait()
	b.StopTimer()

	cores := (cpu1 - cpu0).Seconds() / wall.Seconds()
	clientCPU := time.Duration(self1.Utime.Nano()+self1.Stime.Nano()-self0.Utime.Nano()-self0.Stime.Nano()).Seconds() / wall.Seconds()
	tps := float64(tokensSeen.Load()) / wall.Seconds()
	sort.Float64s(gaps)
	pct := func(p float64) float64 {
		if len(gaps) == 0 {
			return 0
		}
		return gaps[int(p*float64(len(gaps)-1))]
	}
	iters, busy := metrics["agentperf_sim_iterations_total"], metrics["agentperf_sim_busy_seconds_total"]
	waitFrac := (wait1 - wait0).Seconds() / wall.Seconds()
	b.ReportMetric(cores, "server-cores")
	b.ReportMetric(waitFrac, "server-runqueue-s/s")
	b.ReportMetric(clientCPU, "client-cores")
	b.ReportMetric(tps, "tokens/s")
	b.ReportMetric(float64(minInflight), "min-inflight")
	b.ReportMetric(avgInflight, "avg-inflight")
	b.ReportMetric(pct(0.5), "gap-p50-ms")
	b.ReportMetric(pct(0.99), "gap-p99-ms")
	b.ReportMetric(1000*busy/iters, "iteration-ms")
	meanLag := 0.0
	if n := metrics["agentperf_sim_loop_due_wakeups_total"]; n > 0 {
		meanLag = 1000 * metrics["agentperf_sim_loop_lag_seconds_total"] / n
	}
	b.ReportMetric(meanLag, "mean-delivery-lag-ms")
	b.ReportMetric(float64(errorsSeen.Load()), "errors")
	if cores > 0 {
		b.ReportMetric(cores*1e6/tps, "server-µs/token")
	}
	b.Logf("mean delivery lag %.2f ms (whole run, including ramp-up)", meanLag)
	b.Logf("server threads waited %.2f s per second for a CPU (other load on the machine)", waitFrac)
	b.Logf("%d streams for %v (measured %v): server %.2f cores, client %.2f cores, %.0f tokens/s, in flight avg %.0f min %d, gap p50 %.1f ms p99 %.1f ms, mean iteration %.1f ms, %d requests, %d errors",
		streams, dur, wall.Round(time.Second), cores, clientCPU, tps, avgInflight, minInflight, pct(0.5), pct(0.99), 1000*busy/iters, requests.Load(), errorsSeen.Load())
}

// scrape returns the unlabelled-by-us values of a Prometheus text page
// (label sets are summed per metric name).
func scrape(url string) map[string]float64 {
	out := map[string]float64{}
	resp, err := http.Get(url)
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		name := f[0]
		if i := strings.IndexByte(name, '{'); i >= 0 {
			name = name[:i]
		}
		v, _ := strconv.ParseFloat(f[1], 64)
		out[name] += v
	}
	return out
}
