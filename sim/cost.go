package sim

import (
	"math"

	"github.com/agentperf/agentperf/catalog"
)

// work is one sequence's share of an iteration: q tokens computed at
// positions ctx … ctx+q−1 (ctx tokens already have KV). decode marks a
// decode (or speculative-verify) step, whose attention kernel may differ
// from prefill's.
type work struct {
	q, ctx int
	decode bool
}

// costModel is the roofline of one engine instance: P accelerators
// serving one copy of the model. All rates are per accelerator and already
// multiplied by their efficiencies. See docs/sim.md for every term.
type costModel struct {
	p  int  // accelerators in the instance
	ep bool // expert parallel MoE with data-parallel attention

	gemmFlops   float64 // usable FLOP/s per accelerator of the weight matmuls
	attnFlops   float64 // usable FLOP/s per accelerator of attention
	bw          float64 // usable HBM B/s per accelerator
	linkBW      float64 // collective B/s per accelerator (one direction)
	collLat     float64 // seconds per collective
	overhead    float64 // seconds per iteration (fixed + per-layer × layers)
	seqOverhead float64 // seconds per running sequence per iteration

	activeParams    float64 // parameters one token multiplies (2 FLOPs each)
	nonExpertBytes  float64 // weight bytes every iteration reads (attention, shared, head)
	expertBytes     float64 // all routed-expert weight bytes
	expertFrac      float64 // experts_per_token / experts
	expertsPerToken int

	attnFull, attnSW    float64 // prefill attention FLOPs per key: full-attention layers, sliding layers
	decFull, decSW      float64 // the same in decode
	idxFLOPs            float64 // sparse-attention indexer FLOPs per key
	window, topK        int     // sliding window; sparse top-k (0 = none)
	kvFull, kvSW, kvIdx float64 // KV bytes per token: full layers, sliding layers, indexer keys

	layers, hidden int
	kvShard        float64 // fraction of an instance's KV reads one accelerator does
	weightShard    float64 // fraction of the non-expert weights one accelerator reads

	// spec decoding: draft tokens per step and the draft's cost as a fraction
	// of the target's decode step.
	draft     int
	draftCost float64
}

func newCostModel(hw *catalog.Hardware, m *catalog.Model, p int, ep bool, k knobs) costModel {
	c := costModel{p: p, ep: ep}
	c.gemmFlops = k.gemmTFLOPS * 1e12 * k.computeEff
	c.attnFlops = k.attnTFLOPS * 1e12 * k.computeEff
	c.bw = hw.HBMBandwidthTBps * 1e12 * k.memoryEff
	domain := hw.ScaleUpDomain
	if domain == 0 {
		domain = 8
	}
	c.linkBW = hw.ScaleUpGBps * 1e9
	if p > domain || c.linkBW == 0 {
		c.linkBW = hw.ScaleOutGBps * 1e9
		if c.linkBW == 0 {
			c.linkBW = 50e9
		}
	}
	c.collLat = k.collectiveLatency
	c.overhead = k.overhead + k.layerOverhead*float64(m.Layers)
	c.seqOverhead = k.seqOverhead
	c.activeParams = m.ActiveParamsB * 1e9
	active := m.ActiveWeightBytesGB * 1e9
	if active == 0 {
		active = m.WeightBytesGB * 1e9 * m.ActiveParamsB / m.TotalParamsB
	}
	if m.Experts > 0 && m.ExpertsPerToken > 0 && m.ExpertWeightBytesGB > 0 {
		c.expertBytes = m.ExpertWeightBytesGB * 1e9
		c.expertFrac = float64(m.ExpertsPerToken) / float64(m.Experts)
		c.expertsPerToken = m.ExpertsPerToken
		c.nonExpertBytes = active - c.expertBytes*c.expertFrac
	} else {
		c.nonExpertBytes = active
	}
	c.layers, c.hidden = m.Layers, m.HiddenSize
	swFrac := 0.0
	if m.Layers > 0 && m.SlidingWindowLayers > 0 && m.SlidingWindowTokens > 0 {
		swFrac = float64(m.SlidingWindowLayers) / float64(m.Layers)
		c.window = m.SlidingWindowTokens
	}
	c.topK = m.SparseAttentionTopK
	attn := m.AttentionFLOPsPerKey
	dec := m.DecodeAttentionFLOPsPerKey
	if dec == 0 {
		dec = attn
	}
	c.attnFull, c.attnSW = attn*(1-swFrac), attn*swFrac
	c.decFull, c.decSW = dec*(1-swFrac), dec*swFrac
	c.idxFLOPs = m.IndexerFLOPsPerKey
	c.kvIdx = m.IndexerBytesPerToken * k.kvScale
	rest := m.KVBytesPerToken*k.kvScale - c.kvIdx
	c.kvFull, c.kvSW = rest*(1-swFrac), rest*swFrac
	kvHeads := m.KVHeads
	if kvHeads <= 0 {
		kvHeads = p
	}
	if ep {
		c.kvShard = 1 / float64(p)
		c.weightShard = 1
	} else {
		c.kvShard = 1 / float64(min(p, kvHeads))
		c.weightShard = 1 / float64(p)
	}
	c.draft, c.draftCost = k.draftTokens, k.draftCost
	return c
}

