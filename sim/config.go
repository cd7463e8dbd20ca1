package sim

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/agentperf/agentperf/catalog"
)

// Defaults of the engine knobs; docs/sim.md gives the source of each.
// Where the catalog's engine profile or its hardware fit gives a value,
// that value wins over these.
const (
	DefaultHardware          = "h100"
	DefaultModel             = "gpt-oss-120b"
	DefaultEngine            = "vllm"
	DefaultMaxBatch          = 1024 // vLLM max_num_seqs default
	DefaultMaxBatchTokens    = 8192 // vLLM max_num_batched_tokens default for online serving
	DefaultMemoryUtilization = 0.9  // vLLM gpu_memory_utilization default
	DefaultComputeEfficiency = 0.15
	DefaultMemoryEfficiency  = 0.65
	DefaultIterationOverhead = 1000 * time.Microsecond
	DefaultLayerOverhead     = 60 * time.Microsecond
	DefaultCollectiveLatency = 12 * time.Microsecond
	DefaultSpecAcceptance    = 0.7
	DefaultSpecDraftCost     = 0.05
	DefaultOutputMedian      = 150
	DefaultOutputSigma       = 1.57 // lognormal σ: P95 ≈ 2,000 tokens when the median is 150
	DefaultToolCallRate      = 0.5
	DefaultMaxRequestBytes   = 64 << 20
	DefaultKVTransferLatency = 200 * time.Microsecond
)

