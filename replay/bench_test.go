package replay

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/agentperf/agentperf/wire"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentperf/agentperf/internal/testutil"
	"github.com/agentperf/agentperf/schemas"
)

// Scenario benchmarks (make bench): the fake target runs as a separate
// process (replay/internal/fake/fakeserver), pinned with taskset to CPU
// $BENCH_SERVER_CPU (default 1) when taskset exists; pin the client too:
//
//	taskset -c 0 go test -run '^$' -bench 'Accuracy|Scale' -benchtime 1x ./replay/
//
// Each iteration runs the whole scenario; use -benchtime 1x.

var (
	fakeBinOnce sync.Once
	fakeBin     string
	fakeBinErr  error
)

// startFakeProcess starts the fake target process and returns its base URL.
func startFakeProcess(b *testing.B, args ...string) string {
	b.Helper()
	fakeBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "agentperf-fake-")
		if err != nil {
			fakeBinErr = err
			return
		}
		fakeBin = filepath.Join(dir, "fakeserver")
		cmd := exec.Command("go", "build", "-o", fakeBin, "./replay/internal/fake/fakeserver")
		cmd.Dir = testutil.Root()
		if out, err := cmd.CombinedOutput(); err != nil {
			fakeBinErr = fmt.Errorf("%v: %s", err, out)
		}
	})
	if fakeBinErr != nil {
		b.Fatal(fakeBinErr)
	}
	name, argv := fakeBin, args
	if ts, err := exec.LookPath("taskset"); err == nil && runtime.NumCPU() > 1 {
		cpu := os.Getenv("BENCH_SERVER_CPU")
		if cpu == "" {
			cpu = "1"
		}
		name, argv = ts, append([]string{"-c", cpu, fakeBin}, args...)
	}
	cmd := exec.Command(name, argv...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	return "http://" + strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
}

type truthRec struct {
	Salt, Marker string
	// Start is when the handler started; Wire the kernel's receive time
	// of the request (0 without receive timestamps).
	Start, Wire int64
	Tokens      []int64
}

func fetchTruth(b *testing.B, url string) map[string]truthRec {
	resp, err := http.Get(url + "/truth")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]truthRec{}
	dec := json.NewDecoder(resp.Body)
	for {
		var t truthRec
		if err := dec.Decode(&t); err == io.EOF {
			break
		} else if err != nil {
			b.Fatal(err)
		}
		out[t.Salt+"|"+t.Marker] = t
	}
	return out
}

func pct(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sort.Float64s(xs)
	return xs[min(len(xs)-1, int(p/100*float64(len(xs))))]
}

