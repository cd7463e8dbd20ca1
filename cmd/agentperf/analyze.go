package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/agentperf/agentperf/analyze"
	"github.com/agentperf/agentperf/catalog"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
		Name:      "analyze",
		Usage:     "capacity at speed tiers from results files: tables and an HTML report",
		ArgsUsage: "RESULTS...",
		Description: `analyze reads results files written by replay (any number: shards of one run
merge into the same levels by run id and level; different runs are shown side
by side as separate systems) and reports, per concurrency level, output speed
(P25/P50), E2E speed, TTFT and ITL percentiles, error rate, client lag,
throughput, prefix-cache hit rate and the steady-state window; then, per speed
tier, the most users that passed (P25 output speed ≥ floor, P95 TTFT ≤
ceiling, errors ≤ 1 %), normalized per accelerator, kW of TDP, dollar-hour
and rack. Validity problems (too few completed trajectories, a client that
sent late enough to leave over 2 % of a level's load undelivered or was
saturated, errors > 1 %, short windows, levels replay measured again) are
shown first. A directory argument stands for the *.parquet files in it.

Defaults come from each run's metadata: hardware, accelerators and model
(which picks the tier preset). Presets: gpt-oss-120b, deepseek-v3.2,
deepseek-v4-pro. Every metric is defined in docs/analyze.md.

Examples:
   agentperf analyze results.parquet
   agentperf analyze results.parquet --hardware h200 --accelerators 8 --html report.html
   agentperf analyze shards/ --tiers deepseek-v3.2 --format markdown
   agentperf analyze h200.parquet b200.parquet --html compare.html
   agentperf analyze results.parquet --system my-system.yaml --tiers my-tiers.yaml --format json
   agentperf analyze results.parquet --format csv --table levels > levels.csv`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "hardware", Usage: "accelerator `NAME` from the catalog (default: run metadata \"hardware\")"},
			&cli.IntFlag{Name: "accelerators", Usage: "`N` accelerators serving the target (default: run metadata \"accelerators\")"},
			&cli.StringFlag{Name: "system", Usage: "YAML/JSON `FILE` describing the system (name, hardware, accelerators, tdp_watts, dollars_per_hour, accelerators_per_rack); overrides --hardware/--accelerators"},
			&cli.StringFlag{Name: "catalog", Usage: "YAML `FILE` overlaying the embedded hardware catalog"},
			&cli.StringFlag{Name: "tiers", Usage: "tier `PRESET` or tier FILE (YAML/JSON; default: the preset of the run's model)"},
			&cli.StringFlag{Name: "format", Value: analyze.FormatTable, Usage: "output `FORMAT`: " + strings.Join(analyze.Formats, ", ")},
			&cli.StringFlag{Name: "table", Value: analyze.TableCapacity, Usage: "`TABLE` the csv format writes: capacity or levels"},
			&cli.StringFlag{Name: "html", Usage: "also write a self-contained HTML report to `FILE`"},
			&cli.Float64Flag{Name: "itl-sample", Usage: "`FRACTION` (0–1] of requests whose chunk gaps make ITL (default: all up to 50M chunk offsets, then a sample of ~50M)"},
			&cli.IntFlag{Name: "min-trajectories", Value: analyze.DefaultMinTrajectories, Usage: "flag levels with fewer completed trajectories (`N`; negative disables)"},
			&cli.IntFlag{Name: "min-per-agent", Value: analyze.DefaultMinTrajectoriesPerAgent, Usage: "flag levels where an agent completed fewer trajectories (`N`; negative disables)"},
			&cli.DurationFlag{Name: "max-client-lag", Value: analyze.DefaultLateLag, Usage: "least client lag (`DURATION`, wall) that counts a send as late, beside 10 % of the level's cycle (docs/replay.md, Client lag; negative: only the cycle share)"},
			&cli.DurationFlag{Name: "min-window", Value: analyze.DefaultMinWindow, Usage: "flag levels whose steady-state window is shorter (`DURATION`; negative disables)"},
			&cli.IntFlag{Name: "workers", Usage: "row groups decoded in parallel (`N`; default: GOMAXPROCS)"},
			&cli.BoolFlag{Name: "verbose", Usage: "log progress to stderr"},
		},
		Action: runAnalyze,
		OnUsageError: func(c *cli.Context, err error, isSub bool) error {
			return exitCode(2, fmt.Errorf("%w (see agentperf analyze --help)", err))
		},
	})
}

