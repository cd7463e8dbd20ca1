package catalog

import (
	_ "embed"
	"fmt"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

//go:embed catalog.yaml
var defaultYAML []byte

// Hardware describes one accelerator. Figures are per accelerator.
type Hardware struct {
	Name        string   `yaml:"name"`
	Aliases     []string `yaml:"aliases,omitempty"`
	Description string   `yaml:"description,omitempty"`
	// MemoryGB is HBM capacity, GB (10^9 bytes).
	MemoryGB float64 `yaml:"memory_gb"`
	// HBMBandwidthTBps is memory bandwidth, TB/s (10^12 bytes/s).
	HBMBandwidthTBps float64 `yaml:"hbm_bandwidth_tbps"`
	// BF16TFLOPS and FP8TFLOPS are dense tensor throughput, TFLOP/s.
	BF16TFLOPS float64 `yaml:"bf16_dense_tflops"`
	FP8TFLOPS  float64 `yaml:"fp8_dense_tflops"`
	// FP4TFLOPS is dense FP4 tensor throughput, TFLOP/s; 0 means the
	// accelerator has no FP4 tensor cores (FP4 weights are then computed
	// at the FP8 rate).
	FP4TFLOPS float64 `yaml:"fp4_dense_tflops,omitempty"`
	// TDPWatts is the accelerator's thermal design power, W.
	TDPWatts float64 `yaml:"tdp_watts"`
	// IdleWatts is the accelerator's power with nothing running but the
	// model loaded, W; 0 means the power model is not available for it.
	IdleWatts float64 `yaml:"idle_watts,omitempty"`
	// ComputeWatts and MemoryWatts are the power above IdleWatts drawn at
	// 100 % of the dense tensor throughput and 100 % of the HBM bandwidth,
	// W; the simulator's power model adds them in proportion to the
	// utilisation of each and caps the sum at TDPWatts (docs/sim.md).
	ComputeWatts float64 `yaml:"compute_watts,omitempty"`
	MemoryWatts  float64 `yaml:"memory_watts,omitempty"`
	// DollarsPerHour is a typical price of one accelerator-hour, USD.
	DollarsPerHour float64 `yaml:"dollars_per_hour"`
	// AcceleratorsPerRack is how many accelerators one rack holds.
	AcceleratorsPerRack int `yaml:"accelerators_per_rack"`
	// ScaleUpGBps is the per-accelerator, per-direction bandwidth of the
	// scale-up fabric (NVLink, Infinity Fabric), GB/s; used for
	// tensor/expert-parallel collectives inside a scale-up domain.
	ScaleUpGBps float64 `yaml:"scale_up_gbps,omitempty"`
	// ScaleUpDomain is how many accelerators share one scale-up fabric
	// (8 in an HGX board, 72 in an NVL72 rack); 0 means 8.
	ScaleUpDomain int `yaml:"scale_up_domain,omitempty"`
	// ScaleOutGBps is the per-accelerator network bandwidth between
	// scale-up domains (InfiniBand/RoCE), GB/s; 0 means 50 (400 Gb/s).
	ScaleOutGBps float64 `yaml:"scale_out_gbps,omitempty"`
	// ComputeEfficiency and MemoryEfficiency, when non-zero, replace the
	// simulator's default fractions of peak FLOPS and HBM bandwidth that
	// a serving engine reaches on this accelerator (0–1).
	ComputeEfficiency float64 `yaml:"compute_efficiency,omitempty"`
	MemoryEfficiency  float64 `yaml:"memory_efficiency,omitempty"`
	// Source cites the public origin of the figures.
	Source string `yaml:"source"`
}

// Model describes one model's size and KV-cache footprint.
type Model struct {
	Name        string   `yaml:"name"`
	Aliases     []string `yaml:"aliases,omitempty"`
	Description string   `yaml:"description,omitempty"`
	// TotalParamsB and ActiveParamsB are parameter counts, billions; active
	// is per token (MoE).
	TotalParamsB  float64 `yaml:"total_params_b"`
	ActiveParamsB float64 `yaml:"active_params_b"`
	// WeightBytesGB is the size of the served weights, GB.
	WeightBytesGB float64 `yaml:"weight_bytes_gb"`
	Layers        int     `yaml:"layers"`
	// KVBytesPerToken is the KV cache per token over all layers, bytes.
	KVBytesPerToken float64 `yaml:"kv_bytes_per_token"`
	// ContextTokens is the maximum context length, tokens.
	ContextTokens int `yaml:"context_tokens"`

	// The fields below feed the simulator's roofline (docs/sim.md); zero
	// means "not modelled" (a dense model with full attention).

	// HiddenSize is the residual-stream width, the size of the activations
	// that tensor/expert-parallel collectives move per token.
	HiddenSize int `yaml:"hidden_size,omitempty"`
	// KVHeads is the number of KV heads per layer (1 for MLA's shared
	// latent). Tensor parallelism beyond KVHeads replicates the KV cache.
	KVHeads int `yaml:"kv_heads,omitempty"`
	// Experts and ExpertsPerToken are the routed experts per MoE layer and
	// how many each token uses (0 for a dense model).
	Experts         int `yaml:"experts,omitempty"`
	ExpertsPerToken int `yaml:"experts_per_token,omitempty"`
	// ExpertWeightBytesGB is the size of all routed-expert weights, GB.
	ExpertWeightBytesGB float64 `yaml:"expert_weight_bytes_gb,omitempty"`
	// ActiveWeightBytesGB is the weight bytes one token reads (non-expert
	// weights plus its ExpertsPerToken experts per layer), GB.
	ActiveWeightBytesGB float64 `yaml:"active_weight_bytes_gb,omitempty"`
	// AttentionFLOPsPerKey is the attention FLOPs one query token spends
	// per key token it attends to, summed over all layers, in prefill.
	AttentionFLOPsPerKey float64 `yaml:"attention_flops_per_key,omitempty"`
	// DecodeAttentionFLOPsPerKey is the same in decode when the kernel
	// differs (MLA's absorbed form); 0 means AttentionFLOPsPerKey.
	DecodeAttentionFLOPsPerKey float64 `yaml:"decode_attention_flops_per_key,omitempty"`
	// SlidingWindowLayers of Layers attend to at most SlidingWindowTokens
	// previous tokens and keep only that much KV cache.
	SlidingWindowLayers int `yaml:"sliding_window_layers,omitempty"`
	SlidingWindowTokens int `yaml:"sliding_window_tokens,omitempty"`
	// SparseAttentionTopK, when non-zero, caps the keys each query attends
	// to in the full-attention layers (DeepSeek Sparse Attention's top-k).
	SparseAttentionTopK int `yaml:"sparse_attention_top_k,omitempty"`
	// IndexerFLOPsPerKey and IndexerBytesPerToken describe a sparse
	// attention indexer that scores every previous token: FLOPs per
	// (query, key) pair and cached key bytes per token, over all layers.
	// IndexerBytesPerToken is included in KVBytesPerToken.
	IndexerFLOPsPerKey   float64 `yaml:"indexer_flops_per_key,omitempty"`
	IndexerBytesPerToken float64 `yaml:"indexer_bytes_per_token,omitempty"`
	// ComputePrecision is the precision of the weight matmuls as the
	// model is published and served: "fp4", "fp8" or "bf16"; "" means
	// "fp8". It picks the accelerator's tensor rate (FP4 falls back to FP8
	// on accelerators without FP4 tensor cores).
	ComputePrecision string `yaml:"compute_precision,omitempty"`
	// KVCacheDtype is the element type KVBytesPerToken is counted in,
	// "bf16" or "fp8"; "" means "bf16". A deployment that stores KV in
	// another type scales the bytes by the ratio of element sizes.
	KVCacheDtype string `yaml:"kv_cache_dtype,omitempty"`
	// MTPDraftTokens is the number of draft tokens the model's own
	// multi-token-prediction heads propose per step in its published
	// serving configurations (0: no MTP), MTPAcceptance the probability
	// each draft token is accepted given the previous one was (0–1), and
	// MTPEngines the engines (catalog names) whose published recipes for
	// the model turn MTP on, so the simulator does too by default.
	MTPDraftTokens int      `yaml:"mtp_draft_tokens,omitempty"`
	MTPAcceptance  float64  `yaml:"mtp_acceptance,omitempty"`
	MTPEngines     []string `yaml:"mtp_engines,omitempty"`
	Source         string   `yaml:"source"`
}

// Engine is a serving engine's profile (vLLM, SGLang, TensorRT-LLM): the
// fixed costs of its loop and, per hardware, the fitted kernel
// efficiencies the simulator uses. Zero values mean the simulator's
// defaults (docs/sim.md).
type Engine struct {
	Name        string   `yaml:"name"`
	Aliases     []string `yaml:"aliases,omitempty"`
	Description string   `yaml:"description,omitempty"`
	// StepOverheadUs is the host time of one engine iteration (scheduling,
	// sampling, input preparation) not hidden behind the GPU, µs.
	StepOverheadUs float64 `yaml:"step_overhead_us"`
	// SequenceOverheadUs is the additional host time per running
	// sequence per iteration, µs.
	SequenceOverheadUs float64 `yaml:"sequence_overhead_us"`
	// RequestLatencyMs is the time from a request reaching the server to
	// it reaching the scheduler, plus the first token's way back (HTTP,
	// tokenisation, detokenisation), ms.
	RequestLatencyMs float64 `yaml:"request_latency_ms"`
	// MaxBatchTokens is the default token budget of one iteration
	// (chunked-prefill chunk), tokens; 0 means the simulator's default.
	MaxBatchTokens int `yaml:"max_batch_tokens,omitempty"`
	// Hardware lists the per-hardware fits; hardware not listed uses the
	// entry whose Hardware list holds "*", else the Fallback engine's fit.
	Hardware []EngineHardware `yaml:"hardware,omitempty"`
	// Fallback names the engine whose hardware fits apply where this one
	// has none (an engine without public runs on that hardware).
	Fallback string `yaml:"fallback,omitempty"`
	Source   string `yaml:"source"`
}

// EngineHardware is an engine's fitted behaviour on some accelerators.
type EngineHardware struct {
	// Hardware names the accelerators (catalog names) the fit applies to;
	// "*" matches any accelerator without an entry of its own.
	Hardware []string `yaml:"hardware"`
	// LayerOverheadUs is the fixed time each model layer adds to an
	// iteration (latency-bound small kernels), µs.
	LayerOverheadUs float64 `yaml:"layer_overhead_us"`
	// CollectiveLatencyUs is the fixed time of one all-reduce or
	// all-to-all between the accelerators of an instance, µs.
	CollectiveLatencyUs float64 `yaml:"collective_latency_us"`
	// RequestLatencyMs, when non-zero, replaces the engine's request
	// latency on these accelerators (the host they come with), ms.
	RequestLatencyMs float64 `yaml:"request_latency_ms,omitempty"`
	// ComputeEfficiency and MemoryEfficiency are the fractions of peak
	// tensor throughput and HBM bandwidth the engine's kernels reach (0–1).
	ComputeEfficiency float64 `yaml:"compute_efficiency"`
	MemoryEfficiency  float64 `yaml:"memory_efficiency"`
	// SoftwareEfficiency, when non-zero, multiplies both efficiencies: the
	// vendor software stack's shortfall where measurements show one (0–1).
	SoftwareEfficiency float64 `yaml:"software_efficiency,omitempty"`
	Source             string  `yaml:"source"`
}

// Catalog is a set of hardware, models and serving engines.
type Catalog struct {
	Hardware []Hardware `yaml:"hardware"`
	Models   []Model    `yaml:"models"`
	Engines  []Engine   `yaml:"engines,omitempty"`
}

// Default returns the embedded catalog.
func Default() *Catalog {
	c, err := parse(defaultYAML, "embedded catalog")
	if err != nil {
		panic(err)
	}
	return c
}

func parse(data []byte, name string) (*Catalog, error) {
	var c Catalog
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &c, c.validate(name)
}

func (c *Catalog) validate(name string) error {
	for _, h := range c.Hardware {
		if h.Name == "" {
			return fmt.Errorf("%s: a hardware entry has no name", name)
		}
	}
	for _, m := range c.Models {
		if m.Name == "" {
			return fmt.Errorf("%s: a model entry has no name", name)
		}
		switch m.ComputePrecision {
		case "", "fp4", "fp8", "bf16":
		default:
			return fmt.Errorf("%s: model %s: compute_precision %q must be fp4, fp8 or bf16", name, m.Name, m.ComputePrecision)
		}
		switch m.KVCacheDtype {
		case "", "fp8", "bf16":
		default:
			return fmt.Errorf("%s: model %s: kv_cache_dtype %q must be bf16 or fp8", name, m.Name, m.KVCacheDtype)
		}
	}
	for _, e := range c.Engines {
		if e.Name == "" {
			return fmt.Errorf("%s: an engine entry has no name", name)
		}
		for _, h := range e.Hardware {
			if len(h.Hardware) == 0 {
				return fmt.Errorf("%s: engine %s: a hardware fit names no hardware", name, e.Name)
			}
			if h.ComputeEfficiency < 0 || h.ComputeEfficiency > 1 || h.MemoryEfficiency < 0 || h.MemoryEfficiency > 1 || h.SoftwareEfficiency < 0 || h.SoftwareEfficiency > 1 {
				return fmt.Errorf("%s: engine %s: efficiencies must be in [0, 1]", name, e.Name)
			}
		}
	}
	return nil
}

// Load returns the default catalog overlaid with the YAML file at path (same
// layout as the embedded catalog.yaml): entries whose name matches replace
// the default entry, others are added. An empty path returns the default.
func Load(path string) (*Catalog, error) {
	c := Default()
	if path == "" {
		return c, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	user, err := parse(data, path)
	if err != nil {
		return nil, err
	}
	for _, h := range user.Hardware {
		if i := c.hardwareIndex(h.Name); i >= 0 {
			c.Hardware[i] = h
		} else {
			c.Hardware = append(c.Hardware, h)
		}
	}
	for _, m := range user.Models {
		if i := c.modelIndex(m.Name); i >= 0 {
			c.Models[i] = m
		} else {
			c.Models = append(c.Models, m)
		}
	}
	for _, e := range user.Engines {
		if i := c.engineIndex(e.Name); i >= 0 {
			c.Engines[i] = e
		} else {
			c.Engines = append(c.Engines, e)
		}
	}
	return c, nil
}

func match(name string, canonical string, aliases []string) bool {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == strings.ToLower(canonical) {
		return true
	}
	for _, a := range aliases {
		if name == strings.ToLower(a) {
			return true
		}
	}
	return false
}

func (c *Catalog) hardwareIndex(name string) int {
	for i, h := range c.Hardware {
		if match(name, h.Name, h.Aliases) {
			return i
		}
	}
	return -1
}

func (c *Catalog) modelIndex(name string) int {
	for i, m := range c.Models {
		if match(name, m.Name, m.Aliases) {
			return i
		}
	}
	return -1
}

func (c *Catalog) engineIndex(name string) int {
	for i, e := range c.Engines {
		if match(name, e.Name, e.Aliases) {
			return i
		}
	}
	return -1
}

// FindEngine returns the serving engine named name (or an alias), or an
// error listing the known names.
func (c *Catalog) FindEngine(name string) (*Engine, error) {
	if i := c.engineIndex(name); i >= 0 {
		return &c.Engines[i], nil
	}
	var names []string
	for _, e := range c.Engines {
		names = append(names, e.Name)
	}
	sort.Strings(names)
	return nil, fmt.Errorf("unknown engine %q (known: %s; add your own with --catalog FILE)", name, strings.Join(names, ", "))
}

// MTPDefault reports whether engine serves m with its MTP heads by
// default (m.MTPEngines names it).
func (m *Model) MTPDefault(engine string) bool {
	if m.MTPDraftTokens <= 0 {
		return false
	}
	for _, e := range m.MTPEngines {
		if strings.EqualFold(e, engine) {
			return true
		}
	}
	return false
}

// HardwareFit returns engine e's fit for the hardware named hw (its
// canonical catalog name): its own (ForHardware), else its Fallback
// engine's, else nil.
func (c *Catalog) HardwareFit(e *Engine, hw string) *EngineHardware {
	for seen := 0; e != nil && seen < len(c.Engines)+1; seen++ {
		if f := e.ForHardware(hw); f != nil {
			return f
		}
		if e.Fallback == "" {
			return nil
		}
		i := c.engineIndex(e.Fallback)
		if i < 0 {
			return nil
		}
		e = &c.Engines[i]
	}
	return nil
}

// ForHardware returns the engine's fit for the hardware named hw (its
// canonical catalog name), the "*" fit when hw has none, or nil.
func (e *Engine) ForHardware(hw string) *EngineHardware {
	var wild *EngineHardware
	for i := range e.Hardware {
		for _, n := range e.Hardware[i].Hardware {
			if strings.EqualFold(n, hw) {
				return &e.Hardware[i]
			}
			if n == "*" && wild == nil {
				wild = &e.Hardware[i]
			}
		}
	}
	return wild
}

// FindHardware returns the hardware named name (or an alias), or an error
// listing the known names.
func (c *Catalog) FindHardware(name string) (*Hardware, error) {
	if i := c.hardwareIndex(name); i >= 0 {
		return &c.Hardware[i], nil
	}
	var names []string
	for _, h := range c.Hardware {
		names = append(names, h.Name)
	}
	sort.Strings(names)
	return nil, fmt.Errorf("unknown hardware %q (known: %s; add your own with --catalog FILE)", name, strings.Join(names, ", "))
}

// FindModel returns the model named name (or an alias), or an error listing
// the known names.
func (c *Catalog) FindModel(name string) (*Model, error) {
	if i := c.modelIndex(name); i >= 0 {
		return &c.Models[i], nil
	}
	var names []string
	for _, m := range c.Models {
		names = append(names, m.Name)
	}
	sort.Strings(names)
	return nil, fmt.Errorf("unknown model %q (known: %s; add your own with --catalog FILE)", name, strings.Join(names, ", "))
}
