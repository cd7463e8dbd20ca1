package main

import (
	"fmt"

	"github.com/agentperf/agentperf/anonymize"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
		Name:      "anonymize",
		Usage:     "copy a trace set with all content replaced by same-length filler",
		ArgsUsage: "IN",
		Description: `anonymize writes a copy of trace set IN to --out that can be shared: every
string the model reads (prompts, messages, tool descriptions, tool inputs and
results, reasoning) becomes deterministic filler text with the same
o200k_base token count; tool names become tool_<hash>; signatures, encrypted
reasoning, images and URLs become hashes; session ids and free-form request
parameters (metadata.user_id, prompt_cache_key, user) become hashes.

Kept: JSON structure, each blob's token count, prefix sharing (equal content
stays equal, so KV-cache reuse on replay is unchanged), models, sampling
parameters, timings, think times, provider usage, status, context_items,
agents and sub-agent links. Request-metadata blobs stay metadata (filler of
the same token count); generated blobs stay recipes. Dropped: each request's
extras (an imported AA line's task_id, source and other fields can name a
repository). Use --salt so that two teams' sets share no filler.

Examples:
   agentperf anonymize traces/monday --out traces/monday-anon
   agentperf anonymize traces/monday --out /tmp/share --salt "$(head -c16 /dev/urandom | xxd -p)"`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "output trace-set `DIR` (required)"},
			&cli.StringFlag{Name: "salt", Usage: "`TEXT` mixed into every replacement (default none: the same input always gives the same output)"},
			&cli.BoolFlag{Name: "overwrite", Usage: "replace an existing trace set at --out"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 {
				return exitCode(2, fmt.Errorf("anonymize takes one trace-set directory (see --help)"))
			}
			if c.NArg() > 1 {
				return exitCode(2, fmt.Errorf("anonymize takes one trace-set directory, got also %q (see --help)", c.Args().Tail()))
			}
			out, salt, overwrite := c.String("out"), c.String("salt"), c.Bool("overwrite")
			if out == "" {
				return exitCode(2, fmt.Errorf("anonymize needs --out DIR (see --help)"))
			}
			st, err := anonymize.TraceSet(c.Args().First(), out, anonymize.Options{Salt: salt, Overwrite: overwrite})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "anonymized %d sessions, %d requests, %d blobs into %s\n", st.Sessions, st.Requests, st.Blobs, out)
			return nil
		},
	})
}
