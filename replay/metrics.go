package replay

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/agentperf/agentperf/schemas"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics exposes a run's live state to Prometheus under agentperf_replay_*.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	tokens   prometheus.Counter
	active   prometheus.Gauge
	level    prometheus.Gauge
	users    prometheus.Gauge
	ttft     prometheus.Histogram
}

// NewMetrics returns metrics in their own registry.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "agentperf_replay_requests_total",
		Help: "Requests finished, by HTTP status (0 = no response) and outcome (ok or error)."}, []string{"status", "outcome"})
	m.tokens = prometheus.NewCounter(prometheus.CounterOpts{Name: "agentperf_replay_output_tokens_total",
		Help: "Output tokens received (target-reported, else counted chunks)."})
	m.active = prometheus.NewGauge(prometheus.GaugeOpts{Name: "agentperf_replay_active_users",
		Help: "Simulated users (or open-loop sessions) currently running."})
	m.level = prometheus.NewGauge(prometheus.GaugeOpts{Name: "agentperf_replay_level",
		Help: "Index of the load level being run."})
	m.users = prometheus.NewGauge(prometheus.GaugeOpts{Name: "agentperf_replay_level_users",
		Help: "Users of the level being run, summed over shards."})
	m.ttft = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "agentperf_replay_ttft_seconds",
		Help:    "Time to first token, world seconds.",
		Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)})
	m.reg.MustRegister(m.requests, m.tokens, m.active, m.level, m.users, m.ttft)
	return m
}

func (m *Metrics) observe(res *schemas.Result, failed bool, outTok int64) {
	outcome := "ok"
	if failed {
		outcome = "error"
	}
	m.requests.WithLabelValues(strconv.Itoa(int(res.Status)), outcome).Inc()
	m.tokens.Add(float64(outTok))
	if res.FirstTokenNS > 0 {
		m.ttft.Observe(float64(res.FirstTokenNS-res.SentNS) / 1e9)
	}
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Serve listens on addr and serves /metrics until ctx is done. It returns
// once listening, with the bound address; serving errors after that are
// dropped.
func (m *Metrics) Serve(ctx context.Context, addr string) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err
		}
	}()
	return ln.Addr(), nil
}
