package replay

import (
	"fmt"

	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/sim"
)

// Simulator is the embedded simulator serving on a loopback port, the
// default target when no target is given.
type Simulator struct {
	*sim.Running
}

// StartSimulator starts sim in-process with cfg on 127.0.0.1 and an
// ephemeral port.
func StartSimulator(cfg sim.Config) (*Simulator, error) {
	s, err := sim.Start(cfg, "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the embedded simulator: %w", err)
	}
	return &Simulator{s}, nil
}

// Meta describes the simulated deployment for the results metadata.
func (s *Simulator) Meta() schemas.RunMeta {
	p := s.Plan()
	return schemas.RunMeta{
		Target: "sim", Hardware: p.Hardware.Name, Accelerators: p.Accelerators, Model: p.Model.Name,
		System: fmt.Sprintf("sim: %d×%s %s (simulated)", p.Accelerators, p.Hardware.Name, p.Model.Name),
		Sim:    &schemas.SimMeta{TP: p.TP, Instances: p.Instances},
		Engine: "sim", EngineSource: EngineEmbedded,
	}
}