// Config describes one simulated deployment: a model on accelerators, the
// serving engine's knobs, and how simulated time maps to wall time. The
// zero value of every field means its default.
type Config struct {
	// Hardware is a catalog hardware name; "" means "h100".
	Hardware string
	// Model is a catalog model name; "" means "gpt-oss-120b".
	Model string
	// Engine is a catalog serving-engine profile ("vllm", "sglang",
	// "trtllm"): the fixed costs of its loop and its fitted kernel
	// efficiencies on Hardware; "" means "vllm".
	Engine string
	// Accelerators is the total number of accelerators; 0 means one engine
	// instance of the smallest power-of-two count whose memory holds the
	// weights with room for one full context of KV cache.
	Accelerators int
	// TimeScale K makes simulated time run K× faster than wall time; 0
	// means 1 (real time).
	TimeScale float64
	// Seed makes output lengths, tool-call choices and speculative
	// acceptance reproducible.
	Seed int64
	// Catalog supplies hardware and model figures; nil means
	// catalog.Default().
	Catalog *catalog.Catalog
	// Logger receives start-up and error messages; nil discards them.
	Logger *slog.Logger

	// TP is the number of accelerators per engine instance (tensor- or
	// expert-parallel degree); Accelerators/TP instances run side by side
	// (data parallel) behind a cache-aware router. 0 means the smallest
	// power of two that fits (see Accelerators).
	TP int
	// ExpertParallel spreads MoE experts over the instance's accelerators
	// with data-parallel attention (DeepSeek-style wide EP) instead of
	// tensor parallelism everywhere.
	ExpertParallel bool
	// MaxBatch is the most sequences one instance runs per iteration
	// (vLLM max_num_seqs); 0 means 1024.
	MaxBatch int
	// MaxBatchTokens is the token budget of one iteration, which is also
	// the chunked-prefill chunk (vLLM max_num_batched_tokens); 0 means the
	// engine profile's, else 8192.
	MaxBatchTokens int
	// DisableChunkedPrefill prefills each prompt in one piece.
	DisableChunkedPrefill bool
	// DisablePrefixCache turns off reuse of cached 512-token prompt blocks.
	DisablePrefixCache bool
	// MemoryUtilization is the fraction of accelerator memory the engine
	// may use for weights and KV cache; 0 means 0.9.
	MemoryUtilization float64
	// ComputeEfficiency and MemoryEfficiency are the fractions of peak
	// tensor throughput (at the model's compute precision) and HBM
	// bandwidth reached; 0 means the engine's fit for the hardware, else
	// the catalog hardware's value, else 0.15 and 0.65 (docs/sim.md:
	// calibration).
	ComputeEfficiency, MemoryEfficiency float64
	// IterationOverhead is the fixed host time of each iteration
	// (scheduling, sampling), simulated; 0 means the engine's, else 1 ms;
	// negative means none.
	IterationOverhead time.Duration
	// LayerOverhead is the fixed time each model layer adds to an
	// iteration (kernel launches and latency-bound small kernels),
	// simulated; 0 means the engine's fit for the hardware, else 60 µs;
	// negative means none.
	LayerOverhead time.Duration
	// SequenceOverhead is the host time each running sequence adds to an
	// iteration, simulated; 0 means the engine's; negative means none.
	SequenceOverhead time.Duration
	// RequestLatency is the time between a request's arrival and its
	// admission to the scheduler (HTTP, tokenisation and the first
	// token's way out, counted in TTFT), simulated; 0 means the engine's;
	// negative means none.
	RequestLatency time.Duration
	// CollectiveLatency is the fixed time of one all-reduce or all-to-all,
	// simulated; 0 means the engine's fit for the hardware, else 12 µs.
	CollectiveLatency time.Duration
	// KVCacheDtype stores the KV cache as "bf16" or "fp8"; "" means the
	// model's catalog figure as it stands.
	KVCacheDtype string
	// SpecDraftTokens enables speculative decoding with this many draft
	// tokens per step; 0 means the model's MTP heads when the engine
	// serves them by default (catalog), else off; negative means off.
	SpecDraftTokens int
	// SpecAcceptance is the probability each draft token is accepted
	// (given the previous one was); 0 means the model's MTP acceptance
	// when it has one, else 0.7.
	SpecAcceptance float64
	// SpecDraftCost is one draft token's cost as a fraction of a target
	// decode step; 0 means 0.05.
	SpecDraftCost float64
	// PrefillAccelerators, when non-zero, disaggregates prefill: that many
	// of the Accelerators form prefill-only instances (TP each) and the
	// rest decode-only instances; KV moves between them.
	PrefillAccelerators int
	// KVTransferGBps is the prefill→decode KV transfer bandwidth per
	// request, GB/s; 0 means the hardware's scale-out bandwidth.
	KVTransferGBps float64
	// OutputMedianTokens and OutputSigma shape the lognormal output length
	// of requests that do not pin it; 0 means 150 and 1.57.
	OutputMedianTokens int
	OutputSigma        float64
	// ToolCallRate is the fraction of requests that offer tools (with
	// tool_choice auto) answered with a tool call; 0 means 0.5, negative
	// means never.
	ToolCallRate float64
	// CoalesceTokens sends all tokens a stream has pending as one SSE event
	// instead of one event per token.
	CoalesceTokens bool
	// StreamInterval is how many new tokens a stream waits for before it
	// writes (the first token and the last always go out at once), like
	// SGLang's --stream-interval; 0 means 1, every engine iteration.
	StreamInterval int
	// MaxRequestBytes bounds a request body; 0 means 64 MiB.
	MaxRequestBytes int64
}

// knobs are the resolved numeric knobs of the cost model.
type knobs struct {
	computeEff, memoryEff float64
	overhead              float64 // seconds per iteration
	layerOverhead         float64 // seconds per layer per iteration
	seqOverhead           float64 // seconds per running sequence per iteration
	requestLatency        float64 // seconds from arrival to admission
	collectiveLatency     float64 // seconds
	draftTokens           int
	acceptance            float64
	draftCost             float64
	gemmTFLOPS            float64 // peak dense rate of the weight matmuls, TFLOP/s
	attnTFLOPS            float64 // peak dense rate of attention (BF16), TFLOP/s
	kvScale               float64 // KV bytes as stored ÷ the catalog figure
}