func runAnalyze(c *cli.Context) error {
	if c.NArg() == 0 {
		return exitCode(2, fmt.Errorf("analyze needs at least one results file (see --help)"))
	}
	var paths []string
	for _, a := range c.Args().Slice() {
		st, err := os.Stat(a)
		if err != nil {
			return err
		}
		if !st.IsDir() {
			paths = append(paths, a)
			continue
		}
		m, err := filepath.Glob(filepath.Join(a, "*.parquet"))
		if err != nil {
			return err
		}
		if len(m) == 0 {
			return fmt.Errorf("%s: a directory without *.parquet results files", a)
		}
		slices.Sort(m)
		paths = append(paths, m...)
	}
	format := c.String("format")
	if !slices.Contains(analyze.Formats, format) && format != "md" {
		return exitCode(2, fmt.Errorf("unknown --format %q (choose %s)", format, strings.Join(analyze.Formats, ", ")))
	}
	if t := c.String("table"); t != analyze.TableCapacity && t != analyze.TableLevels {
		return exitCode(2, fmt.Errorf("unknown --table %q (choose capacity or levels)", t))
	}
	cat, err := catalog.Load(c.String("catalog"))
	if err != nil {
		return exitCode(2, err)
	}
	if h := c.String("hardware"); h != "" {
		if _, err := cat.FindHardware(h); err != nil {
			return exitCode(2, err)
		}
	}
	if f := c.Float64("itl-sample"); f < 0 || f > 1 {
		return exitCode(2, fmt.Errorf("--itl-sample %v must be in (0, 1] (0 = automatic)", f))
	}
	if n := c.Int("accelerators"); n < 0 {
		return exitCode(2, fmt.Errorf("--accelerators %d must be ≥ 0", n))
	}
	opt := analyze.Options{
		Hardware: c.String("hardware"), Accelerators: c.Int("accelerators"), Catalog: cat,
		ITLSample: c.Float64("itl-sample"), Workers: c.Int("workers"),
		Validity: analyze.Validity{
			MinTrajectories: c.Int("min-trajectories"), MinTrajectoriesPerAgent: c.Int("min-per-agent"),
			LateLag: c.Duration("max-client-lag"), MinWindow: c.Duration("min-window"),
		},
	}
	if c.Bool("verbose") {
		opt.Logger = slog.New(slog.NewTextHandler(c.App.ErrWriter, nil))
	}
	if f := c.String("system"); f != "" {
		s, err := analyze.LoadSystem(f)
		if err != nil {
			return exitCode(2, err)
		}
		opt.System = s
	}
	if t := c.String("tiers"); t != "" {
		tiers, err := analyze.LoadTiers(t)
		if err != nil {
			return exitCode(2, err)
		}
		opt.Tiers, opt.TiersName = tiers, t
		if _, err := analyze.Preset(t); err == nil {
			opt.TiersName = "preset " + t
		}
	}
	rep, err := analyze.Analyze(c.Context, paths, opt)
	if err != nil {
		return err
	}
	if h := c.String("html"); h != "" {
		if err := writeAnalyzeFile(h, func(f *os.File) error { return analyze.WriteHTML(f, rep) }); err != nil {
			return err
		}
	}
	return analyze.Write(c.App.Writer, rep, format, c.String("table"))
}

// writeAnalyzeFile writes path through a temporary sibling renamed into
// place, so a failure never leaves a half-written file.
func writeAnalyzeFile(path string, write func(*os.File) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".partial-")
	if err != nil {
		return err
	}
	err = f.Chmod(0o644)
	if err == nil {
		err = write(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
