package sim

import (
	"sort"
)

// Workload is a closed-loop load for Simulate: Users users, each sending
// Requests requests one after another (no think time) of PromptTokens
// distinct prompt tokens and exactly OutputTokens output tokens.
type Workload struct {
	Users, Requests            int
	PromptTokens, OutputTokens int
}

// SimResult summarises a Simulate run, in simulated time.
type SimResult struct {
	// OutputTokensPerSecond is the output throughput over the run, all
	// instances together; PerAccelerator divides it by the accelerators.
	OutputTokensPerSecond, PerAccelerator float64
	// TotalTokensPerSecond counts prompt and output tokens, as
	// vllm bench serve's "total token throughput" does.
	TotalTokensPerSecond float64
	// UserTokensPerSecond is the median per-request output speed,
	// (output − 1) ÷ (last token − first token).
	UserTokensPerSecond float64
	// TTFT is the median time to first token, s.
	TTFT float64
	// Seconds is the simulated length of the run.
	Seconds float64
	// Preemptions counts KV-cache preemptions.
	Preemptions int64
}

// Simulate runs w on plan's engine without wall time (as fast as the CPU
// allows) and reports throughput and per-user speed. It is how the sanity
// table in docs/sim.md is produced.
func Simulate(plan *Plan, w Workload) SimResult {
	e := NewEngine(plan)
	users := max(w.Users, 1)
	per := max(w.Requests, 1)
	sent := make([]int, users)
	var speeds, ttfts []float64
	var tag int64
	submit := func(u int, at float64) {
		tag++
		r := &Request{PromptTokens: w.PromptTokens, OutputTokens: w.OutputTokens, Seed: uint64(tag)}
		r.Blocks = make([]int64, (w.PromptTokens+BlockTokens-1)/BlockTokens)
		for i := range r.Blocks {
			r.Blocks[i] = tag<<24 | int64(i)
		}
		r.Blocks = r.Blocks[:len(r.Blocks):len(r.Blocks)]
		sent[u]++
		e.Submit(r, at)
	}
	owner := map[*Request]int{}
	for u := 0; u < users; u++ {
		submit(u, 0)
		owner[lastSubmitted(e)] = u
	}
	var first, last float64 = -1, 0
	var generated int64
	for {
		t, ok := e.Next()
		if !ok {
			break
		}
		for _, o := range e.RunUntil(t) {
			generated += int64(o.Tokens)
			if first < 0 {
				first = o.At
			}
			last = o.At
			if !o.Done {
				continue
			}
			r := o.Req
			if r.OutputTokens > 1 && r.Finished > r.FirstToken {
				speeds = append(speeds, float64(r.OutputTokens-1)/(r.Finished-r.FirstToken))
			}
			ttfts = append(ttfts, r.FirstToken-r.Arrival)
			u := owner[r]
			delete(owner, r)
			if sent[u] < per {
				submit(u, o.At)
				owner[lastSubmitted(e)] = u
			}
		}
	}
	res := SimResult{Seconds: last, Preemptions: e.Preemptions}
	if last > 0 {
		res.OutputTokensPerSecond = float64(generated) / last
		res.PerAccelerator = res.OutputTokensPerSecond / float64(plan.Accelerators)
		res.TotalTokensPerSecond = float64(generated+int64(tag)*int64(w.PromptTokens)) / last
	}
	res.UserTokensPerSecond = median(speeds)
	res.TTFT = median(ttfts)
	return res
}

func lastSubmitted(e *Engine) *Request { return e.lastReq }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	sort.Float64s(v)
	return v[len(v)/2]
}
