package main

import (
	"fmt"

	"github.com/agentperf/agentperf/inspect"
	"github.com/agentperf/agentperf/schemas"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
		Name:      "inspect",
		Usage:     "describe a trace set; --check validates it",
		ArgsUsage: "DIR",
		Description: `inspect reads a trace set (made by synth, import or record) and reports:
sessions, requests and distinct blobs; turns per session; input and output
token distributions (count, min, mean, p50, p95, p99, max); think time before
each request; prefix reuse (the share of input tokens the session's previous
request already sent as a prefix, by blob and by 512-token hash_ids block);
bytes on disk against the same requests written as one JSON body per line
(computed by rebuilding every body; --no-jsonl skips it).

--check also validates every file: each referenced blob exists, blob ids
match their content, blob bodies and request params are valid JSON, turns of
a session run 0, 1, 2… in file order, input_tokens equals the sum of the
prompt blobs' tokens, hash_ids recompute equal, times are ordered, bodies
rebuild to valid JSON and session rows match their requests. It lists what
is wrong, naming the file, and exits with status 1. --recount also recounts
every blob's tokens with the tokenizer (slow).

--json prints the same report as JSON; its fields are documented in
docs/trace-format.md.

Examples:
   agentperf inspect traces/demo
   agentperf inspect traces/demo --json
   agentperf inspect traces/demo --check
   agentperf inspect traces/demo --check --recount --json`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print the report as JSON"},
			&cli.BoolFlag{Name: "check", Usage: "validate the trace set; exit status 1 when it has problems"},
			&cli.BoolFlag{Name: "recount", Usage: "with --check, recount every blob's tokens with the tokenizer"},
			&cli.BoolFlag{Name: "no-jsonl", Usage: "skip rebuilding every request body to size the one-body-per-line JSONL"},
			&cli.IntFlag{Name: "max-problems", Value: 100, Usage: "list at most `N` problems"},
		},
		Action: runInspect,
		OnUsageError: func(c *cli.Context, err error, isSub bool) error {
			return exitCode(2, fmt.Errorf("%w (see agentperf inspect --help)", err))
		},
	})
}

func runInspect(c *cli.Context) error {
	if c.NArg() != 1 {
		return exitCode(2, fmt.Errorf("inspect needs one trace-set directory, got %d arguments (see --help)", c.NArg()))
	}
	ts, err := schemas.OpenTraceSet(c.Args().First(), schemas.TraceSetOptions{})
	if err != nil {
		return err
	}
	defer ts.Close()
	st, err := inspect.Inspect(ts, inspect.Options{
		Check: c.Bool("check"), Recount: c.Bool("recount"), SkipJSONL: c.Bool("no-jsonl"), MaxProblems: c.Int("max-problems"),
	})
	if err != nil {
		return err
	}
	if c.Bool("json") {
		err = inspect.WriteJSON(c.App.Writer, st)
	} else {
		err = inspect.WriteTable(c.App.Writer, st)
	}
	if err != nil {
		return err
	}
	if n := len(st.Problems) + st.ProblemsTruncated; n > 0 {
		first := st.Problems[0]
		return exitCode(1, fmt.Errorf("%s: %d problem(s); first: %s: %s", c.Args().First(), n, first.File, first.Message))
	}
	return nil
}
