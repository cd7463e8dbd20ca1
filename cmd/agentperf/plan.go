package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/agentperf/agentperf/analyze"
	"github.com/agentperf/agentperf/replay"
	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/sim"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
		Name:      "plan",
		Usage:     "which hardware serves a team's agents: the capacity search on several simulated systems, one table",
		ArgsUsage: " ",
		Description: `plan runs the AgentPerf capacity search (replay --search) for a trace set on
each simulated system of --hardware, in virtual time (docs/replay.md,
"Virtual time") and in parallel across cores, then analyzes the runs
together: one normalized table, one row per system and tier — max users,
per accelerator, per kW of TDP, per dollar-hour and per rack — and, with
--html, the analyze report with the systems side by side.

Each system searches at --tier (default: the slowest tier of --tiers, the
one with the most users); the other tiers are judged on the same levels,
so a faster tier's figure is the best of the levels that search measured
(the exponential ramp's powers of two and the binary search's steps), a
lower bound. Every level follows AA's rules (1-minute warm-up, 10-minute
steady window grown to >= 30 completed trajectories and >= 3 per agent).
The results files (one per system, with the simulator's power beside them)
stay in --out for 'agentperf analyze'.

Examples:
   agentperf plan --traces traces/demo --model gpt-oss-120b --hardware h100,h200,b200,mi355x
   agentperf plan --traces traces/cc --model gpt-oss-120b --hardware h200,b200 --accelerators 8 --html plan.html --format csv`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "traces", Required: true, Usage: "trace set `DIR`"},
			&cli.StringFlag{Name: "model", Value: sim.DefaultModel, Usage: "simulated model `NAME` (catalog)"},
			&cli.StringFlag{Name: "hardware", Required: true, Usage: "comma-separated accelerator `NAMES` from the catalog, one system each (e.g. h100,h200,b200,mi355x)"},
			&cli.IntFlag{Name: "accelerators", Usage: "accelerators per system (default: per system, the smallest that fits the model)"},
			&cli.StringFlag{Name: "tiers", Usage: "tier `PRESET` or tier FILE, as for analyze (default: the model's preset)"},
			&cli.StringFlag{Name: "tier", Usage: "the tier each search is judged at: SPEED:TTFT (default: the slowest of --tiers)"},
			&cli.StringFlag{Name: "out", Value: "plan", Usage: "`DIR` for the results files, one per system"},
			&cli.BoolFlag{Name: "overwrite", Usage: "replace results files already in --out"},
			&cli.StringFlag{Name: "html", Usage: "also write the analyze report, the systems side by side, to `FILE`"},
			&cli.StringFlag{Name: "format", Value: "table", Usage: "output `FORMAT`: table, csv or json"},
			&cli.IntFlag{Name: "search-max", Value: 4096, Usage: "most users a search tries"},
			&cli.Float64Flag{Name: "search-precision", Value: 0.05, Usage: "stop when fail − pass ≤ max(1, `P`·pass)"},
			&cli.DurationFlag{Name: "warmup", Value: time.Minute, Usage: "warm-up of each level (world time)"},
			&cli.DurationFlag{Name: "duration", Value: 10 * time.Minute, Usage: "steady-state window of each level (world time; grown to AA's trajectory minimums)"},
			&cli.Int64Flag{Name: "seed", Value: 1, Usage: "seed of the simulators"},
			&cli.IntFlag{Name: "parallel", Usage: "systems searched at once (default: the number of cores)"},
		},
		Action: planAction,
	})
}

