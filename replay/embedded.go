package replay

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/sim"
)

// Simulator is the embedded simulator serving on a loopback port, the
// default target when no --target is given.
type Simulator struct {
	// URL is the base URL to send to.
	URL string
	// Plan is the resolved simulated deployment.
	Plan *sim.Plan

	srv *sim.Server
	hs  *http.Server
	ln  net.Listener
}

// StartSimulator starts sim in-process with cfg on 127.0.0.1 and an
// ephemeral port.
func StartSimulator(cfg sim.Config) (*Simulator, error) {
	srv, err := sim.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("starting the embedded simulator: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return nil, err
	}
	hs := srv.HTTPServer()
	go hs.Serve(ln)
	return &Simulator{URL: "http://" + ln.Addr().String(), Plan: srv.Plan(), srv: srv, hs: hs, ln: ln}, nil
}

// Meta describes the simulated deployment for the results metadata.
func (s *Simulator) Meta() schemas.RunMeta {
	p := s.Plan
	return schemas.RunMeta{
		Target: "sim", Hardware: p.Hardware.Name, Accelerators: p.Accelerators, Model: p.Model.Name,
		System: fmt.Sprintf("sim: %d×%s %s (simulated)", p.Accelerators, p.Hardware.Name, p.Model.Name),
		Sim:    &schemas.SimMeta{TP: p.TP, Instances: p.Instances},
	}
}

// Close stops the simulator and its listener.
func (s *Simulator) Close() error {
	s.srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = s.hs.Shutdown(ctx)
	return nil
}
