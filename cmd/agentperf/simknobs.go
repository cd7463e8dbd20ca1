package main

import (
	"github.com/agentperf/agentperf/catalog"
	"github.com/agentperf/agentperf/sim"
	"github.com/urfave/cli/v2"
)

// The simulator's deployment knobs on replay (without --target) and plan
// (issue 13), so that a user need not start 'agentperf sim' to use them:
// appended to both commands' flags here, read by simKnobs. Their meaning is
// agentperf sim's (docs/sim.md).

func init() {
	for _, c := range commands {
		if c.Name == "replay" || c.Name == "plan" {
			c.Flags = append(c.Flags, simKnobFlags(c.Name == "replay")...)
		}
	}
}

func simKnobFlags(replay bool) []cli.Flag {
	only := ""
	if replay {
		only = " (without --target)"
	}
	return []cli.Flag{
		&cli.StringFlag{Name: "sim-engine", Value: sim.DefaultEngine, Usage: "simulated serving-engine profile `NAME` (vllm, sglang, trtllm)" + only},
		&cli.IntFlag{Name: "tp", Usage: "simulated accelerators per engine instance; accelerators/tp instances run data-parallel (default: smallest that fits)" + only},
		&cli.BoolFlag{Name: "expert-parallel", Usage: "simulated MoE experts across the instance with data-parallel attention" + only},
		&cli.IntFlag{Name: "spec-draft-tokens", Usage: "simulated speculative decoding draft tokens per step (default: the model's MTP heads where the engine uses them; -1 = off)" + only},
		&cli.Float64Flag{Name: "spec-acceptance", Usage: "simulated probability each draft token is accepted (default: the model's MTP acceptance, else 0.7)" + only},
		&cli.IntFlag{Name: "prefill-accelerators", Usage: "simulated disaggregation: this many of the accelerators run prefill-only instances" + only},
		&cli.StringFlag{Name: "catalog", Usage: "YAML `FILE` overlaying the embedded hardware/model catalog of the simulator" + only},
	}
}

// simKnobs sets the simulator knobs of the flags in cfg; an unreadable
// catalog is a usage error.
func simKnobs(c *cli.Context, cfg *sim.Config) error {
	if f := c.String("catalog"); f != "" {
		cat, err := catalog.Load(f)
		if err != nil {
			return exitCode(2, err)
		}
		cfg.Catalog = cat
	}
	cfg.Engine, cfg.TP, cfg.ExpertParallel = c.String("sim-engine"), c.Int("tp"), c.Bool("expert-parallel")
	cfg.SpecDraftTokens, cfg.SpecAcceptance = c.Int("spec-draft-tokens"), c.Float64("spec-acceptance")
	cfg.PrefillAccelerators = c.Int("prefill-accelerators")
	return nil
}

// simKnobSet returns the first simulator knob given on the command line
// ("" when none): replay refuses them with --target.
func simKnobSet(c *cli.Context) string {
	for _, f := range simKnobFlags(false) {
		if n := f.Names()[0]; c.IsSet(n) {
			return n
		}
	}
	return ""
}
