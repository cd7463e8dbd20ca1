package proxy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/agentperf/agentperf/internal/rxstamp"
	"github.com/agentperf/agentperf/internal/testutil"
)

// streamStats is what one load round measured at the client.
type streamStats struct {
	ttft   []time.Duration // send → first content event
	gaps   []time.Duration // between consecutive content events of a stream
	events int             // SSE events received
	tokens int             // content events received
	wall   time.Duration
	errors int
}

// benchClient times events by the kernel's receive timestamps (Linux), so
// the benchmark's own client, sharing the two cores, adds no wake-up delay
// of its own to either path.
var benchClient = &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConns: 0, MaxIdleConnsPerHost: 2048,
	DisableCompression: true, IdleConnTimeout: time.Minute,
	DialContext: rxstamp.Dial(&net.Dialer{Timeout: 10 * time.Second})}}

// loadRound runs streams concurrent chat streams of tokens tokens each
// against base and measures them. Stream i starts i/streams of spread
// after the first (0: all at once).
func loadRound(base string, streams, tokens int, spread time.Duration) streamStats {
	body := []byte(`{"model":"bench","stream":true,"messages":[{"role":"assistant","content":"x"},{"role":"tool","tool_call_id":"c","content":"ok"}]}`)
	var mu sync.Mutex
	var st streamStats
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < streams; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if spread > 0 {
				time.Sleep(spread * time.Duration(i) / time.Duration(streams))
			}
			var ttft time.Duration
			gaps := make([]time.Duration, 0, tokens)
			events, toks := 0, 0
			var conn *rxstamp.Conn
			trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { conn = rxstamp.Of(i.Conn) }}
			sent := time.Now()
			req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace),
				http.MethodPost, base+"/v1/chat/completions", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := benchClient.Do(req)
			if err != nil {
				mu.Lock()
				st.errors++
				mu.Unlock()
				return
			}
			br := bufio.NewReaderSize(resp.Body, 64<<10)
			var last time.Time
			for {
				line, err := br.ReadSlice('\n')
				if len(line) > 0 {
					if bytes.HasPrefix(line, []byte("data: ")) {
						events++
						if k := bytes.Index(line, []byte(`"delta":{"content":"`)); k >= 0 && line[k+20] != '"' {
							now := time.Now()
							if conn != nil {
								if ns := conn.Last(); ns > 0 {
									if t := time.Unix(0, ns); t.Before(now) && !t.Before(last) {
										now = t
									}
								}
							}
							if toks == 0 {
								ttft = now.Sub(sent)
							} else {
								gaps = append(gaps, now.Sub(last))
							}
							last = now
							toks++
						}
					}
				}
				if err != nil {
					break
				}
			}
			resp.Body.Close()
			mu.Lock()
			st.ttft = append(st.ttft, ttft)
			st.gaps = append(st.gaps, gaps...)
			st.events += events
			st.tokens += toks
			if toks != tokens {
				st.errors++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	st.wall = time.Since(start)
	return st
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(p * float64(len(s)-1))
	return s[i]
}

// procCPU returns the CPU time process pid's threads have run, summed
// from /proc/PID/task/*/schedstat (ns resolution; a thread that exited
// in between is not counted, which Go rarely does).
func procCPU(pid int) time.Duration {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var sum int64
	for _, p := range tasks {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) > 0 {
			v, _ := strconv.ParseInt(f[0], 10, 64)
			sum += v
		}
	}
	return time.Duration(sum)
}

// benchProxy starts the built agentperf record in reverse mode in front of
// upstream and returns its URL and pid.
func benchProxy(b *testing.B, upstream string) (string, int) {
	b.Helper()
	out := filepath.Join(b.TempDir(), "traces")
	bin := testutil.Binary(b)
	cmd := exec.Command(bin, "record", "--upstream", upstream, "--listen", "127.0.0.1:0", "--out", out, "--quiet")
	stderr, _ := cmd.StderrPipe()
	if g := os.Getenv("BENCH_PROXY_GOMAXPROCS"); g != "" {
		cmd.Env = append(os.Environ(), "GOMAXPROCS="+g)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Signal(syscall.SIGINT); cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if i := strings.Index(sc.Text(), "listening on "); i >= 0 {
			u := strings.TrimSuffix(strings.Fields(sc.Text()[i+len("listening on "):])[0], ",")
			go io.Copy(io.Discard, stderr)
			return u, cmd.Process.Pid
		}
	}
	b.Fatal("proxy did not start")
	return "", 0
}

// sseUpstream streams pre-rendered OpenAI chat chunks, one write and
// flush per token, so the benchmark's own server costs little next to the
// proxy it measures.
type sseUpstream struct {
	tokens int
	delay  time.Duration
}

var (
	benchChunk = []byte(`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1767225600,"model":"bench","choices":[{"index":0,"delta":{"content":" token"},"logprobs":null,"finish_reason":null}]}` + "\n\n")
	benchFirst = []byte(`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1767225600,"model":"bench","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}` + "\n\n")
	benchLast  = []byte(`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1767225600,"model":"bench","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}` + "\n\n" +
		`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1767225600,"model":"bench","choices":[],"usage":{"prompt_tokens":20,"completion_tokens":256,"total_tokens":276}}` + "\n\ndata: [DONE]\n\n")
)

