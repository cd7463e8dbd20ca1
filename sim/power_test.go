package sim

import (
	"bufio"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/catalog"
)

// TestPowerIdleBelowLoadedBelowTDP runs every catalog accelerator with
// power figures idle and under load: idle draws the catalog idle power,
// load draws more, and no iteration draws more than TDP.
func TestPowerIdleBelowLoadedBelowTDP(t *testing.T) {
	for _, hw := range catalog.Default().Hardware {
		t.Run(hw.Name, func(t *testing.T) {
			if hw.IdleWatts <= 0 {
				t.Fatalf("%s has no power figures", hw.Name)
			}
			p, err := Resolve(Config{Hardware: hw.Name, Model: "gpt-oss-120b", Accelerators: 1, TP: 1})
			if err != nil {
				t.Skip(err) // the model does not fit on one
			}
			e := NewEngine(p)
			e.RunUntil(10)
			idle := e.Energy()
			if _, w := idle.Since(EnergyReading{}); math.Abs(w-hw.IdleWatts) > 1e-9 {
				t.Errorf("idle: %.3f W, want %v", w, hw.IdleWatts)
			}
			load := Simulate(p, Workload{Users: 64, Requests: 2, PromptTokens: 2048, OutputTokens: 256})
			j, w := load.Energy.Since(EnergyReading{})
			if j <= 0 || w <= hw.IdleWatts {
				t.Errorf("loaded mean power %.1f W is not above idle %v W", w, hw.IdleWatts)
			}
			if w > hw.TDPWatts {
				t.Errorf("loaded mean power %.1f W is above TDP %v W", w, hw.TDPWatts)
			}
			// Iterations at the extremes: prefill at full tensor use, a
			// pure weight read.
			pm := newPowerModel(&hw)
			for _, c := range []iterationCost{{BusyCompute: 1, BusyMemory: 1}, {BusyCompute: 1}, {BusyMemory: 1}, {}} {
				if got := pm.watts(c, 1); got > hw.TDPWatts || got < hw.IdleWatts {
					t.Errorf("watts(%+v) = %v, want within [%v, %v]", c, got, hw.IdleWatts, hw.TDPWatts)
				}
			}
		})
	}
}

func TestEnergyReadingSince(t *testing.T) {
	p := testPlan(t, Config{})
	if p.Hardware.IdleWatts != 0 {
		t.Fatal("the toy hardware has no power figures")
	}
	e := NewEngine(p)
	e.RunUntil(5)
	if r := e.Energy(); r.Joules != 0 || e.AcceleratorWatts() != nil {
		t.Errorf("hardware without power figures read %v J, %v W", r.Joules, e.AcceleratorWatts())
	}
	cat := testCatalog(20)
	cat.Hardware[0].IdleWatts, cat.Hardware[0].ComputeWatts, cat.Hardware[0].MemoryWatts, cat.Hardware[0].TDPWatts = 100, 400, 200, 500
	p = testPlan(t, Config{Catalog: cat})
	e = NewEngine(p)
	e.RunUntil(2)
	a := e.Energy()
	r := &Request{PromptTokens: 1000, Blocks: blocks(1, 1000), OutputTokens: 50}
	e.Submit(r, 2)
	runAll(e)
	e.RunUntil(r.Finished + 1)
	b := e.Energy()
	j, w := b.Since(a)
	busy := r.Finished - 2
	// Decode reads 10 GB per 10.1 ms + 1 ms: u_m ≈ 0.9, so the busy time
	// draws between idle and idle + memory + compute.
	if w <= 100 || w >= 500 {
		t.Errorf("mean power over the request %.1f W, want between idle 100 and TDP 500", w)
	}
	if lo := 100 * (busy + 1); j <= lo {
		t.Errorf("energy %.2f J not above idle × interval %.2f J", j, lo)
	}
	if _, w0 := a.Since(EnergyReading{}); math.Abs(w0-100) > 1e-9 {
		t.Errorf("idle before the request %.3f W, want 100", w0)
	}
}

// TestMetricsPowerGauge reads /metrics in dcgm-exporter's format: one
// DCGM_FI_DEV_POWER_USAGE series per accelerator, in watts within
// [idle, TDP], and the energy counter in mJ.
func TestMetricsPowerGauge(t *testing.T) {
	srv, hs := startServer(t, Config{Hardware: "h200", Accelerators: 2, TP: 1})
	post(t, hs.URL+"/v1/chat/completions", `{"model":"m","max_tokens":20,"messages":[{"role":"user","content":"hello there"}]}`)
	resp, err := http.Get(hs.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	hw := srv.Plan().Hardware
	power, energy := map[string]float64{}, map[string]float64{}
	var help, typ bool
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "# HELP DCGM_FI_DEV_POWER_USAGE Power draw (in W).":
			help = true
		case line == "# TYPE DCGM_FI_DEV_POWER_USAGE gauge":
			typ = true
		case strings.HasPrefix(line, "DCGM_FI_DEV_POWER_USAGE{"), strings.HasPrefix(line, "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{"):
			i := strings.LastIndexByte(line, ' ')
			v, err := strconv.ParseFloat(line[i+1:], 64)
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			labels := line[strings.IndexByte(line, '{'):i]
			for _, l := range []string{`device="nvidia`, `modelName="NVIDIA H200 SXM 141GB"`, `Hostname="agentperf-sim"`, `UUID="GPU-`} {
				if !strings.Contains(labels, l) {
					t.Errorf("%q lacks label %s", line, l)
				}
			}
			gpu := labels[strings.Index(labels, `gpu="`)+5:]
			gpu = gpu[:strings.IndexByte(gpu, '"')]
			if strings.HasPrefix(line, "DCGM_FI_DEV_POWER_USAGE") {
				power[gpu] = v
			} else {
				energy[gpu] = v
			}
		}
	}
	if !help || !typ {
		t.Error("no HELP/TYPE lines for DCGM_FI_DEV_POWER_USAGE")
	}
	if len(power) != 2 || len(energy) != 2 {
		t.Fatalf("power series %v, energy series %v; want gpu 0 and 1 each", power, energy)
	}
	for gpu, w := range power {
		if w < hw.IdleWatts || w > hw.TDPWatts {
			t.Errorf("gpu %s: %v W outside [%v, %v]", gpu, w, hw.IdleWatts, hw.TDPWatts)
		}
		if energy[gpu] <= 0 {
			t.Errorf("gpu %s: energy %v mJ", gpu, energy[gpu])
		}
	}
}
