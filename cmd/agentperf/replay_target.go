package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/agentperf/agentperf/power"
	"github.com/agentperf/agentperf/replay"
	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/target"
	"github.com/urfave/cli/v2"
)

// The replay flags of the target's engine, request settings, context and
// power (issues 15 and 16): appended to the replay command's flags here,
// turned into its Config by targetConfig, summarised by printTarget.

func init() {
	for _, c := range commands {
		if c.Name == "replay" {
			c.Flags = append(c.Flags, targetFlags()...)
		}
	}
}

func targetFlags() []cli.Flag {
	engines := make([]string, 0, 9)
	for _, e := range target.Engines() {
		engines = append(engines, string(e))
	}
	return []cli.Flag{
		&cli.StringFlag{Name: "engine", Value: "auto", Usage: "the target's serving engine, whose dialect pins output length and reports usage, cached and reasoning tokens: " + strings.Join(engines, ", ") + " (auto detects it from /version, /v1/models and response headers; docs/engines.md)"},
		repeatFlag(&cli.GenericFlag{Name: "set", Usage: "set a request field in every body after translation, `PATH=JSON` with a dotted path (repeatable, applied in order after the presets; e.g. reasoning_effort='\"high\"', chat_template_kwargs.thinking=true)"}),
		&cli.StringFlag{Name: "sampling", Usage: "sampling preset `NAME` from the catalog: aa (temperature 0.7, top_p 0.8, top_k 20, min_p 0, as each API takes them); default: the recorded sampling"},
		&cli.StringFlag{Name: "model-preset", Usage: "model request preset `NAME` from the catalog (gpt-oss-120b: reasoning effort high; deepseek-v4, deepseek-v3.2: thinking); default: the one matching the model sent, none for no preset"},
		&cli.IntFlag{Name: "max-context", Usage: "the target's context length in `TOKENS` (default: what the target reports; nothing is cut when it reports none)"},
		&cli.StringFlag{Name: "context-policy", Value: "truncate", Usage: "sessions with a turn beyond the context: truncate (drop that turn and the later ones, as AA does), skip (drop the session) or fail (refuse to run)"},
		&cli.BoolFlag{Name: "no-probe", Usage: "skip the short request per API sent before the run to check streaming, usage and the output pin (the target is still asked what it is)"},
		repeatFlag(&cli.GenericFlag{Name: "power", Usage: "sample power during the run from `SOURCE` (repeatable): " + power.Syntax + "; samples go beside --out (docs/power.md); a failing source is reported, never fatal"}),
	}
}

// repeated is a flag value of which each occurrence is one value, commas
// included (a JSON array, nvidia-smi's --format=csv,noheader).
type repeated []string

func (r *repeated) Set(s string) error { *r = append(*r, s); return nil }
func (r *repeated) String() string {
	if r == nil {
		return ""
	}
	return strings.Join(*r, " ")
}

// repeatedFlag is a GenericFlag whose value is new on every parse, so
// one process can run the app more than once.
type repeatedFlag struct{ *cli.GenericFlag }

func repeatFlag(f *cli.GenericFlag) cli.Flag {
	f.Value = &repeated{}
	return repeatedFlag{f}
}

// Apply registers a fresh value for this parse.
func (f repeatedFlag) Apply(set *flag.FlagSet) error {
	g := *f.GenericFlag
	g.Value = &repeated{}
	return g.Apply(set)
}

// repeatedValues returns the values of a repeatedFlag in order.
func repeatedValues(c *cli.Context, name string) []string {
	if r, ok := c.Generic(name).(*repeated); ok && r != nil {
		return *r
	}
	return nil
}

// targetConfig sets cfg's engine, settings, presets, context, probe and
// power from the flags. embedded is set for the embedded simulator, which
// is neither asked what it is nor probed; out is the results file.
func targetConfig(c *cli.Context, cfg *replay.Config, embedded bool, out string) error {
	engine, err := target.ParseEngine(c.String("engine"))
	if err != nil {
		return exitCode(2, fmt.Errorf("--engine: %w", err))
	}
	if embedded && c.IsSet("engine") {
		return exitCode(2, errors.New("--engine needs --target: the embedded simulator's dialect is fixed"))
	}
	cfg.Engine = engine
	cfg.Settings, err = target.ParseSettings(repeatedValues(c, "set"))
	if err != nil {
		return exitCode(2, fmt.Errorf("--set: %w", err))
	}
	cfg.Sampling, cfg.ModelPreset = c.String("sampling"), c.String("model-preset")
	cfg.MaxContext = c.Int("max-context")
	if cfg.MaxContext < 0 {
		return exitCode(2, fmt.Errorf("--max-context %d: give the context length in tokens", cfg.MaxContext))
	}
	if cfg.ContextPolicy, err = target.ParseContextPolicy(c.String("context-policy")); err != nil {
		return exitCode(2, fmt.Errorf("--context-policy: %w", err))
	}
	cfg.Describe = !embedded
	cfg.Probe = !embedded && !c.Bool("no-probe")
	if c.Bool("no-probe") {
		cfg.Meta.ProbeSkipped = "--no-probe"
	}
	for _, spec := range repeatedValues(c, "power") {
		s, err := power.ParseSource(spec)
		if err != nil {
			return exitCode(2, fmt.Errorf("--power: %w", err))
		}
		cfg.Power = append(cfg.Power, s)
	}
	if len(cfg.Power) > 0 {
		cfg.PowerFile, cfg.PowerOverwrite = schemas.PowerPath(out), c.Bool("overwrite")
	}
	return nil
}

// targetError adds the flags to a refusal of Run's target preparation.
func targetError(err error) error {
	var refused *replay.ProbeRefusedError
	if errors.As(err, &refused) {
		msg := err.Error()
		for _, r := range refused.Results {
			msg += "\n  probe " + r.String()
		}
		if refused.PinIgnored() {
			msg += "\n(the target ignores the output-length pin: give --engine if it was detected wrongly, or --output-policy cap to run with outputs that may end early)"
		} else {
			msg += "\n(--no-probe runs without the check)"
		}
		return errors.New(msg)
	}
	return err
}

// printTarget prints what replay learned about the target and did to fit
// it: engine, settings, probe, context cuts and power.
func printTarget(w io.Writer, rep *replay.Report) {
	if rep == nil {
		return
	}
	if rep.Engine != "" && rep.Engine != "sim" {
		fmt.Fprintf(w, "target engine: %s\n", strings.TrimSpace(rep.Engine+" "+rep.EngineVersion))
	}
	for _, p := range rep.Probe {
		fmt.Fprintf(w, "probe %s\n", p)
	}
	if c := rep.Context; c != nil && c.Truncated+c.Skipped > 0 {
		fmt.Fprintf(w, "context %d tokens (%s): %d of %d sessions truncated, %d skipped, %d turns dropped\n",
			c.Limit, c.Source, c.Truncated, c.Sessions, c.Skipped, c.DroppedTurns)
	}
	if p := rep.Power; p != nil {
		file := p.File
		if file == "" {
			file = "not saved"
		}
		fmt.Fprintf(w, "power: %d samples, %d source(s), %d gap(s) (%s)\n", p.Samples, len(p.Sources), len(p.Gaps), file)
	}
}