func planAction(c *cli.Context) error {
	stderr := c.App.ErrWriter
	format := c.String("format")
	switch format {
	case "table", "csv", "json":
	default:
		return exitCode(2, fmt.Errorf("--format %q: want table, csv or json", format))
	}
	var systems []string
	for _, h := range strings.Split(c.String("hardware"), ",") {
		if h = strings.TrimSpace(h); h != "" {
			systems = append(systems, h)
		}
	}
	if len(systems) == 0 {
		return exitCode(2, errors.New("--hardware: name at least one accelerator"))
	}
	model := c.String("model")
	plans := make([]*sim.Plan, len(systems))
	for i, h := range systems {
		sc := sim.Config{Hardware: h, Model: model, Accelerators: c.Int("accelerators"), Seed: c.Int64("seed")}
		if err := simKnobs(c, &sc); err != nil {
			return err
		}
		p, err := sim.Resolve(sc)
		if err != nil {
			return exitCode(2, fmt.Errorf("--hardware %s: %w", h, err))
		}
		plans[i] = p
	}
	var tiers []analyze.Tier
	tiersName := ""
	if t := c.String("tiers"); t != "" {
		var err error
		if tiers, err = analyze.LoadTiers(t); err != nil {
			return exitCode(2, fmt.Errorf("--tiers: %w", err))
		}
		tiersName = t
		if _, err := analyze.Preset(t); err == nil {
			tiersName = "preset " + t
		}
	} else if ts, err := analyze.Preset(plans[0].Model.Name); err == nil {
		tiers, tiersName = ts, "preset "+plans[0].Model.Name
	}
	var tier analyze.Tier
	if s := c.String("tier"); s != "" || len(tiers) == 0 {
		var err error
		if tier, err = analyze.ParseTier(s, plans[0].Model.Name); err != nil {
			return exitCode(2, fmt.Errorf("--tier: %w", err))
		}
	} else {
		tier = slowestTier(tiers)
	}
	dir := c.String("out")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	paths := make([]string, len(systems))
	for i, h := range systems {
		paths[i] = filepath.Join(dir, fmt.Sprintf("%s-%dx.parquet", h, plans[i].Accelerators))
	}
	par := c.Int("parallel")
	if par <= 0 {
		par = runtime.GOMAXPROCS(0)
	}
	start := time.Now()
	errs := make([]error, len(systems))
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := range systems {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			t0 := time.Now()
			maxUsers, err := planSearch(c.Context, c, plans[i], tier, paths[i])
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs[i] = fmt.Errorf("%s: %w", systems[i], err)
				fmt.Fprintf(stderr, "%s: %v\n", systems[i], err)
				return
			}
			fmt.Fprintf(stderr, "%s (%d×): max %d users at %s; searched in %s\n", systems[i], plans[i].Accelerators, maxUsers,
				tier.Name, time.Since(t0).Round(100*time.Millisecond))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if c.Context.Err() != nil {
		return exitCode(130, fmt.Errorf("interrupted; results so far are in %s", dir))
	}
	fmt.Fprintf(stderr, "%d systems searched in %s\n", len(systems), time.Since(start).Round(100*time.Millisecond))
	rep, err := analyze.Analyze(c.Context, paths, analyze.Options{Tiers: tiers, TiersName: tiersName})
	if err != nil {
		return err
	}
	if h := c.String("html"); h != "" {
		if err := writeAnalyzeFile(h, func(f *os.File) error { return analyze.WriteHTML(f, rep) }); err != nil {
			return err
		}
	}
	return writePlan(c.App.Writer, rep, format)
}

// slowestTier returns the tier of ts with the lowest speed floor (the
// most users).
func slowestTier(ts []analyze.Tier) analyze.Tier {
	best := ts[0]
	for _, t := range ts[1:] {
		if t.SpeedFloor < best.SpeedFloor {
			best = t
		}
	}
	return best
}