// BenchmarkAccuracy measures replay against server truth: streams of 256
// tokens with 20 ms between tokens (and a 20 ms TTFT), 256 and 1,024
// concurrent streams. TTFT error = (client first token − client send) −
// (server first token write − server handler start); the wire variant
// takes the server's side from the kernel's receive time of the request
// instead of the handler start, so the fake's own delay in picking a
// request up counts on both sides.
//
// times=kernel is the default (events timed by the kernel's receive
// timestamps); times=read is --read-times (timed when the client reads
// them), so the same run shows what the kernel timestamps remove.
func BenchmarkAccuracy(b *testing.B) {
	for _, bc := range []struct {
		streams   int
		readTimes bool
	}{{256, false}, {256, true}, {1024, false}, {1024, true}} {
		streams := bc.streams
		name := fmt.Sprintf("streams=%d/times=kernel", streams)
		if bc.readTimes {
			name = fmt.Sprintf("streams=%d/times=read", streams)
		}
		b.Run(name, func(b *testing.B) {
			url := startFakeProcess(b, "-ttft", "20ms", "-itl", "20ms", "-tokens", "256", "-record")
			dir := writeTraces(b, traceSpec{sessions: 64, turns: 4, out: 256})
			plan := loadPlan(b, dir, PlanOptions{})
			for i := 0; i < b.N; i++ {
				cfg := Config{Plan: plan, Target: url, Users: streams, Warmup: 2 * time.Second, RampUp: time.Second,
					Steady: 12 * time.Second, DrainTimeout: 15 * time.Second, CacheSalt: "u{user}p{pass}",
					Transport: TransportOptions{ReadTimes: bc.readTimes}}
				stopCanary := startCanary()
				rows, _, rep := runToFile(b, context.Background(), cfg)
				b.ReportMetric(stopCanary(), "canary_p99_ms")
				truth := fetchTruth(b, url)
				var ttftErr, wireErr, cItl, sItl []float64
				matched := 0
				for _, r := range rows {
					if r.Error != "" || r.Phase != schemas.PhaseSteady {
						continue
					}
					key := fmt.Sprintf("[cache-salt u%dp", r.User)
					var tr truthRec
					found := false
					for p := 0; p < 8 && !found; p++ {
						tr, found = truth[fmt.Sprintf("%s%d]|session %s turn %d", key, p, r.SessionID, r.Turn)]
					}
					if !found || len(tr.Tokens) == 0 {
						continue
					}
					matched++
					cTTFT := float64(r.FirstTokenNS - r.SentNS)
					sTTFT := float64(tr.Tokens[0] - tr.Start)
					ttftErr = append(ttftErr, (cTTFT-sTTFT)/1e6)
					if tr.Wire > 0 {
						wTTFT := float64(tr.Tokens[0] - tr.Wire)
						wireErr = append(wireErr, (cTTFT-wTTFT)/1e6)
					}
					for k := 1; k < len(r.ChunkOffsetsUS); k++ {
						cItl = append(cItl, float64(r.ChunkOffsetsUS[k]-r.ChunkOffsetsUS[k-1])/1e3)
					}
					for k := 1; k < len(tr.Tokens); k++ {
						sItl = append(sItl, float64(tr.Tokens[k]-tr.Tokens[k-1])/1e6)
					}
				}
				if matched == 0 {
					b.Fatal("no client row matched a server record")
				}
				lv := rep.Levels[0]
				b.ReportMetric(pct(ttftErr, 50), "ttft_err_p50_ms")
				b.ReportMetric(pct(ttftErr, 99), "ttft_err_p99_ms")
				if len(wireErr) > 0 {
					b.ReportMetric(pct(wireErr, 50), "ttft_err_wire_p50_ms")
					b.ReportMetric(pct(wireErr, 99), "ttft_err_wire_p99_ms")
				}
				b.ReportMetric(pct(cItl, 50), "itl_p50_ms")
				b.ReportMetric(pct(sItl, 50), "server_itl_p50_ms")
				b.ReportMetric(pct(cItl, 99), "itl_p99_ms")
				b.ReportMetric(pct(sItl, 99), "server_itl_p99_ms")
				ours := float64(lv.CPU.Microseconds()) / float64(lv.OutputTokens)
				b.ReportMetric(ours, "cpu_us/token")
				b.ReportMetric(float64(lv.LagP99.Microseconds())/1e3, "lag_p99_ms")
				b.ReportMetric(float64(matched), "requests")
				if !bc.readTimes {
					// The floor: the simplest closed-loop Go client
					// (no timestamps) on the same streams, same core.
					body := turnBody(schemas.APIOpenAIChat, "s0", 2, 256, 0)
					body = bytes.Replace(body, []byte(`"max_tokens":4096`), []byte(`"max_tokens":256,"min_tokens":256,"ignore_eos":true,"stream_options":{"include_usage":true}`), 1)
					simple := simpleClient(url+"/v1/chat/completions", body, streams, time.Second, 12*time.Second, 0)
					b.ReportMetric(simple, "simple_cpu_us/token")
					b.ReportMetric(ours/simple, "cpu_ratio")
				}
			}
		})
	}
}

