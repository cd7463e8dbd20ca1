package sim

import "math"

// Sizing helpers: the plan's own cost model, summarised per request so a
// caller can compare a workload's offered load with what a deployment
// sustains before running it (replay's sizing estimate, docs/replay.md
// "Sizing"). They are steady-state averages, not a simulation: queueing,
// preemption and prefix-cache eviction are left out.

// PrefillSeconds is the time one engine instance of p spends computing a
// prompt's uncached tokens, at positions cached … cached+uncached−1, when
// its chunks ride in busy iterations: the matmul and attention FLOPs at the
// usable tensor rates plus the collectives, without the iteration's fixed
// overhead and weight reads, which the whole batch shares. Seconds; 0 when
// uncached ≤ 0.
func (p *Plan) PrefillSeconds(cached, uncached int) float64 {
	if uncached <= 0 {
		return 0
	}
	c := &p.cost
	lo, hi := cached+1, cached+uncached
	attn := c.attnFull*capSum(lo, hi, c.topK) + c.attnSW*capSum(lo, hi, c.window) + c.idxFLOPs*capSum(lo, hi, 0)
	pp := float64(c.p)
	q := float64(uncached)
	return 2*c.activeParams*q/pp/c.gemmFlops + attn/pp/c.attnFlops + c.comm(q)
}

// DecodeBatch is the most sequences of ctx tokens of context (prompt and
// output) one engine instance of p decodes together: its KV cache
// (KVTokens) divided by ctx plus the sliding window, at most the engine's
// batch limit (MaxBatch). At least 1.
func (p *Plan) DecodeBatch(ctx int) int {
	per := max(ctx, 1) + p.windowTokens()
	b := p.KVTokens / per
	if mb := p.cfg.MaxBatch; mb > 0 && b > mb {
		b = mb
	}
	return max(b, 1)
}

// DecodeTokenSeconds is the instance time one output token costs when
// batch sequences of ctx tokens of context each decode together: one
// iteration (overheads and speculative drafting included) divided by the
// tokens it yields (batch, times the expected accepted tokens per step
// under speculative decoding). Seconds per token; with batch 1 it is the
// inverse of a lone stream's output speed.
func (p *Plan) DecodeTokenSeconds(batch, ctx int) float64 {
	batch = max(batch, 1)
	q, perStep := 1, 1.0
	if d, a := p.SpecDraftTokens(); d > 0 && a > 0 && a < 1 {
		q += d
		perStep = (1 - math.Pow(a, float64(d+1))) / (1 - a)
	}
	ws := make([]work, batch)
	for i := range ws {
		ws[i] = work{q: q, ctx: max(ctx, 0), decode: true}
	}
	return p.cost.iteration(ws).Total() / (float64(batch) * perStep)
}
