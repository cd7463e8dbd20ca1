// Command agentperf measures inference hardware with your own coding-agent
// workload: record agent sessions, replay them as closed-loop users against a
// target, and report the users a system sustains at each speed tier.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/agentperf/agentperf/analyze"
	"github.com/agentperf/agentperf/schemas"
	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// commands holds the subcommands; each subcommand file registers its own in
// an init function, so adding one touches no other file.
var commands []*cli.Command

func register(c *cli.Command) { commands = append(commands, c) }

// exitError carries an exit code through cli's error return.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// exitCode wraps err so that main exits with code.
func exitCode(code int, err error) error { return &exitError{code: code, err: err} }

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run executes the CLI and returns the process exit code: 0 on success, 1 on
// an error, 2 on bad usage, 130 when interrupted.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app := newApp(stdout, stderr)
	err := app.RunContext(ctx, flagsFirst(args, app.Commands))
	if err == nil {
		return 0
	}
	err = flagHint(err)
	fmt.Fprintf(stderr, "agentperf: %v\n", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if ctx.Err() != nil {
		return 130
	}
	return 1
}

// flagHint adds the flag that fixes a library error, which names none.
func flagHint(err error) error {
	switch {
	case errors.Is(err, schemas.ErrExists):
		return fmt.Errorf("%w: give another --out, or --overwrite", err)
	case errors.Is(err, analyze.ErrNoTiers):
		return fmt.Errorf("%w (--tiers)", err)
	}
	return err
}

func newApp(stdout, stderr io.Writer) *cli.App {
	cmds := append([]*cli.Command(nil), commands...)
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name < cmds[j].Name })
	for _, c := range cmds {
		if c.OnUsageError == nil {
			name := c.Name
			c.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
				return exitCode(2, fmt.Errorf("%w (see agentperf %s --help)", err, name))
			}
		}
	}
	return &cli.App{
		Name:    "agentperf",
		Usage:   "measure inference hardware with your own coding-agent workload",
		Version: version,
		Description: `agentperf records real coding-agent sessions (Claude Code, Codex CLI,
opencode, SDK scripts) into Parquet trace sets, replays them against a target
endpoint as closed-loop simulated users, and reports the maximum concurrent
users a system sustains at each per-user output speed, per accelerator, per
kW, per dollar-hour and per rack.

The three steps talk only through files:

   record / import / synth  →  trace set (a directory of Parquet files)
   replay                   →  results.parquet (one row per request)
   analyze                  →  capacity table and report.html

Examples:
   agentperf synth --sessions 20 --out traces/demo
   agentperf inspect traces/demo
   agentperf replay --traces traces/demo --users 32 --duration 2m --out results.parquet
   agentperf analyze results.parquet --html report.html

Run 'agentperf COMMAND --help' for each command's flags and examples.`,
		Commands:             cmds,
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		HideHelpCommand:      true,
		OnUsageError: func(c *cli.Context, err error, isSub bool) error {
			return exitCode(2, fmt.Errorf("%w (see --help)", err))
		},
	}
}

// flagsFirst lets flags follow positional arguments ("inspect DIR --json",
// "import IN --out DIR"): urfave/cli v2 stops parsing flags at the first
// positional argument, so the subcommand's arguments are reordered flags
// first, then "--", then the positional arguments. A flag's value is taken
// from the next argument unless the flag is boolean or written --name=value.
// Arguments after a literal "--" stay positional.
func flagsFirst(args []string, cmds []*cli.Command) []string {
	if len(args) < 3 {
		return args
	}
	var cmd *cli.Command
	for _, c := range cmds {
		if c.HasName(args[1]) {
			cmd = c
		}
	}
	if cmd == nil {
		return args
	}
	bools := map[string]bool{"help": true, "h": true}
	for _, f := range cmd.Flags {
		if _, ok := f.(*cli.BoolFlag); ok {
			for _, n := range f.Names() {
				bools[n] = true
			}
		}
	}
	var flags, pos []string
	rest := args[2:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			pos = append(pos, rest[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if !strings.Contains(name, "=") && !bools[name] && i+1 < len(rest) {
			i++
			flags = append(flags, rest[i])
		}
	}
	if len(pos) == 0 {
		return args
	}
	out := append([]string{args[0], args[1]}, flags...)
	out = append(out, "--")
	return append(out, pos...)
}
