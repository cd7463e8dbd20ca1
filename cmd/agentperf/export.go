package main

import (
	"fmt"
	"strings"

	"github.com/agentperf/agentperf/convert"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
		Name:      "export",
		Usage:     "write a trace set as AA replay JSONL or a Mooncake trace",
		ArgsUsage: "DIR",
		Description: `export reads the trace set in DIR and writes it in a foreign format to --out
(stdout when --out is - or absent). A file is written under a temporary name
and renamed when complete.

Formats (see docs/formats.md):
   aa-jsonl   one line per request with full OpenAI chat messages, as
              Artificial Analysis' aa-agentperf-local replays them;
              Anthropic and OpenAI Responses bodies are translated to chat
              messages (best effort: thinking and reasoning items dropped)
   mooncake   {timestamp, input_length, output_length, hash_ids}: lengths and
              512-token prefix sharing only, no text; timestamps in ms after
              the first request (or, for sets without send times, each
              session laid out from 0 by think time)

Examples:
   agentperf export --format aa-jsonl traces/demo --out demo.jsonl
   agentperf export --format mooncake traces/demo --out demo-mooncake.jsonl
   agentperf export --format aa-jsonl traces/demo | gzip > demo.jsonl.gz`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "output format: " + strings.Join(convert.ExportFormats, ", ") + " (required)"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Value: "-", Usage: "file to write, - for stdout"},
			&cli.BoolFlag{Name: "overwrite", Usage: "replace an existing --out file"},
		},
		Action: runExport,
	})
}

func runExport(c *cli.Context) error {
	args := c.Args().Slice()
	if len(args) != 1 {
		return exitCode(2, fmt.Errorf("export takes one trace-set directory, got %d (see --help)", len(args)))
	}
	format, out := c.String("format"), c.String("out")
	if format == "" {
		return exitCode(2, fmt.Errorf("export needs --format (see --help)"))
	}
	st, err := convert.Export(c.Context, args[0], out, c.App.Writer, convert.ExportOptions{Format: format, Overwrite: c.Bool("overwrite")})
	if err != nil {
		return err
	}
	// The summary goes to stderr when the data goes to stdout.
	w := c.App.Writer
	if out == "-" {
		w = c.App.ErrWriter
	}
	dest := out
	if out == "-" {
		dest = "stdout"
	}
	fmt.Fprintf(w, "exported %d requests in %d sessions to %s (%.1f MB) in %.2f s\n",
		st.Requests, st.Sessions, dest, float64(st.Bytes)/1e6, st.Elapsed.Seconds())
	if st.Translated > 0 {
		fmt.Fprintf(w, "translated %d request bodies to chat messages (see docs/formats.md for what is dropped)\n", st.Translated)
	}
	if st.Skipped > 0 {
		fmt.Fprintf(w, "left out %d request(s); first ones:\n", st.Skipped)
		for _, e := range st.SkippedExamples {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
	return nil
}
