package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/agentperf/agentperf/catalog"
	"github.com/agentperf/agentperf/sim"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
		Name:      "sim",
		Usage:     "run a simulated GPU inference server (OpenAI and Anthropic APIs)",
		ArgsUsage: " ",
		Description: `sim serves /v1/chat/completions, /v1/responses and /v1/messages (streaming
and not), /v1/models, /health and /metrics. Token timing comes from a model of
a continuous-batching serving engine (chunked prefill, prefix cache over
512-token blocks, KV-cache capacity, tensor/expert parallelism, speculative
decoding, disaggregated prefill) whose iteration times follow a roofline of
the catalog's accelerator and model figures (see docs/sim.md).

Any model name in a request is accepted and answered with the timing of
--model. Output length: ignore_eos pins it to max_tokens (vLLM/SGLang
extensions ignore_eos and min_tokens work on all three APIs); otherwise it is
drawn from a seeded lognormal (median 150 tokens).

--time-scale K runs simulated time K times faster than wall time; every
response carries the header X-Agentperf-Time-Scale: K and /metrics the gauge
agentperf_sim_time_scale. Multiply measured durations by K to get simulated
ones.

Examples:
   agentperf sim
   agentperf sim --listen 127.0.0.1:8000 --hardware b200 --model deepseek-v3.2 --accelerators 8
   agentperf sim --hardware h200 --accelerators 8 --tp 1 --spec-draft-tokens 3 --spec-acceptance 0.75
   agentperf sim --hardware gb300-nvl72 --model deepseek-v4-pro --accelerators 8 --engine trtllm
   agentperf sim --hardware h100 --accelerators 16 --prefill-accelerators 4 --time-scale 10
   agentperf sim --catalog my-hardware.yaml --hardware my-chip`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:8000", Usage: "`ADDR` to listen on (loopback by default)"},
			&cli.StringFlag{Name: "hardware", Value: sim.DefaultHardware, Usage: "accelerator `NAME` from the catalog"},
			&cli.StringFlag{Name: "model", Value: sim.DefaultModel, Usage: "model `NAME` from the catalog"},
			&cli.StringFlag{Name: "engine", Value: sim.DefaultEngine, Usage: "serving-engine profile `NAME` from the catalog (vllm, sglang, trtllm): loop overheads, fitted efficiencies, MTP default"},
			&cli.IntFlag{Name: "accelerators", Usage: "total accelerators (default: the smallest power of two that holds the model with KV room)"},
			&cli.IntFlag{Name: "tp", Usage: "accelerators per engine instance; accelerators/tp instances run data-parallel (default: smallest that fits)"},
			&cli.BoolFlag{Name: "expert-parallel", Usage: "MoE experts across the instance with data-parallel attention (instead of tensor parallelism)"},
			&cli.Float64Flag{Name: "time-scale", Value: 1, Usage: "simulated time runs `K` times faster than wall time"},
			&cli.Int64Flag{Name: "seed", Value: 1, Usage: "seed of output lengths, tool calls and speculative acceptance"},
			&cli.StringFlag{Name: "catalog", Usage: "YAML `FILE` overlaying the embedded hardware/model catalog"},
			&cli.IntFlag{Name: "max-batch", Value: sim.DefaultMaxBatch, Usage: "most sequences per instance per iteration (vLLM max_num_seqs)"},
			&cli.IntFlag{Name: "max-batch-tokens", Usage: "token budget per iteration = chunked-prefill chunk, tokens (default: the engine's, else 8192)"},
			&cli.BoolFlag{Name: "no-chunked-prefill", Usage: "prefill each prompt in one piece"},
			&cli.BoolFlag{Name: "no-prefix-cache", Usage: "disable reuse of cached 512-token prompt blocks"},
			&cli.Float64Flag{Name: "memory-utilization", Value: sim.DefaultMemoryUtilization, Usage: "fraction of accelerator memory for weights + KV cache"},
			&cli.Float64Flag{Name: "compute-efficiency", Usage: "fraction of peak tensor FLOPS (at the model's precision) reached (default: the engine's fit for the hardware)"},
			&cli.Float64Flag{Name: "memory-efficiency", Usage: "fraction of peak HBM bandwidth reached (default: the engine's fit for the hardware)"},
			&cli.DurationFlag{Name: "iteration-overhead", Usage: "fixed host time per iteration (default: the engine's; negative = none)"},
			&cli.DurationFlag{Name: "layer-overhead", Usage: "fixed time per model layer per iteration (default: the engine's fit for the hardware; negative = none)"},
			&cli.DurationFlag{Name: "sequence-overhead", Usage: "host time per running sequence per iteration (default: the engine's; negative = none)"},
			&cli.DurationFlag{Name: "request-latency", Usage: "time from a request's arrival to the scheduler, counted in TTFT (default: the engine's; negative = none)"},
			&cli.DurationFlag{Name: "collective-latency", Usage: "fixed time per all-reduce/all-to-all (default: the engine's fit for the hardware)"},
			&cli.StringFlag{Name: "kv-cache-dtype", Usage: "store the KV cache as `DTYPE` bf16 or fp8 (default: the model's catalog figure)"},
			&cli.IntFlag{Name: "spec-draft-tokens", Usage: "speculative decoding draft tokens per step (default: the model's MTP heads where the engine's recipes use them; -1 = off)"},
			&cli.Float64Flag{Name: "spec-acceptance", Usage: "probability each draft token is accepted (default: the model's MTP acceptance, else 0.7)"},
			&cli.Float64Flag{Name: "spec-draft-cost", Value: sim.DefaultSpecDraftCost, Usage: "one draft token's cost as a fraction of a decode step"},
			&cli.IntFlag{Name: "prefill-accelerators", Usage: "disaggregate: this many of the accelerators run prefill-only instances"},
			&cli.Float64Flag{Name: "kv-transfer-gbps", Usage: "prefill→decode KV transfer bandwidth, GB/s (default: scale-out bandwidth × tp)"},
			&cli.IntFlag{Name: "output-median", Value: sim.DefaultOutputMedian, Usage: "median output length of requests that do not pin it, tokens"},
			&cli.Float64Flag{Name: "tool-call-rate", Value: sim.DefaultToolCallRate, Usage: "fraction of requests offering tools answered with a tool call (negative = never)"},
			&cli.IntFlag{Name: "stream-interval", Value: 1, Usage: "write a stream only every `N` new tokens (first and last at once), like SGLang's --stream-interval"},
			&cli.BoolFlag{Name: "coalesce", Usage: "send a stream's pending tokens as one SSE event instead of one event per token"},
			&cli.BoolFlag{Name: "verbose", Usage: "log start-up details to stderr"},
		},
		Action: runSim,
	})
}

