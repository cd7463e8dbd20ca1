package proxy

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the recorder's Prometheus metrics, served at /metrics.
type Metrics struct {
	reg      *prometheus.Registry
	turns    *prometheus.CounterVec
	tokens   *prometheus.CounterVec
	bytes    *prometheus.CounterVec
	drops    *prometheus.CounterVec
	spilled  prometheus.Counter
	sessions prometheus.Counter
	lag      prometheus.Histogram
	errors   prometheus.Counter
}

// NewMetrics registers the metrics in a new registry, with a gauge for
// the recorder's queue once Attach is called.
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{reg: reg,
		turns: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "agentperf_record_turns_total",
			Help: "Turns made durable in the spool, by API."}, []string{"api"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "agentperf_record_tokens_total",
			Help: "Provider-reported tokens of durable turns, by kind (input includes cached and cache_write)."}, []string{"kind"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "agentperf_record_bytes_total",
			Help: "Bytes of captured LLM API calls, by direction."}, []string{"direction"}),
		drops: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "agentperf_record_drops_total",
			Help: "Calls lost (not in the trace set), by reason: queue_full (capture queue and spill full), spool_write (spool write or fsync failed, e.g. a full disk), after_close (ended after shutdown), capture_error. Should stay 0."}, []string{"reason"}),
		spilled: prometheus.NewCounter(prometheus.CounterOpts{Name: "agentperf_record_spilled_total",
			Help: "Calls that overflowed the capture queue into the in-memory spill (still recorded)."}),
		sessions: prometheus.NewCounter(prometheus.CounterOpts{Name: "agentperf_record_sessions_total",
			Help: "Sessions started."}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "agentperf_record_spool_lag_seconds",
			Help:    "Time from a turn's end to its fsync in the spool.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5, 10}}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{Name: "agentperf_record_failed_turns_total",
			Help: "Durable turns with an error (HTTP error, truncated stream, parse note)."}),
	}
	for _, r := range []string{DropQueueFull, DropSpoolWrite, DropAfterClose, DropCaptureError} {
		m.drops.WithLabelValues(r) // listed at 0 from the start
	}
	reg.MustRegister(m.turns, m.tokens, m.bytes, m.drops, m.spilled, m.sessions, m.lag, m.errors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Attach adds gauges that read r's queue depth.
func (m *Metrics) Attach(r *Recorder) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "agentperf_record_queue_depth",
		Help: "Calls waiting for the capture goroutine (queue plus spill)."},
		func() float64 { return float64(r.Stats().Queued) }))
}

func (m *Metrics) turnDurable(t *spoolTurn, nowNS int64) {
	m.turns.WithLabelValues(t.API).Inc()
	add := func(kind string, v *int64) {
		if v != nil {
			m.tokens.WithLabelValues(kind).Add(float64(*v))
		}
	}
	add("input", t.Usage.Input)
	add("cached", t.Usage.Cached)
	add("cache_write", t.Usage.CacheWrite)
	add("output", t.Usage.Output)
	add("reasoning", t.Usage.Reasoning)
	if t.EndNS > 0 {
		m.lag.Observe(float64(nowNS-t.EndNS) / 1e9)
	}
	if t.Error != "" {
		m.errors.Inc()
	}
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// StatusLine formats s as the one-line live status record prints.
func StatusLine(s Stats, elapsed time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "recording %s: %d sessions, %d turns, %s in (%s cached) / %s out tokens",
		elapsed.Truncate(time.Second), s.Sessions, s.Turns, human(s.InputTokens), human(s.CachedTokens), human(s.OutputTokens))
	if s.Queued > 0 {
		fmt.Fprintf(&b, ", %d queued", s.Queued)
	}
	if s.Dropped > 0 {
		fmt.Fprintf(&b, ", %d DROPPED", s.Dropped)
	}
	return b.String()
}

func human(n int64) string {
	switch {
	case n >= 10_000_000:
		return fmt.Sprintf("%.0fM", float64(n)/1e6)
	case n >= 1_000_000:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 10_000:
		return fmt.Sprintf("%.0fk", float64(n)/1e3)
	case n >= 1000:
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}
