package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/agentperf/agentperf/convert"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
		Name:      "import",
		Usage:     "convert foreign traces (AA replay JSONL, Mooncake, Claude Code, Codex) into a trace set",
		ArgsUsage: "IN",
		Description: `import reads IN — a file, or a directory searched recursively for .jsonl
files — in the given format and writes a trace set (a directory of Parquet
files) to --out. Input is streamed line by line. A bad line stops the import
with its file and line number and nothing is written; with --skip-bad bad
lines are skipped and counted instead.

Formats (see docs/formats.md for the field mapping and limitations):
   aa-jsonl     Artificial Analysis replay JSONL, one line per model call
   mooncake     Mooncake traces {timestamp, input_length, output_length,
                hash_ids}; prompts become filler text with the same
                512-token block sharing and exact lengths; sessions are
                found by prefix chain
   claude-code  Claude Code transcripts (~/.claude/projects/...), sub-agents
                included
   codex        Codex CLI rollouts (~/.codex/sessions/...)

Examples:
   agentperf import --format mooncake synthetic_trace.jsonl --out traces/mooncake
   agentperf import --format claude-code ~/.claude/projects --out traces/claude --skip-bad
   agentperf import --format codex ~/.codex/sessions/2025/11 --out traces/codex
   agentperf import --format aa-jsonl task.jsonl --out traces/aa --overwrite`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "input format: " + strings.Join(convert.ImportFormats, ", ") + " (required)"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "trace-set directory to write (required)"},
			&cli.BoolFlag{Name: "skip-bad", Usage: "skip lines that cannot be parsed, and count them, instead of stopping"},
			&cli.BoolFlag{Name: "overwrite", Usage: "replace an existing trace set at --out"},
			&cli.TimestampFlag{Name: "epoch", Layout: time.RFC3339, Usage: "mooncake: wall-clock time of timestamp 0, RFC 3339 (default 2025-01-01T00:00:00Z)"},
		},
		Action: runImport,
	})
}

func runImport(c *cli.Context) error {
	args := c.Args().Slice()
	if len(args) != 1 {
		return exitCode(2, fmt.Errorf("import takes one input (a file or directory), got %d (see --help)", len(args)))
	}
	format, out := c.String("format"), c.String("out")
	if format == "" || out == "" {
		return exitCode(2, fmt.Errorf("import needs --format and --out (see --help)"))
	}
	opt := convert.ImportOptions{Format: format, Overwrite: c.Bool("overwrite"), SkipBad: c.Bool("skip-bad")}
	if t := c.Timestamp("epoch"); t != nil {
		opt.MooncakeEpoch = *t
	}
	st, err := convert.Import(c.Context, args[0], out, opt)
	if err != nil {
		return err
	}
	w := c.App.Writer
	secs := st.Elapsed.Seconds()
	fmt.Fprintf(w, "imported %d requests in %d sessions from %d file(s), %d lines (%.1f MB) into %s\n",
		st.Requests, st.Sessions, st.Files, st.Lines, float64(st.Bytes)/1e6, out)
	fmt.Fprintf(w, "took %.2f s (%.0f requests/s, %.1f MB/s of input)\n", secs, float64(st.Requests)/secs, float64(st.Bytes)/1e6/secs)
	if st.Skipped > 0 {
		fmt.Fprintf(w, "skipped %d bad line(s); first ones:\n", st.Skipped)
		for _, e := range st.SkippedExamples {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
	return nil
}