// Plan is a resolved deployment: the catalog entries and every default
// filled in. It is what /metrics and docs report.
type Plan struct {
	Hardware *catalog.Hardware
	Model    *catalog.Model
	// Engine is the serving-engine profile, or nil when the catalog has
	// none of that name and only defaults apply.
	Engine *catalog.Engine
	// Accelerators = TP × (Instances + PrefillInstances).
	Accelerators, TP            int
	Instances, PrefillInstances int
	ExpertParallel              bool
	// KVTokens is the KV capacity of one instance, tokens.
	KVTokens int
	// ContextTokens is the longest prompt+output accepted: the model's
	// limit, or less when an instance cannot hold that much KV.
	ContextTokens int
	TimeScale     float64

	cfg   Config
	knobs knobs
	cost  costModel // one instance
}

func (c Config) withDefaults() Config {
	if c.Hardware == "" {
		c.Hardware = DefaultHardware
	}
	if c.Model == "" {
		c.Model = DefaultModel
	}
	if c.Engine == "" {
		c.Engine = DefaultEngine
	}
	if c.TimeScale == 0 {
		c.TimeScale = 1
	}
	if c.Catalog == nil {
		c.Catalog = catalog.Default()
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = DefaultMaxBatch
	}
	if c.MemoryUtilization == 0 {
		c.MemoryUtilization = DefaultMemoryUtilization
	}
	if c.SpecDraftCost == 0 {
		c.SpecDraftCost = DefaultSpecDraftCost
	}
	if c.OutputMedianTokens == 0 {
		c.OutputMedianTokens = DefaultOutputMedian
	}
	if c.OutputSigma == 0 {
		c.OutputSigma = DefaultOutputSigma
	}
	if c.ToolCallRate == 0 {
		c.ToolCallRate = DefaultToolCallRate
	}
	if c.MaxRequestBytes == 0 {
		c.MaxRequestBytes = DefaultMaxRequestBytes
	}
	return c
}

