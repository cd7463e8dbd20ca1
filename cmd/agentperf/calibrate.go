package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/agentperf/agentperf/catalog"
	"github.com/agentperf/agentperf/sim"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
		Name:      "calibrate",
		Usage:     "replay published benchmark runs on the simulator and compare",
		ArgsUsage: "FILE...",
		Description: `calibrate reads published benchmark runs (the InferenceMAX export layout of
sim/testdata/calibration: hardware, framework, ISL/OSL, TP/EP, concurrency,
tok/s/GPU, mean TTFT and TPOT) and replays each row's shape on the simulator
without wall time: the row's hardware, engine profile and parallelism, the
published serving settings, a closed loop of CONCURRENCY clients sending
10 × CONCURRENCY random prompts with lengths uniform in [0.8·L, L]. It prints,
per row, public, simulated and their ratio for per-GPU throughput (input +
output tokens), per-user speed (1 / mean TPOT) and mean TTFT, then per
hardware × engine the geometric mean, worst ratio and range.

--check exits with status 1 when a goal is missed (per hardware geometric
mean within 0.9–1.1, every row within 0.75–1.33, TTFT within 2×) and lists
the misses on stderr.

Examples:
   agentperf calibrate sim/testdata/calibration/inferencemax-gpt-oss-120b-vllm.csv
   agentperf calibrate --hardware b200 --summary sim/testdata/calibration/*.csv
   agentperf calibrate --check sim/testdata/calibration/inferencemax-gpt-oss-120b-vllm.csv`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "model", Value: sim.DefaultModel, Usage: "catalog model `NAME` the runs served"},
			&cli.StringFlag{Name: "catalog", Usage: "YAML `FILE` overlaying the embedded catalog"},
			&cli.StringSliceFlag{Name: "hardware", Usage: "only rows of hardware `NAME` (repeatable)"},
			&cli.Int64Flag{Name: "seed", Value: 1, Usage: "seed of the request lengths"},
			&cli.BoolFlag{Name: "summary", Usage: "print only the per-hardware summary"},
			&cli.BoolFlag{Name: "check", Usage: "exit with status 1 when a calibration goal is missed"},
		},
		Action: runCalibrate,
	})
}

func runCalibrate(c *cli.Context) error {
	if c.NArg() == 0 {
		return exitCode(2, fmt.Errorf("calibrate needs at least one calibration FILE (see --help)"))
	}
	cat, err := catalog.Load(c.String("catalog"))
	if err != nil {
		return exitCode(2, err)
	}
	keep := map[string]bool{}
	for _, h := range c.StringSlice("hardware") {
		keep[strings.ToLower(h)] = true
	}
	base := sim.Config{Model: c.String("model"), Catalog: cat}
	var results []sim.CalibrationResult
	for _, path := range c.Args().Slice() {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		rows, err := sim.ReadCalibrationCSV(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for _, row := range rows {
			if len(keep) > 0 && !keep[row.Hardware] {
				continue
			}
			r, err := sim.Calibrate(row, base, c.Int64("seed"))
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			results = append(results, r)
		}
	}
	if len(results) == 0 {
		return fmt.Errorf("no rows to calibrate (check the files and --hardware)")
	}
	if c.Bool("summary") {
		sim.WriteCalibrationSummary(c.App.Writer, sim.Summarize(results))
	} else if err := sim.WriteCalibration(c.App.Writer, results); err != nil {
		return err
	}
	if c.Bool("check") {
		if miss := sim.DefaultCalibrationGoals.Check(results, 2); len(miss) > 0 {
			return fmt.Errorf("%d calibration goal(s) missed:\n  %s", len(miss), strings.Join(miss, "\n  "))
		}
	}
	return nil
}
