package sim

import (
	"bufio"
	"encoding/json"
	"github.com/agentperf/agentperf/wire"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// clockGroup is the events a ": t=" comment line stamps: the simulated ns
// since arrival and the token events up to the next such line.
type clockGroup struct {
	ns     int64
	tokens int
}

// parseSimClock splits a raw SSE body into its clock groups, counting the
// data lines that contain perToken, and returns the events seen before the
// first comment (which must be none) and the prompt tokens of the usage.
func parseSimClock(t *testing.T, body, perToken string) (groups []clockGroup, before int) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, ": t="); ok {
			ns, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatalf("comment line %q: %v", line, err)
			}
			groups = append(groups, clockGroup{ns: ns})
			continue
		}
		if strings.HasPrefix(line, ":") {
			t.Fatalf("unexpected comment line %q", line)
		}
		if strings.HasPrefix(line, "data:") || strings.HasPrefix(line, "event:") {
			if len(groups) == 0 {
				before++
				continue
			}
			if strings.HasPrefix(line, "data:") && strings.Contains(line, perToken) {
				groups[len(groups)-1].tokens++
			}
		}
	}
	return groups, before
}

// TestSimClockOnlyWithHeader checks that the comment lines and timing
// headers appear only when the request carries X-Agentperf-Sim-Clock: 1,
// for every API, streamed and not.
func TestSimClockOnlyWithHeader(t *testing.T) {
	_, hs := startServer(t, Config{})
	for _, tt := range []struct{ path, body string }{
		{"/v1/chat/completions", `{"model":"m","max_tokens":9,"ignore_eos":true,"STREAM","messages":[{"role":"user","content":"x"}]}`},
		{"/v1/completions", `{"model":"m","max_tokens":9,"ignore_eos":true,"STREAM","prompt":"x"}`},
		{"/v1/messages", `{"model":"m","max_tokens":9,"ignore_eos":true,"STREAM","messages":[{"role":"user","content":"x"}]}`},
		{"/v1/responses", `{"model":"m","max_output_tokens":9,"ignore_eos":true,"STREAM","input":"x"}`},
	} {
		for _, stream := range []bool{true, false} {
			body := strings.Replace(tt.body, `"STREAM"`, `"stream":`+strconv.FormatBool(stream), 1)
			for _, hdr := range [][]string{nil, {wire.HeaderSimClock, "0"}, {wire.HeaderSimClock, "1"}} {
				on := hdr != nil && hdr[1] == "1"
				resp, b := post(t, hs.URL+tt.path, body, hdr...)
				if resp.StatusCode != 200 {
					t.Fatalf("%s: %d %s", tt.path, resp.StatusCode, b)
				}
				comments := strings.Count("\n"+string(b), "\n: t=")
				echo := resp.Header.Get(wire.HeaderSimClock)
				first, end := resp.Header.Get(wire.HeaderSimFirstToken), resp.Header.Get(wire.HeaderSimEnd)
				name := tt.path + " stream=" + strconv.FormatBool(stream) + " header=" + strings.Join(hdr, ":")
				switch {
				case !on && (comments != 0 || echo != "" || first != "" || end != ""):
					t.Errorf("%s: %d comment lines, echo %q, first %q, end %q; want none", name, comments, echo, first, end)
				case on && echo != "1":
					t.Errorf("%s: echo %q, want 1", name, echo)
				case on && stream && (comments == 0 || first != "" || end != ""):
					t.Errorf("%s: %d comment lines, first %q end %q; want comments only", name, comments, first, end)
				case on && !stream:
					f, err1 := strconv.ParseInt(first, 10, 64)
					e, err2 := strconv.ParseInt(end, 10, 64)
					if comments != 0 || err1 != nil || err2 != nil || f <= 0 || e <= f {
						t.Errorf("%s: %d comment lines, first %q end %q; want 0 < first < end", name, comments, first, end)
					}
				}
			}
		}
	}
}