// Resolve validates cfg against its catalog and fills in every default.
func Resolve(cfg Config) (*Plan, error) {
	cfg = cfg.withDefaults()
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if cfg.TimeScale < 0 || math.IsNaN(cfg.TimeScale) || math.IsInf(cfg.TimeScale, 0) {
		bad("time scale %v: must be a positive number", cfg.TimeScale)
	}
	if cfg.Accelerators < 0 || cfg.TP < 0 || cfg.PrefillAccelerators < 0 {
		bad("accelerators, TP and prefill accelerators must not be negative")
	}
	if cfg.MaxBatch < 0 || cfg.MaxBatchTokens < 0 {
		bad("max batch and max batch tokens must not be negative")
	}
	if cfg.MemoryUtilization < 0 || cfg.MemoryUtilization > 1 {
		bad("memory utilization %v: must be in (0, 1]", cfg.MemoryUtilization)
	}
	if cfg.ComputeEfficiency < 0 || cfg.ComputeEfficiency > 1 || cfg.MemoryEfficiency < 0 || cfg.MemoryEfficiency > 1 {
		bad("efficiencies must be in (0, 1]")
	}
	if cfg.SpecDraftTokens > 16 {
		bad("speculative draft tokens %d: must be at most 16", cfg.SpecDraftTokens)
	}
	switch cfg.KVCacheDtype {
	case "", "bf16", "fp8":
	default:
		bad("KV cache dtype %q: must be bf16 or fp8", cfg.KVCacheDtype)
	}
	if cfg.SpecAcceptance < 0 || cfg.SpecAcceptance >= 1 {
		bad("speculative acceptance %v: must be in (0, 1)", cfg.SpecAcceptance)
	}
	if cfg.StreamInterval < 0 {
		bad("stream interval %d: must not be negative", cfg.StreamInterval)
	}
	if cfg.SpecDraftCost < 0 || cfg.OutputSigma < 0 || cfg.OutputMedianTokens < 0 || cfg.KVTransferGBps < 0 || cfg.ToolCallRate > 1 {
		bad("draft cost, output shape and KV transfer bandwidth must not be negative; tool-call rate ≤ 1")
	}
	if cfg.CollectiveLatency < 0 {
		bad("collective latency must not be negative")
	}
	hw, err := cfg.Catalog.FindHardware(cfg.Hardware)
	if err != nil {
		errs = append(errs, err)
	}
	m, err := cfg.Catalog.FindModel(cfg.Model)
	if err != nil {
		errs = append(errs, err)
	}
	var eng *catalog.Engine
	if len(cfg.Catalog.Engines) > 0 {
		if eng, err = cfg.Catalog.FindEngine(cfg.Engine); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if hw.MemoryGB <= 0 || hw.HBMBandwidthTBps <= 0 || hw.FP8TFLOPS <= 0 {
		return nil, fmt.Errorf("hardware %s: memory_gb, hbm_bandwidth_tbps and fp8_dense_tflops must be positive", hw.Name)
	}
	if m.WeightBytesGB <= 0 || m.ActiveParamsB <= 0 || m.TotalParamsB <= 0 || m.KVBytesPerToken <= 0 || m.ContextTokens <= 0 {
		return nil, fmt.Errorf("model %s: weight_bytes_gb, active_params_b, total_params_b, kv_bytes_per_token and context_tokens must be positive", m.Name)
	}

	if cfg.MaxBatchTokens == 0 {
		cfg.MaxBatchTokens = DefaultMaxBatchTokens
		if eng != nil && eng.MaxBatchTokens > 0 {
			cfg.MaxBatchTokens = eng.MaxBatchTokens
		}
	}
	k := resolveKnobs(cfg, hw, m, eng)
	p := &Plan{Hardware: hw, Model: m, Engine: eng, cfg: cfg, knobs: k, TimeScale: cfg.TimeScale, ExpertParallel: cfg.ExpertParallel}

	tp := cfg.TP
	if tp == 0 {
		limit := cfg.Accelerators
		if limit == 0 {
			limit = 1 << 12
		}
		for t := 1; t <= limit; t *= 2 {
			if p.kvTokens(t) >= m.ContextTokens {
				tp = t
				break
			}
		}
		if tp == 0 {
			if cfg.Accelerators > 0 && p.kvTokens(cfg.Accelerators) > 0 {
				tp = cfg.Accelerators
			} else {
				return nil, fmt.Errorf("%s (%.0f GB of weights) does not fit on %d × %s with KV room; give more --accelerators", m.Name, m.WeightBytesGB, max(cfg.Accelerators, 1), hw.Name)
			}
		}
	}
	acc := cfg.Accelerators
	if acc == 0 {
		acc = tp
		if cfg.PrefillAccelerators > 0 {
			acc += cfg.PrefillAccelerators
		}
	}
	p.TP, p.Accelerators = tp, acc
	if acc%tp != 0 {
		return nil, fmt.Errorf("%d accelerators are not a multiple of the %d per instance (TP)", acc, tp)
	}
	if cfg.PrefillAccelerators > 0 {
		if cfg.PrefillAccelerators%tp != 0 || cfg.PrefillAccelerators >= acc {
			return nil, fmt.Errorf("prefill accelerators %d: must be a multiple of TP %d and fewer than the %d accelerators", cfg.PrefillAccelerators, tp, acc)
		}
		p.PrefillInstances = cfg.PrefillAccelerators / tp
	}
	p.Instances = acc/tp - p.PrefillInstances
	p.KVTokens = p.kvTokens(tp)
	if p.KVTokens < 2*BlockTokens {
		return nil, fmt.Errorf("%s on %d × %s leaves no room for KV cache (%.0f GB of weights, %.0f GB × %.2f of memory); raise --tp or --accelerators", m.Name, tp, hw.Name, m.WeightBytesGB, hw.MemoryGB*float64(tp), cfg.MemoryUtilization)
	}
	perSeq := p.KVTokens // the most KV one sequence can hold
	if cfg.ExpertParallel {
		perSeq /= tp // data-parallel attention: a sequence lives on one rank
	}
	p.ContextTokens = min(m.ContextTokens, perSeq-p.windowTokens())
	if p.ContextTokens < BlockTokens {
		return nil, fmt.Errorf("%s on %d × %s holds only %d tokens of KV per sequence; raise --tp or --accelerators", m.Name, tp, hw.Name, perSeq)
	}
	p.cost = newCostModel(hw, m, tp, cfg.ExpertParallel, k)
	return p, nil
}

// EngineName is the name of the plan's engine profile ("defaults" when
// the catalog has none).
func (p *Plan) EngineName() string {
	if p.Engine == nil {
		return "defaults"
	}
	return p.Engine.Name
}

// SpecDraftTokens is the number of speculative draft tokens per decode
// step the plan runs with (0: off), and SpecAcceptance their acceptance.
func (p *Plan) SpecDraftTokens() (tokens int, acceptance float64) {
	return p.knobs.draftTokens, p.knobs.acceptance
}

// resolveKnobs fills every cost-model knob: the Config's value when set,
// else the engine profile's (its fit for hw), else the hardware catalog's,
// else the package default.
func resolveKnobs(cfg Config, hw *catalog.Hardware, m *catalog.Model, eng *catalog.Engine) knobs {
	var ehw catalog.EngineHardware
	var e catalog.Engine
	if eng != nil {
		e = *eng
		if f := cfg.Catalog.HardwareFit(eng, hw.Name); f != nil {
			ehw = *f
		}
	}
	soft := ehw.SoftwareEfficiency
	if soft <= 0 {
		soft = 1
	}
	us := func(v float64) float64 { return v * 1e-6 }
	k := knobs{
		computeEff:        pick(cfg.ComputeEfficiency, ehw.ComputeEfficiency*soft, hw.ComputeEfficiency, DefaultComputeEfficiency),
		memoryEff:         pick(cfg.MemoryEfficiency, ehw.MemoryEfficiency*soft, hw.MemoryEfficiency, DefaultMemoryEfficiency),
		overhead:          duration(cfg.IterationOverhead, us(e.StepOverheadUs), DefaultIterationOverhead.Seconds(), eng != nil),
		layerOverhead:     duration(cfg.LayerOverhead, us(ehw.LayerOverheadUs), DefaultLayerOverhead.Seconds(), ehw.Hardware != nil),
		seqOverhead:       duration(cfg.SequenceOverhead, us(e.SequenceOverheadUs), 0, true),
		requestLatency:    duration(cfg.RequestLatency, pick(ehw.RequestLatencyMs, e.RequestLatencyMs)*1e-3, 0, true),
		collectiveLatency: pick(cfg.CollectiveLatency.Seconds(), us(ehw.CollectiveLatencyUs), DefaultCollectiveLatency.Seconds()),
		draftCost:         cfg.SpecDraftCost,
		gemmTFLOPS:        tensorTFLOPS(hw, m.ComputePrecision),
		attnTFLOPS:        pick(hw.BF16TFLOPS, hw.FP8TFLOPS/2),
		kvScale:           1,
	}
	switch {
	case cfg.SpecDraftTokens > 0:
		k.draftTokens = cfg.SpecDraftTokens
	case cfg.SpecDraftTokens == 0 && eng != nil && m.MTPDefault(eng.Name):
		k.draftTokens = m.MTPDraftTokens
	}
	k.acceptance = pick(cfg.SpecAcceptance, m.MTPAcceptance, DefaultSpecAcceptance)
	if cfg.KVCacheDtype != "" {
		k.kvScale = dtypeBytes(cfg.KVCacheDtype) / dtypeBytes(m.KVCacheDtype)
	}
	return k
}

// duration resolves an overhead: the Config's when set (negative means
// none), else the profile's when the profile is known (have), else def.
func duration(cfg time.Duration, profile, def float64, have bool) float64 {
	switch {
	case cfg < 0:
		return 0
	case cfg > 0:
		return cfg.Seconds()
	case have:
		return profile
	}
	return def
}

// tensorTFLOPS is hw's dense tensor rate at precision ("" = fp8): FP4
// without FP4 tensor cores runs at the FP8 rate, FP8 without FP8 at BF16.
func tensorTFLOPS(hw *catalog.Hardware, precision string) float64 {
	switch precision {
	case "fp4":
		return pick(hw.FP4TFLOPS, hw.FP8TFLOPS, hw.BF16TFLOPS)
	case "bf16":
		return pick(hw.BF16TFLOPS, hw.FP8TFLOPS/2)
	}
	return pick(hw.FP8TFLOPS, hw.BF16TFLOPS)
}

// dtypeBytes is the size of one KV element of dtype ("" = bf16), bytes.
func dtypeBytes(dtype string) float64 {
	if dtype == "fp8" {
		return 1
	}
	return 2
}

func pick(vals ...float64) float64 {
	for _, v := range vals {
		if v > 0 {
			return v
		}
	}
	return 0
}

// kvTokens is the KV capacity in tokens of an instance of t accelerators:
// the memory left after the weights, divided by the KV bytes per token one
// accelerator holds.
func (p *Plan) kvTokens(t int) int {
	hw, m := p.Hardware, p.Model
	mem := hw.MemoryGB * 1e9 * p.cfg.MemoryUtilization
	weights := m.WeightBytesGB * 1e9
	var perAcc float64 // weight bytes per accelerator
	if p.cfg.ExpertParallel && m.ExpertWeightBytesGB > 0 {
		perAcc = (weights - m.ExpertWeightBytesGB*1e9) + m.ExpertWeightBytesGB*1e9/float64(t)
	} else {
		perAcc = weights / float64(t)
	}
	free := mem - perAcc
	if free <= 0 {
		return 0
	}
	kv := m.KVBytesPerToken * p.knobs.kvScale
	idx := m.IndexerBytesPerToken * p.knobs.kvScale
	swFrac := 0.0
	if m.Layers > 0 && m.SlidingWindowTokens > 0 {
		swFrac = float64(m.SlidingWindowLayers) / float64(m.Layers)
	}
	perToken := (kv-idx)*(1-swFrac) + idx
	if p.cfg.ExpertParallel {
		// Data-parallel attention: each accelerator holds its own
		// sequences' KV.
		return int(free * float64(t) / perToken)
	}
	heads := m.KVHeads
	if heads <= 0 {
		heads = t
	}
	// Tensor parallelism splits KV heads; beyond the KV head count each
	// accelerator holds a full copy of its heads' share.
	return int(free * float64(min(t, heads)) / perToken)
}

// windowTokens is the sliding-window KV one sequence holds, in units of
// full-context KV tokens (charged once per running sequence).
func (p *Plan) windowTokens() int {
	m := p.Model
	if m.Layers == 0 || m.SlidingWindowTokens == 0 || m.SlidingWindowLayers == 0 {
		return 0
	}
	swFrac := float64(m.SlidingWindowLayers) / float64(m.Layers)
	kv, idx := m.KVBytesPerToken*p.knobs.kvScale, m.IndexerBytesPerToken*p.knobs.kvScale
	sw := (kv - idx) * swFrac * float64(m.SlidingWindowTokens)
	perToken := (kv-idx)*(1-swFrac) + idx
	return int(math.Ceil(sw / perToken))
}

// kvTransferSeconds is the time to move ctx tokens of KV from a prefill to
// a decode instance.
func (p *Plan) kvTransferSeconds(ctx int) float64 {
	bw := p.cfg.KVTransferGBps * 1e9
	if bw == 0 {
		bw = p.Hardware.ScaleOutGBps * 1e9
		if bw == 0 {
			bw = 50e9
		}
		bw *= float64(p.TP) // every accelerator of the instance sends its share
	}
	bytes := p.Model.KVBytesPerToken * p.knobs.kvScale * float64(ctx)
	return DefaultKVTransferLatency.Seconds() + bytes/bw
}