// BenchmarkScale10k runs 10,000 closed-loop streaming users against the
// fake target (64-token responses in 8-token events 100 ms apart after a
// 50 ms TTFT, 1 s recorded think time), then the simplest closed-loop Go
// client (http.Post + bufio.Scanner, no timestamps) under the same load,
// and reports client lag p99 and CPU per output token of both.
func BenchmarkScale10k(b *testing.B) {
	users := 10000
	if s := os.Getenv("BENCH_USERS"); s != "" {
		fmt.Sscan(s, &users)
	}
	url := startFakeProcess(b, "-ttft", "50ms", "-itl", "100ms", "-tokens-per-event", "8", "-tokens", "64")
	dir := writeTraces(b, traceSpec{sessions: 200, turns: 5, out: 64, think: time.Second})
	plan := loadPlan(b, dir, PlanOptions{})
	for i := 0; i < b.N; i++ {
		// BENCH_READ_TIMES=1 times events when read (--read-times).
		cfg := Config{Plan: plan, Target: url, Users: users, Warmup: 10 * time.Second, RampUp: 5 * time.Second,
			Steady: 20 * time.Second, DrainTimeout: 10 * time.Second,
			Transport: TransportOptions{ReadTimes: os.Getenv("BENCH_READ_TIMES") != ""}}
		stopCanary := startCanary()
		rows, _, rep := runToFile(b, context.Background(), cfg)
		b.ReportMetric(stopCanary(), "canary_p99_ms")
		lv := rep.Levels[0]
		var busy float64
		var errs int
		for _, r := range rows {
			if r.Phase == schemas.PhaseSteady {
				busy += float64(r.EndNS - r.SentNS)
				if r.Error != "" {
					errs++
				}
			}
		}
		if testing.Verbose() {
			byPhase := map[string][]float64{}
			bySec := map[int64]int{}
			var t0 int64
			for _, r := range rows {
				if t0 == 0 || r.ScheduledNS < t0 {
					t0 = r.ScheduledNS
				}
			}
			for _, r := range rows {
				lag := float64(r.SentNS-r.ScheduledNS) / 1e6
				byPhase[r.Phase] = append(byPhase[r.Phase], lag)
				if lag > 50 {
					bySec[(r.ScheduledNS-t0)/1e9]++
				}
			}
			for p, l := range byPhase {
				b.Logf("phase %s: %d rows, lag p50 %.2f ms p99 %.2f ms", p, len(l), pct(l, 50), pct(l, 99))
			}
			b.Logf("rows with lag > 50 ms by second: %v", bySec)
		}
		ours := float64(lv.CPU.Nanoseconds()) / 1e3 / float64(lv.OutputTokens)
		b.ReportMetric(float64(lv.LagP99.Microseconds())/1e3, "lag_p99_ms")
		b.ReportMetric(float64(lv.AllLagP99.Microseconds())/1e3, "lag_p99_all_ms")
		b.ReportMetric(ours, "cpu_us/token")
		b.ReportMetric(busy/float64(cfg.Steady.Nanoseconds()), "open_streams")
		b.ReportMetric(float64(lv.Steady)/cfg.Steady.Seconds(), "req/s")
		b.ReportMetric(float64(errs), "steady_errors")
		b.ReportMetric(100*lv.CPUUtil, "cpu_%")

		body := turnBody(schemas.APIOpenAIChat, "s0", 2, 64, 0)
		body = bytes.Replace(body, []byte(`"max_tokens":4096`), []byte(`"max_tokens":64,"min_tokens":64,"ignore_eos":true,"stream_options":{"include_usage":true}`), 1)
		simple := simpleClient(url+"/v1/chat/completions", body, users, 5*time.Second, 20*time.Second, time.Second)
		b.ReportMetric(simple, "simple_cpu_us/token")
		b.ReportMetric(ours/simple, "cpu_ratio")
	}
}

// startCanary measures how late a goroutine sleeping 1 ms wakes up, every
// millisecond, until stopped; it returns the p99 overshoot in ms. A high
// value means the machine (other processes, the OS scheduler) delays the
// whole process, not replay's own work.
func startCanary() (stop func() float64) {
	done := make(chan struct{})
	res := make(chan float64)
	go func() {
		var late []float64
		for {
			select {
			case <-done:
				res <- pct(late, 99)
				return
			default:
			}
			t0 := time.Now()
			time.Sleep(time.Millisecond)
			late = append(late, float64(time.Since(t0)-time.Millisecond)/1e6)
		}
	}()
	return func() float64 { close(done); return <-res }
}

