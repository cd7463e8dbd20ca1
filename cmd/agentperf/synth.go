package main

import (
	"fmt"
	"time"

	"github.com/agentperf/agentperf/synth"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
		Name:      "synth",
		Usage:     "generate a synthetic coding-agent trace set (seeded, deterministic)",
		ArgsUsage: " ",
		Description: `synth writes a trace set of coding-agent trajectories in OpenAI Chat format
(API "openai-chat": a tool list, tool_calls and tool-role messages) shaped like
the published AA-AgentPerf workload: 20–200 model calls per session; one system
prompt and tool list shared by every session (stored once); context growing
with every tool result to over 100K tokens in the longest sessions (input
~1K–128K tokens, mean ~27K at the defaults), compacted into a summary when
it would pass --max-input-tokens; outputs with a median of ~150 tokens and a
P95 of ~2K (reasoning, a short preamble and the tool call); 0.1–5 s of tool
and think time between calls, median ~1 s.

The text is generated from templates: a small Go or Python repository per
session that the agent lists, searches, reads, edits (unified diffs), builds
and tests (failures, panics, tracebacks). Token counts are exact o200k_base
counts of that text. Request times (start, first token, end) follow a simple
single-user response-time model, so think times and timestamp replay work.
The same seed and options give the same content, whatever the machine.

Examples:
   agentperf synth --out traces/demo
   agentperf synth --sessions 100 --seed 7 --out traces/s100
   agentperf synth --sessions 5 --min-turns 20 --max-turns 40 --out traces/small
   agentperf synth --sessions 20 --max-turns 200 --out traces/demo --overwrite`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "trace-set `DIR` to create (required)"},
			&cli.IntFlag{Name: "sessions", Aliases: []string{"n"}, Value: synth.DefaultSessions, Usage: "number of sessions (trajectories)"},
			&cli.IntFlag{Name: "min-turns", Value: synth.DefaultMinTurns, Usage: "fewest model calls per session (lengths are log-uniform between min and max)"},
			&cli.IntFlag{Name: "max-turns", Value: synth.DefaultMaxTurns, Usage: "most model calls per session"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "random seed; the same seed and options give the same trace set"},
			&cli.StringFlag{Name: "model", Value: synth.DefaultModel, Usage: "model `NAME` written into every request"},
			&cli.IntFlag{Name: "max-input-tokens", Value: synth.DefaultMaxInputTokens, Usage: "prompt size in tokens at which the agent compacts its history"},
			&cli.IntFlag{Name: "max-tokens", Value: synth.DefaultMaxTokens, Usage: "max_tokens request parameter, in tokens"},
			&cli.DurationFlag{Name: "arrival-gap", Value: synth.DefaultArrivalGap, Usage: "mean gap between session start times (exponential); 0s starts all sessions together"},
			&cli.TimestampFlag{Name: "start", Layout: time.RFC3339, Usage: "start `TIME` of the first session, RFC 3339 (default " + synth.DefaultStart.Format(time.RFC3339) + ")"},
			&cli.BoolFlag{Name: "overwrite", Usage: "replace an existing trace set at --out"},
		},
		Action: runSynth,
		OnUsageError: func(c *cli.Context, err error, isSub bool) error {
			return exitCode(2, fmt.Errorf("%w (see agentperf synth --help)", err))
		},
	})
}

func runSynth(c *cli.Context) error {
	out := c.String("out")
	if out == "" {
		return exitCode(2, fmt.Errorf("synth needs --out DIR (see --help)"))
	}
	if c.NArg() > 0 {
		return exitCode(2, fmt.Errorf("synth takes no arguments, got %q (did you mean --out %s?)", c.Args().First(), c.Args().First()))
	}
	for _, f := range []string{"sessions", "min-turns", "max-turns", "max-input-tokens", "max-tokens"} {
		if c.Int(f) <= 0 {
			return exitCode(2, fmt.Errorf("--%s must be positive, got %d", f, c.Int(f)))
		}
	}
	opt := synth.Options{
		Sessions:       c.Int("sessions"),
		MinTurns:       c.Int("min-turns"),
		MaxTurns:       c.Int("max-turns"),
		Seed:           c.Uint64("seed"),
		Model:          c.String("model"),
		MaxInputTokens: c.Int("max-input-tokens"),
		MaxTokens:      c.Int("max-tokens"),
		ArrivalGap:     c.Duration("arrival-gap"),
	}
	if opt.ArrivalGap == 0 {
		opt.ArrivalGap = -1 // all sessions start together
	}
	if t := c.Timestamp("start"); t != nil {
		opt.Start = *t
	}
	if opt.MinTurns > opt.MaxTurns {
		return exitCode(2, fmt.Errorf("--min-turns %d is above --max-turns %d", opt.MinTurns, opt.MaxTurns))
	}
	start := time.Now()
	sum, err := synth.Write(c.Context, out, opt, synth.WriteOptions{Overwrite: c.Bool("overwrite")})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "wrote %s: %d sessions, %d requests, %.1fM input tokens (max %d per request), %.2fM output tokens in %.1fs\n",
		out, sum.Sessions, sum.Requests, float64(sum.InputTokens)/1e6, sum.MaxInputTokens, float64(sum.OutputTokens)/1e6, time.Since(start).Seconds())
	return nil
}
