package sim

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics is the server's Prometheus registry (one per Server, so several
// servers can run in one process).
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
}

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "agentperf_sim_requests_total", Help: "HTTP generation requests by API and status code.",
	}, []string{"api", "code"})
	labels := prometheus.Labels{"model": s.plan.Model.Name, "hardware": s.plan.Hardware.Name}
	gauge := func(name, help string, f func(Stats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels},
			func() float64 { return f(s.Stats()) })
	}
	counter := func(name, help string, f func(Stats) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels},
			func() float64 { return f(s.Stats()) })
	}
	p := s.plan
	if p.Hardware.IdleWatts > 0 {
		m.reg.MustRegister(newPowerCollector(s.plan, s.Stats, s.simNow))
	}
	m.reg.MustRegister(
		m.requests,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "agentperf_sim_time_scale",
			Help: "K: simulated time runs K times faster than wall time; multiply measured durations by K.", ConstLabels: labels},
			func() float64 { return s.scale }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "agentperf_sim_accelerators", Help: "Accelerators simulated.", ConstLabels: labels},
			func() float64 { return float64(p.Accelerators) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "agentperf_sim_loop_lag_seconds",
			Help: "Wall time the engine loop was behind its schedule at its last wake-up (non-zero means the host is too slow for the time scale).", ConstLabels: labels},
			func() float64 { return s.Lag().Seconds() }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "agentperf_sim_loop_lag_seconds_total",
			Help: "Sum over engine-loop wake-ups with events due of how late (wall) the loop ran; divide by agentperf_sim_loop_due_wakeups_total for the mean.", ConstLabels: labels},
			func() float64 { return float64(s.lagSum.Load()) / 1e9 }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "agentperf_sim_loop_due_wakeups_total",
			Help: "Engine-loop wake-ups that found events due.", ConstLabels: labels},
			func() float64 { return float64(s.lagCount.Load()) }),
		gauge("agentperf_sim_running_requests", "Requests in the running batches.", func(st Stats) float64 { return float64(st.Running + st.PrefillRunning) }),
		gauge("agentperf_sim_waiting_requests", "Requests queued for admission.", func(st Stats) float64 { return float64(st.Waiting + st.PrefillWaiting) }),
		gauge("agentperf_sim_kv_cache_usage_ratio", "Used fraction of the KV cache, over all instances.", func(st Stats) float64 {
			if st.KVCapacityTokens == 0 {
				return 0
			}
			return float64(st.KVUsedTokens) / float64(st.KVCapacityTokens)
		}),
		gauge("agentperf_sim_simulated_seconds", "The engine's simulated clock.", func(st Stats) float64 { return st.SimulatedSeconds }),
		counter("agentperf_sim_prompt_tokens_total", "Prompt tokens received.", func(st Stats) float64 { return float64(st.PromptTokens) }),
		counter("agentperf_sim_prefix_cache_hit_tokens_total", "Prompt tokens served from the prefix cache.", func(st Stats) float64 { return float64(st.CachedTokens) }),
		counter("agentperf_sim_generation_tokens_total", "Tokens generated.", func(st Stats) float64 { return float64(st.GeneratedTokens) }),
		counter("agentperf_sim_preemptions_total", "Requests that lost their KV cache to make room.", func(st Stats) float64 { return float64(st.Preemptions) }),
		counter("agentperf_sim_iterations_total", "Engine iterations run, over all instances.", func(st Stats) float64 { return float64(st.Iterations) }),
		counter("agentperf_sim_busy_seconds_total", "Simulated time instances spent in iterations.", func(st Stats) float64 { return st.BusySeconds }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "agentperf_sim_tokenized_bytes_total",
			Help: "Request bytes run through the tokenizer (content not seen before).", ConstLabels: labels},
			func() float64 { return float64(s.counts.tokenized.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "agentperf_sim_token_count_cache_hits_total",
			Help: "Prompt segments whose token count came from the cache.", ConstLabels: labels},
			func() float64 { return float64(s.counts.hits.Load()) }),
	)
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *metrics) request(api apiKind, code int) {
	m.requests.WithLabelValues(api.String(), strconv.Itoa(code)).Inc()
}

// powerCollector exposes the power model as dcgm-exporter does, so a
// power sampler pointed at a real node's dcgm-exporter reads the
// simulator the same way: DCGM_FI_DEV_POWER_USAGE (gauge, W) and
// DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION (counter, mJ), one series per
// accelerator with dcgm-exporter's labels gpu, UUID, device, modelName and
// Hostname (docs/sim.md, Power).
type powerCollector struct {
	power, energy *prometheus.Desc
	labels        [][]string // per accelerator
	stats         func() Stats
	now           func() float64 // simulated time now, s
}

func newPowerCollector(p *Plan, stats func() Stats, now func() float64) *powerCollector {
	names := []string{"gpu", "UUID", "device", "modelName", "Hostname"}
	c := &powerCollector{
		power:  prometheus.NewDesc("DCGM_FI_DEV_POWER_USAGE", "Power draw (in W).", names, nil),
		energy: prometheus.NewDesc("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "Total energy consumption since boot (in mJ).", names, nil),
		stats:  stats,
		now:    now,
	}
	model := p.Hardware.Description
	if model == "" {
		model = p.Hardware.Name
	}
	for i := 0; i < p.Accelerators; i++ {
		c.labels = append(c.labels, []string{strconv.Itoa(i), fmt.Sprintf("GPU-a9e47000-0000-4000-8000-%012d", i),
			"nvidia" + strconv.Itoa(i), model, "agentperf-sim"})
	}
	return c
}

func (c *powerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.power
	ch <- c.energy
}

func (c *powerCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	// The snapshot is from the engine loop's last wake-up; an idle engine
	// sleeps, so its energy runs on at the snapshot's power until now.
	since := max(c.now()-st.SimulatedSeconds, 0)
	for i, l := range c.labels {
		if i >= len(st.Watts) || i >= len(st.Joules) {
			break
		}
		ch <- prometheus.MustNewConstMetric(c.power, prometheus.GaugeValue, st.Watts[i], l...)
		ch <- prometheus.MustNewConstMetric(c.energy, prometheus.CounterValue, (st.Joules[i]+st.Watts[i]*since)*1000, l...)
	}
}
