// Package catalog holds the hardware and model figures shared by the
// simulator and the analysis: accelerator memory, bandwidth, FLOPS, power,
// price and rack size; model sizes and KV-cache footprint. A default catalog
// is embedded; users override or extend it with their own YAML file.
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
	// TDPWatts is the accelerator's thermal design power, W.
	TDPWatts float64 `yaml:"tdp_watts"`
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
	Source               string  `yaml:"source"`
}

// Catalog is a set of hardware and models.
type Catalog struct {
	Hardware []Hardware `yaml:"hardware"`
	Models   []Model    `yaml:"models"`
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