// capSum returns Σ min(n, cap) for n = lo … hi (cap ≤ 0 means no cap).
func capSum(lo, hi, cap int) float64 {
	if hi < lo {
		return 0
	}
	tri := func(a, b int) float64 { return float64(a+b) * float64(b-a+1) / 2 }
	if cap <= 0 || hi <= cap {
		return tri(lo, hi)
	}
	if lo >= cap {
		return float64(cap) * float64(hi-lo+1)
	}
	return tri(lo, cap) + float64(cap)*float64(hi-cap)
}

// iterationCost is the breakdown of one iteration's modelled time, s, and
// of the work it does on each accelerator of the instance.
type iterationCost struct {
	// GEMM is the weight matmuls: max(weight bytes ÷ bandwidth, matmul
	// FLOPs ÷ tensor rate); Attention the same for KV reads and attention
	// FLOPs; they run as separate kernels, so their times add.
	GEMM, Attention float64
	// Comm is the collectives, Overhead the fixed host and per-layer time,
	// Draft the speculative draft model.
	Comm, Overhead, Draft float64
	// BusyCompute and BusyMemory are the times one accelerator's tensor
	// FLOPs and HBM bytes of the iteration take at the rates its kernels
	// reach (peak × efficiency), s: divided by Total, the fractions of the
	// iteration its tensor cores and its HBM are busy — the utilisations
	// the power model uses.
	BusyCompute, BusyMemory float64
}

// Total is the iteration time, s.
func (c iterationCost) Total() float64 {
	return c.GEMM + c.Attention + c.Comm + c.Overhead + c.Draft
}

// iteration returns the modelled time of one iteration over ws.
func (c *costModel) iteration(ws []work) iterationCost {
	var tokens, attn, kv float64
	var decodeSeqs int
	for _, w := range ws {
		lo, hi := w.ctx+1, w.ctx+w.q // keys attended by the first and last query
		tokens += float64(w.q)
		full, sw := c.attnFull, c.attnSW
		if w.decode {
			full, sw = c.decFull, c.decSW
			decodeSeqs++
		}
		attn += full*capSum(lo, hi, c.topK) + sw*capSum(lo, hi, c.window) + c.idxFLOPs*capSum(lo, hi, 0)
		end := w.ctx + w.q
		kv += c.kvFull*float64(capMin(end, c.topK)) + c.kvSW*float64(capMin(end, c.window)) + c.kvIdx*float64(end)
	}
	if tokens == 0 {
		return iterationCost{}
	}
	p := float64(c.p)
	var ic iterationCost
	gemmFLOPs := 2 * c.activeParams * tokens / p
	weights := c.weightBytes(tokens)
	ic.GEMM = math.Max(weights/c.bw, gemmFLOPs/c.gemmFlops)
	attnFLOPs := attn / p
	kvBytes := kv * c.kvShard
	ic.Attention = math.Max(kvBytes/c.bw, attnFLOPs/c.attnFlops)
	ic.Comm = c.comm(tokens)
	ic.Overhead = c.overhead + c.seqOverhead*float64(len(ws))
	ic.BusyCompute = gemmFLOPs/c.gemmFlops + attnFLOPs/c.attnFlops
	ic.BusyMemory = (weights + kvBytes) / c.bw
	if c.draft > 0 && decodeSeqs > 0 {
		// Each draft token costs a fraction of a decode step over the
		// decoding sequences (weights once, one token each).
		step := c.iteration1(float64(decodeSeqs))
		ic.Draft = float64(c.draft) * c.draftCost * step
	}
	return ic
}

// weightBytes is the weight bytes one accelerator reads in an iteration
// of tokens tokens: its share of the non-expert weights, and of the
// routed experts those tokens touch (uniform routing: each expert is
// touched with probability 1 − (1 − k/E)^tokens).
func (c *costModel) weightBytes(tokens float64) float64 {
	touched := 0.0
	if c.expertBytes > 0 {
		touched = 1 - math.Pow(1-c.expertFrac, tokens)
	}
	return c.nonExpertBytes*c.weightShard + c.expertBytes*touched/float64(c.p)
}

// iteration1 is the roofline time (without overhead and draft) of a plain
// decode step of n sequences at negligible context: the unit the draft cost
// is a fraction of.
func (c *costModel) iteration1(n float64) float64 {
	mem := c.weightBytes(n) / c.bw
	comp := 2 * c.activeParams * n / float64(c.p) / c.gemmFlops
	return math.Max(mem, comp) + c.comm(n)
}

// comm is the collective time of an iteration over tokens tokens: two
// all-reduces per layer under tensor parallelism, or an all-to-all dispatch
// and combine per layer under expert parallelism.
func (c *costModel) comm(tokens float64) float64 {
	if c.p <= 1 || c.layers == 0 {
		return 0
	}
	p := float64(c.p)
	var bytes float64
	if c.ep {
		// Each token's activations go to the ranks of its experts and back;
		// (p−1)/p of them leave the accelerator.
		k := float64(max(c.expertsPerToken, 1))
		bytes = tokens / p * k * float64(c.hidden) * 2 * (p - 1) / p
	} else {
		// Ring all-reduce of the activations: 2(p−1)/p of the message.
		bytes = 2 * (p - 1) / p * tokens * float64(c.hidden) * 2
	}
	return 2 * float64(c.layers) * (c.collLat + bytes/c.linkBW)
}

func capMin(n, cap int) int {
	if cap > 0 && n > cap {
		return cap
	}
	return n
}

// kvBytesPerToken is the KV cache one token of context holds beyond the
// sliding window (the unit of KV capacity), over the instance.
func (c *costModel) kvBytesPerToken() float64 { return c.kvFull + c.kvIdx }