// planSearch runs the capacity search of one system in virtual time into
// the results file at path and returns the most users that passed.
func planSearch(ctx context.Context, c *cli.Context, sp *sim.Plan, tier analyze.Tier, path string) (int, error) {
	ts, err := schemas.OpenTraceSet(c.String("traces"), schemas.TraceSetOptions{})
	if err != nil {
		return 0, err
	}
	defer ts.Close()
	plan, err := replay.LoadPlan(ts, replay.PlanOptions{})
	if err != nil {
		return 0, err
	}
	meta := replay.SimMeta(sp)
	meta.AgentperfVersion, meta.TraceSet = version, c.String("traces")
	cfg := replay.Config{
		Plan: plan, Sim: sp, API: "auto", Shaping: replay.Shaping{Model: sp.Model.Name},
		Warmup: c.Duration("warmup"), Steady: c.Duration("duration"), Seed: uint64(c.Int64("seed")),
		Search: &replay.SearchConfig{Start: 1, MaxUsers: c.Int("search-max"), Precision: c.Float64("search-precision"), Tier: tier},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Meta: meta,
		PowerFile: schemas.PowerPath(path), PowerOverwrite: c.Bool("overwrite"),
		// analyze groups files by run id: one run per system.
		RunID: fmt.Sprintf("plan-%s-%dx%s", time.Now().UTC().Format("20060102T150405"), sp.Accelerators, sp.Hardware.Name),
	}
	rw, err := schemas.CreateResults(path, c.Bool("overwrite"))
	if err != nil {
		return 0, err
	}
	rep, err := replay.Run(ctx, cfg, rw)
	if err != nil {
		if rep == nil {
			rw.Abort()
			return 0, err
		}
		rw.Close()
		return 0, fmt.Errorf("%w (partial results in %s)", err, path)
	}
	if err := rw.Close(); err != nil {
		return 0, fmt.Errorf("closing %s: %w", path, err)
	}
	if rep.Search == nil {
		return 0, nil
	}
	return rep.Search.MaxUsers, nil
}

// PlanColumns are the plan table's columns, in every format: the system
// (analyze's set name), its hardware and accelerators, the tier, then
// analyze's capacity figures at it (docs/analyze.md): max users fitted
// over the search's windows with its 90 % interval, the highest passing
// level (AA's figure), the fitted figure per accelerator, kW of TDP,
// dollar-hour and rack, and agents per MW of the simulator's modelled
// power.
var PlanColumns = []string{"system", "hardware", "accelerators", "tier", "speed_floor", "ttft_ceiling",
	"max_users", "max_users_lo", "max_users_hi", "highest_passing",
	"users_per_accelerator", "users_per_kw", "users_per_dollar_hour", "users_per_rack", "agents_per_mw"}

// planRow returns the plan table's cells of one set's capacity row, in
// PlanColumns order, formatted for people (human) or for machines.
func planRow(s *analyze.ResultSet, cp analyze.Capacity, human bool) []string {
	f := func(v float64, prec int) string {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			if human {
				return "—"
			}
			return ""
		}
		if human {
			return strconv.FormatFloat(v, 'f', prec, 64)
		}
		return strconv.FormatFloat(v, 'g', 9, 64)
	}
	ttft := strconv.FormatFloat(cp.Tier.TTFTCeiling.Seconds(), 'g', -1, 64)
	if human {
		ttft = cp.Tier.TTFTCeiling.String()
	}
	return []string{s.Name, s.System.Hardware, strconv.Itoa(s.System.Accelerators), cp.Tier.Name, f(cp.Tier.SpeedFloor, 0), ttft,
		f(cp.Users.Point, 0), f(cp.Users.Lo, 0), f(cp.Users.Hi, 0), strconv.Itoa(cp.MaxUsers),
		f(cp.UsersPerAccelerator.Point, 2), f(cp.UsersPerKW.Point, 2), f(cp.UsersPerDollarHour.Point, 2),
		f(cp.UsersPerRack.Point, 1), f(cp.AgentsPerMW.Point, 0)}
}

// writePlan writes the plan table of rep: one row per system and tier.
func writePlan(w io.Writer, rep *analyze.Report, format string) error {
	switch format {
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write(PlanColumns)
		for _, s := range rep.Sets {
			for _, cp := range s.Capacity {
				cw.Write(planRow(s, cp, false))
			}
		}
		cw.Flush()
		return cw.Error()
	case "json":
		var rows []map[string]string
		for _, s := range rep.Sets {
			for _, cp := range s.Capacity {
				row := map[string]string{}
				for i, v := range planRow(s, cp, false) {
					row[PlanColumns[i]] = v
				}
				rows = append(rows, row)
			}
		}
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		return e.Encode(rows)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, strings.Join(PlanColumns, "\t")+"\t")
	for _, s := range rep.Sets {
		for _, cp := range s.Capacity {
			fmt.Fprintln(tw, strings.Join(planRow(s, cp, true), "\t")+"\t")
		}
	}
	return tw.Flush()
}
