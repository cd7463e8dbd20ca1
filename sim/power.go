package sim

import "github.com/agentperf/agentperf/catalog"

// powerModel is one accelerator's power as a function of what an
// iteration asks of it (docs/sim.md, Power):
//
//	P = idle + compute · u_c + memory · u_m, capped at TDP
//
// with u_c and u_m the fractions of the iteration the tensor cores and the
// HBM are busy (its FLOPs and bytes at the rates its kernels reach, over
// the iteration's time).
// Between iterations an accelerator draws idle power.
type powerModel struct {
	idle, compute, memory, tdp float64 // W
	ok                         bool
}

func newPowerModel(hw *catalog.Hardware) powerModel {
	return powerModel{idle: hw.IdleWatts, compute: hw.ComputeWatts, memory: hw.MemoryWatts, tdp: hw.TDPWatts,
		ok: hw.IdleWatts > 0 && hw.TDPWatts > 0}
}

// watts is the power of an iteration of length d (s) with cost c.
func (pm powerModel) watts(c iterationCost, d float64) float64 {
	if !pm.ok {
		return 0
	}
	w := pm.idle
	if d > 0 {
		w += pm.compute*min(1, c.BusyCompute/d) + pm.memory*min(1, c.BusyMemory/d)
	}
	if pm.tdp > 0 && w > pm.tdp {
		w = pm.tdp
	}
	return w
}

func (pm powerModel) idleWatts() float64 {
	if !pm.ok {
		return 0
	}
	return pm.idle
}

// startIteration books in's energy up to t and starts an iteration of
// length d at t.
func (pm powerModel) startIteration(in *instance, t, d float64, c iterationCost) {
	in.joules = pm.joules(in, t)
	in.iterStart, in.iterEnd = t, t+d
	in.iterWatts = pm.watts(c, d)
}

// joules is the energy one of in's accelerators used over [0, t], J; t
// is at least the start of in's current iteration (earlier times give the
// energy at that start).
func (pm powerModel) joules(in *instance, t float64) float64 {
	j := in.joules
	if t > in.iterStart {
		j += in.iterWatts * (min(t, in.iterEnd) - in.iterStart)
	}
	if t > in.iterEnd {
		j += pm.idleWatts() * (t - in.iterEnd)
	}
	return j
}

// wattsAt is the power of one of in's accelerators at time t, W.
func (pm powerModel) wattsAt(in *instance, t float64) float64 {
	if t >= in.iterStart && t < in.iterEnd {
		return in.iterWatts
	}
	return pm.idleWatts()
}

// EnergyReading is the modelled energy of all the deployment's
// accelerators from simulated time 0 to At (s), in joules. Two readings
// give the energy and mean power of the interval between them (Since). A
// hardware entry without power figures reads zero.
type EnergyReading struct {
	At, Joules float64
}

// Since returns the energy (J) between prev and r and the mean power over
// that interval (W, all accelerators together); zero for an empty
// interval.
func (r EnergyReading) Since(prev EnergyReading) (joules, watts float64) {
	joules = r.Joules - prev.Joules
	if d := r.At - prev.At; d > 0 {
		watts = joules / d
	}
	return joules, watts
}

// Energy reads the accelerators' modelled energy from simulated time 0 to
// Now. Call it after RunUntil(t) to read the energy up to t.
func (e *Engine) Energy() EnergyReading {
	r := EnergyReading{At: e.now}
	tp := float64(e.plan.TP)
	for _, in := range e.insts {
		r.Joules += tp * e.power.joules(in, e.now)
	}
	for _, in := range e.pinsts {
		r.Joules += tp * e.power.joules(in, e.now)
	}
	return r
}

// AcceleratorWatts returns the modelled power of each accelerator at Now,
// W: the instances' accelerators in order (prefill instances last). A
// hardware entry without power figures gives nil.
func (e *Engine) AcceleratorWatts() []float64 {
	if !e.power.ok {
		return nil
	}
	out := make([]float64, 0, e.plan.Accelerators)
	for _, pool := range [][]*instance{e.insts, e.pinsts} {
		for _, in := range pool {
			w := e.power.wattsAt(in, e.now)
			for i := 0; i < e.plan.TP; i++ {
				out = append(out, w)
			}
		}
	}
	return out
}
