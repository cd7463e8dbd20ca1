package sim

import (
	"math"
	"math/rand"
	"sort"
)

// Workload is a closed-loop load for Simulate: Users users, each sending
// Requests requests one after another (no think time), so at most Users
// requests are in flight and Users × Requests are sent in all — the shape
// of `vllm bench serve --max-concurrency Users --num-prompts Users×Requests`.
// Every prompt is distinct (random content, no shared prefix).
type Workload struct {
	Users, Requests int
	// PromptTokens and OutputTokens are the nominal lengths L, tokens;
	// the output length is exact (ignore_eos).
	PromptTokens, OutputTokens int
	// RangeRatio r in (0, 1) draws each request's prompt and output
	// lengths uniformly from the integers [⌊r·L⌋, L], as InferenceMAX's
	// benchmark client does with --random-range-ratio; 0 means every
	// request has exactly L.
	RangeRatio float64
	// Seed drives the length draws (with RangeRatio) and the requests'
	// speculative-acceptance draws.
	Seed int64
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
	// MeanTTFT is the mean time to first token, s, and MeanTPOT the mean
	// over requests with more than one output token of (last token −
	// first token) ÷ (output − 1), s: the definitions of vllm bench serve
	// and InferenceMAX (per-user speed = 1 ÷ MeanTPOT).
	MeanTTFT, MeanTPOT float64
	// PromptTokens and OutputTokens are the tokens sent and generated.
	PromptTokens, OutputTokens int64
	// Seconds is the simulated length of the run: from the first request
	// sent to the last token.
	Seconds float64
	// Preemptions counts KV-cache preemptions.
	Preemptions int64
	// Energy is the accelerators' modelled energy over the run
	// (Engine.Energy); Energy.Joules ÷ Seconds is their mean power.
	Energy EnergyReading
}

// Simulate runs w on plan's engine without wall time (as fast as the CPU
// allows) and reports throughput, per-user speed and TTFT. It is how the
// sanity and calibration tables in docs/sim.md are produced.
func Simulate(plan *Plan, w Workload) SimResult {
	e := NewEngine(plan)
	users := max(w.Users, 1)
	per := max(w.Requests, 1)
	rng := rand.New(rand.NewSource(w.Seed))
	draw := func(l int) int {
		if w.RangeRatio <= 0 || w.RangeRatio >= 1 || l <= 1 {
			return max(l, 1)
		}
		lo := int(math.Floor(w.RangeRatio * float64(l)))
		return max(lo+rng.Intn(l-lo+1), 1)
	}
	sent := make([]int, users)
	var speeds, ttfts []float64
	var tpotSum float64
	var tpotN int
	var tag int64
	var prompt int64
	owner := map[*Request]int{}
	submit := func(u int, at float64) {
		tag++
		in := draw(w.PromptTokens)
		r := &Request{PromptTokens: in, OutputTokens: draw(w.OutputTokens), Seed: uint64(w.Seed)<<32 ^ uint64(tag)}
		r.Blocks = make([]int64, (in+BlockTokens-1)/BlockTokens)
		for i := range r.Blocks {
			r.Blocks[i] = tag<<24 | int64(i)
		}
		r.Blocks = r.Blocks[:len(r.Blocks):len(r.Blocks)]
		sent[u]++
		prompt += int64(in)
		owner[r] = u
		e.Submit(r, at)
	}
	for u := 0; u < users; u++ {
		submit(u, 0)
	}
	var last float64
	var generated int64
	for {
		t, ok := e.Next()
		if !ok {
			break
		}
		for _, o := range e.RunUntil(t) {
			generated += int64(o.Tokens)
			last = o.At
			if !o.Done {
				continue
			}
			r := o.Req
			if r.OutputTokens > 1 && r.Finished > r.FirstToken {
				d := r.Finished - r.FirstToken
				speeds = append(speeds, float64(r.OutputTokens-1)/d)
				tpotSum += d / float64(r.OutputTokens-1)
				tpotN++
			}
			ttfts = append(ttfts, r.FirstToken-r.Arrival)
			u := owner[r]
			delete(owner, r)
			if sent[u] < per {
				submit(u, o.At)
			}
		}
	}
	res := SimResult{Seconds: last, Preemptions: e.Preemptions, PromptTokens: prompt, OutputTokens: generated, Energy: e.Energy()}
	if last > 0 {
		res.OutputTokensPerSecond = float64(generated) / last
		res.PerAccelerator = res.OutputTokensPerSecond / float64(plan.Accelerators)
		res.TotalTokensPerSecond = float64(generated+prompt) / last
	}
	if tpotN > 0 {
		res.MeanTPOT = tpotSum / float64(tpotN)
	}
	res.MeanTTFT = mean(ttfts)
	res.UserTokensPerSecond = median(speeds)
	res.TTFT = median(ttfts)
	return res
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	sort.Float64s(v)
	return v[len(v)/2]
}