// simpleClient is the simplest closed-loop Go client: each user posts the
// same body, reads the SSE lines with bufio.Scanner, counts content events,
// sleeps think, repeats. It returns client CPU per output token over the
// measure window (after ramp).
func simpleClient(url string, body []byte, users int, ramp, measure, think time.Duration) float64 {
	tr := &http.Transport{MaxIdleConnsPerHost: users + 16, MaxIdleConns: users + 16, DisableCompression: true}
	hc := &http.Client{Transport: tr}
	var tokens atomic.Int64
	var counting atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for u := 0; u < users; u++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(ramp * time.Duration(u) / time.Duration(users))
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := hc.Post(url, "application/json", bytes.NewReader(body))
				if err == nil {
					sc := bufio.NewScanner(resp.Body)
					for sc.Scan() {
						if bytes.Contains(sc.Bytes(), []byte(`"content":" tok"`)) && counting.Load() {
							tokens.Add(1) // one token per event line
						}
					}
					resp.Body.Close()
				}
				time.Sleep(think)
			}
		}()
	}
	time.Sleep(ramp + 2*time.Second)
	counting.Store(true)
	cpu0 := processCPU()
	time.Sleep(measure)
	cpu := processCPU() - cpu0
	counting.Store(false)
	n := tokens.Load()
	close(stop)
	wg.Wait()
	tr.CloseIdleConnections()
	return float64(cpu.Nanoseconds()) / 1e3 / float64(n)
}

// BenchmarkBuildBody rebuilds the body of turn 99 of a 100-turn session
// (about 100 KB) from the trace set's blob cache, as every send does:
// "stored" as recorded (conversation marker off), "marked" with the
// conversation marker of a closed-loop user, and "generated" from a set
// whose messages are filler recipes (a Mooncake import), generated per
// send.
func BenchmarkBuildBody(b *testing.B) {
	stored := writeTraces(b, traceSpec{sessions: 1, turns: 100, out: 100, pad: 2000})
	generated := writeRecipeTraces(b, 100, 200)
	for _, tc := range []struct {
		name   string
		dir    string
		marker MarkerPolicy
	}{{"stored", stored, MarkerOff}, {"marked", stored, MarkerOn}, {"generated", generated, MarkerOff}} {
		b.Run(tc.name, func(b *testing.B) {
			plan := loadPlan(b, tc.dir, PlanOptions{})
			bl, err := newBuilder(Config{Plan: plan, ConversationMarker: tc.marker})
			if err != nil {
				b.Fatal(err)
			}
			benchBuild(b, bl, plan.Sessions[0].Turns[99])
		})
	}
}

// benchBuild builds t's body b.N times for user 3's first pass at level 0.
func benchBuild(b *testing.B, bl *builder, t *Turn) {
	conv := bl.conversation(0, 3, 0)
	var sc saltCache
	var parts []schemas.Part
	buf := make([]byte, 0, 256<<10)
	var err error
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf, _, parts, err = bl.build(buf[:0], t, conv, &sc, parts)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkReadStream scans a 256-event OpenAI chat stream from memory;
// BenchmarkReadStreamSimClock the same stream with a sim-clock comment line
// before every event, timed by it.
func BenchmarkReadStream(b *testing.B) { benchReadStream(b, false) }

func BenchmarkReadStreamSimClock(b *testing.B) { benchReadStream(b, true) }

func benchReadStream(b *testing.B, clock bool) {
	var sb strings.Builder
	for i := 0; i < 256; i++ {
		if clock {
			fmt.Fprintf(&sb, ": t=%d\n", 30_000_000+i*5_456_123)
		}
		sb.WriteString("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" tok\"}}]}\n\n")
	}
	sb.WriteString("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":256}}\n\ndata: [DONE]\n\n")
	stream := sb.String()
	s := &sender{clk: SystemClock{}, maxChunks: 1 << 16, simClock: clock}
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	for i := 0; i < b.N; i++ {
		r := Response{First: -1, st: wire.NewStream(schemas.APIOpenAIChat), Chunks: make([]time.Duration, 0, 260), simClock: clock}
		s.readStream(context.Background(), &Exchange{Sent: time.Now()}, &chunkReader{stream, 200}, nil, &r)
		if len(r.Chunks) != 256 || r.Sim != clock {
			b.Fatal(len(r.Chunks), r.Sim)
		}
	}
}