// TestSimClockMatchesEngine checks that the times in the comment lines are
// the engine's own: one request alone on a fresh server gets exactly the
// token times the Engine gives the same request submitted directly, at a
// slow and a fast time scale alike, with every token at its own iteration's
// time (no wall-clock bunching).
func TestSimClockMatchesEngine(t *testing.T) {
	const out = 30
	body := `{"model":"m","max_tokens":30,"ignore_eos":true,"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"explain the build"}]}`
	run := func(k float64) ([]clockGroup, int) {
		_, hs := startServer(t, Config{TimeScale: k})
		_, b := post(t, hs.URL+"/v1/chat/completions", body, wire.HeaderSimClock, "1")
		groups, before := parseSimClock(t, string(b), `"delta":{"content":`)
		if before != 0 {
			t.Fatalf("K=%g: %d events before the first comment line", k, before)
		}
		var prompt int
		for _, d := range sseEvents(t, strings.NewReader(string(b))) {
			var v struct {
				Usage *struct {
					PromptTokens int `json:"prompt_tokens"`
				}
			}
			if json.Unmarshal([]byte(d), &v) == nil && v.Usage != nil {
				prompt = v.Usage.PromptTokens
			}
		}
		if prompt == 0 {
			t.Fatalf("K=%g: no usage in %s", k, b)
		}
		return groups, prompt
	}
	slow, prompt := run(20)
	fast, _ := run(2000)

	p, err := Resolve(Config{})
	if err != nil {
		t.Fatal(err)
	}
	e := NewEngine(p)
	e.Submit(&Request{PromptTokens: prompt, OutputTokens: out}, 0)
	var want []clockGroup
	for {
		next, ok := e.Next()
		if !ok {
			break
		}
		for _, o := range e.RunUntil(next) {
			want = append(want, clockGroup{ns: int64(math.Round(o.At * 1e9)), tokens: o.Tokens})
		}
	}
	if len(want) != out {
		t.Fatalf("engine gave %d deliveries, want %d", len(want), out)
	}
	for _, got := range [][]clockGroup{slow, fast} {
		if len(got) != len(want) {
			t.Fatalf("%d comment lines, want %d (one per iteration): %v", len(got), len(want), got)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("group %d: t=%d ns with %d tokens, want t=%d ns with %d (engine)", i, got[i].ns, got[i].tokens, want[i].ns, want[i].tokens)
			}
		}
	}
}

// TestSimClockStreamInterval checks that with --stream-interval the groups
// follow the interval in simulated time: the first token alone, then
// batches of N stamped with the time of their last token.
func TestSimClockStreamInterval(t *testing.T) {
	_, hs := startServer(t, Config{StreamInterval: 4, TimeScale: 500})
	_, b := post(t, hs.URL+"/v1/chat/completions", `{"model":"m","max_tokens":21,"ignore_eos":true,"stream":true,"messages":[{"role":"user","content":"x"}]}`, wire.HeaderSimClock, "1")
	groups, before := parseSimClock(t, string(b), `"delta":{"content":`)
	var sizes []int
	for i, g := range groups {
		sizes = append(sizes, g.tokens)
		if i > 0 && g.ns <= groups[i-1].ns {
			t.Errorf("group %d at %d ns, not after %d", i, g.ns, groups[i-1].ns)
		}
	}
	if before != 0 || len(sizes) != 6 || sizes[0] != 1 || sizes[5] != 4 {
		t.Errorf("%d events before the first comment; group sizes %v, want [1 4 4 4 4 4]", before, sizes)
	}
}

// simClockCounter counts the comment lines a handler writes.
type simClockCounter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c simClockCounter) Write(b []byte) (int, error) {
	c.n.Add(int64(strings.Count("\n"+string(b), "\n: t=")))
	return c.ResponseWriter.Write(b)
}

func (c simClockCounter) Flush() { c.ResponseWriter.(http.Flusher).Flush() }

// TestSimClockCoalesced checks that coalescing with the sim clock sends one
// event per engine delivery, each under its own time.
func TestSimClockCoalesced(t *testing.T) {
	_, hs := startServer(t, Config{CoalesceTokens: true, TimeScale: 1e5})
	_, b := post(t, hs.URL+"/v1/chat/completions", `{"model":"m","max_tokens":50,"ignore_eos":true,"stream":true,"messages":[{"role":"user","content":"x"}]}`, wire.HeaderSimClock, "1")
	groups, before := parseSimClock(t, string(b), `"delta":{"content":`)
	for i, g := range groups {
		if g.tokens != 1 || i > 0 && g.ns <= groups[i-1].ns {
			t.Fatalf("group %d: %d events at %d ns (previous %v); want one event, later", i, g.tokens, g.ns, groups[max(i-1, 0)])
		}
	}
	if before != 0 || len(groups) != 50 {
		t.Errorf("%d events before the first comment, %d groups; want 0 and 50 (one per decode iteration)", before, len(groups))
	}
}