func (s *sseUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "text/event-stream")
	f := w.(http.Flusher)
	w.Write(benchFirst)
	f.Flush()
	for i := 0; i < s.tokens; i++ {
		if s.delay > 0 {
			time.Sleep(s.delay)
		}
		w.Write(benchChunk)
		f.Flush()
	}
	w.Write(benchLast)
	f.Flush()
}

// BenchmarkProxyOverhead measures what the capture proxy adds to 256-token
// SSE streams (OpenAI chat chunks from the fake upstream) on loopback, at 1,
// 64 and 512 concurrent streams, against a direct connection in the same
// run. With 20 ms between tokens it reports added TTFT p50/p99, added p99
// inter-token gap, token rate as a fraction of direct, and the proxy
// process's CPU per SSE event; with no delay, the proxy's events/s as a
// fraction of direct.
//
// All streams of a round start at once, a burst the proxy forwards one
// request after another; the start=spread cases start them evenly over one
// token interval instead, as concurrent streams are in a steady state.
func BenchmarkProxyOverhead(b *testing.B) {
	const tokens = 256
	type benchCase struct {
		delay   time.Duration
		streams int
		spread  bool
	}
	var cases []benchCase
	for _, delay := range []time.Duration{20 * time.Millisecond, 0} {
		for _, streams := range []int{1, 64, 512} {
			cases = append(cases, benchCase{delay, streams, false})
			if delay > 0 && streams > 1 {
				cases = append(cases, benchCase{delay, streams, true})
			}
		}
	}
	for _, bc := range cases {
		delay, streams := bc.delay, bc.streams
		var spread time.Duration
		name := fmt.Sprintf("delay=%v/streams=%d", delay, streams)
		if bc.spread {
			spread = delay
			name += "/start=spread"
		}
		b.Run(name, func(b *testing.B) {
			fake := httptest.NewServer(&sseUpstream{tokens: tokens, delay: delay})
			defer fake.Close()
			purl, pid := benchProxy(b, fake.URL)
			// Warm both paths (connections, TLS-free pools, code).
			loadRound(fake.URL, min(streams, 64), 4, 0)
			loadRound(purl, min(streams, 64), 4, 0)
			var direct, proxied streamStats
			var cpu time.Duration
			b.ResetTimer()
			proxRound := func() {
				c0 := procCPU(pid)
				p := loadRound(purl, streams, tokens, spread)
				cpu += procCPU(pid) - c0
				proxied = merge(proxied, p)
			}
			for i := 0; i < b.N; i++ {
				// direct, proxied, proxied, direct: drift in the
				// machine's load hits both sides alike.
				direct = merge(direct, loadRound(fake.URL, streams, tokens, spread))
				proxRound()
				proxRound()
				direct = merge(direct, loadRound(fake.URL, streams, tokens, spread))
			}
			b.StopTimer()
			if direct.errors+proxied.errors > 0 {
				b.Fatalf("%d direct and %d proxied streams failed or came short", direct.errors, proxied.errors)
			}
			if drops := scrape(purl, "agentperf_record_drops_total"); drops != 0 {
				b.Fatalf("proxy dropped %v calls", drops)
			}
			ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
			directRate := float64(direct.tokens) / direct.wall.Seconds()
			proxRate := float64(proxied.tokens) / proxied.wall.Seconds()
			if delay > 0 {
				b.ReportMetric(ms(pct(proxied.ttft, .5)-pct(direct.ttft, .5)), "added-ttft-p50-ms")
				b.ReportMetric(ms(pct(proxied.ttft, .99)-pct(direct.ttft, .99)), "added-ttft-p99-ms")
				b.ReportMetric(ms(pct(proxied.gaps, .99)-pct(direct.gaps, .99)), "added-gap-p99-ms")
				b.ReportMetric(ms(pct(direct.ttft, .5)), "direct-ttft-p50-ms")
				b.ReportMetric(ms(pct(direct.gaps, .99)), "direct-gap-p99-ms")
			} else {
				b.ReportMetric(float64(direct.events)/direct.wall.Seconds(), "direct-events/s")
				b.ReportMetric(float64(proxied.events)/proxied.wall.Seconds(), "proxied-events/s")
			}
			b.ReportMetric(proxRate/directRate, "rate-ratio")
			if proxied.events > 0 {
				b.ReportMetric(float64(cpu.Microseconds())/float64(proxied.events), "proxy-cpu-µs/event")
			}
			b.ReportMetric(0, "ns/op")
		})
	}
}

func merge(a, b streamStats) streamStats {
	a.ttft = append(a.ttft, b.ttft...)
	a.gaps = append(a.gaps, b.gaps...)
	a.events += b.events
	a.tokens += b.tokens
	a.wall += b.wall
	a.errors += b.errors
	return a
}

func scrape(url, name string) float64 {
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, name+" ") {
			v, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return v
		}
	}
	return -1
}