func runSim(c *cli.Context) error {
	if c.NArg() > 0 {
		return exitCode(2, fmt.Errorf("sim takes no arguments, got %q (see --help)", c.Args().First()))
	}
	cat, err := catalog.Load(c.String("catalog"))
	if err != nil {
		return exitCode(2, err)
	}
	level := slog.LevelWarn
	if c.Bool("verbose") {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: level}))
	cfg := sim.Config{
		Hardware: c.String("hardware"), Model: c.String("model"), Engine: c.String("engine"), Accelerators: c.Int("accelerators"),
		TP: c.Int("tp"), ExpertParallel: c.Bool("expert-parallel"), TimeScale: c.Float64("time-scale"),
		Seed: c.Int64("seed"), Catalog: cat, Logger: log,
		MaxBatch: c.Int("max-batch"), MaxBatchTokens: c.Int("max-batch-tokens"),
		DisableChunkedPrefill: c.Bool("no-chunked-prefill"), DisablePrefixCache: c.Bool("no-prefix-cache"),
		MemoryUtilization: c.Float64("memory-utilization"),
		ComputeEfficiency: c.Float64("compute-efficiency"), MemoryEfficiency: c.Float64("memory-efficiency"),
		IterationOverhead: c.Duration("iteration-overhead"), LayerOverhead: c.Duration("layer-overhead"), CollectiveLatency: c.Duration("collective-latency"),
		SequenceOverhead: c.Duration("sequence-overhead"), RequestLatency: c.Duration("request-latency"), KVCacheDtype: c.String("kv-cache-dtype"),
		SpecDraftTokens: c.Int("spec-draft-tokens"), SpecAcceptance: c.Float64("spec-acceptance"),
		SpecDraftCost: c.Float64("spec-draft-cost"), PrefillAccelerators: c.Int("prefill-accelerators"),
		KVTransferGBps: c.Float64("kv-transfer-gbps"), OutputMedianTokens: c.Int("output-median"),
		ToolCallRate: c.Float64("tool-call-rate"), CoalesceTokens: c.Bool("coalesce"),
		StreamInterval: c.Int("stream-interval"),
	}
	srv, err := sim.New(cfg)
	if err != nil {
		return exitCode(2, err)
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", c.String("listen"))
	if err != nil {
		return err
	}
	p := srv.Plan()
	fmt.Fprintf(c.App.Writer, "agentperf sim: %s on %d × %s with %s (%d instance(s) of TP %d", p.Model.Name, p.Accelerators, p.Hardware.Name, p.EngineName(), p.Instances, p.TP)
	if p.PrefillInstances > 0 {
		fmt.Fprintf(c.App.Writer, " + %d prefill instance(s)", p.PrefillInstances)
	}
	fmt.Fprintf(c.App.Writer, "), KV cache %d tokens per instance, context %d, time scale %g\nlistening on http://%s\n",
		p.KVTokens, p.ContextTokens, p.TimeScale, ln.Addr())
	hs := srv.HTTPServer()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-c.Context.Done():
	}
	srv.Close() // streams end with an error event
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
