package inspect

import "github.com/agentperf/agentperf/internal/hist"

// histogram summarizes non-negative values in bounded memory: the project's
// one histogram (internal/hist), exact up to hist.ExactValues values, then
// within 2^-11 of the value (plus half a unit).
type histogram struct{ h *hist.Hist }

func (h *histogram) add(v float64) {
	if h.h == nil {
		h.h = hist.New(1)
	}
	h.h.Add(v)
}

// Dist is a distribution summary as inspect reports it.
type Dist struct {
	// Count is the number of values.
	Count int64 `json:"count"`
	// Min, Mean, P50, P95, P99 and Max are in the unit the field names
	// (tokens, seconds, turns); 0 when Count is 0. Percentiles are nearest
	// rank: exact up to 32,768 values, within 0.05 % beyond.
	Min  float64 `json:"min"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// dist summarizes the values divided by div (1, or 1e9 for ns → s).
func (h *histogram) dist(div float64) Dist {
	if h.h == nil || h.h.Count() == 0 {
		return Dist{}
	}
	d := h.h
	return Dist{
		Count: d.Count(),
		Min:   d.Min() / div,
		Mean:  d.Mean() / div,
		P50:   d.Quantile(0.50) / div,
		P95:   d.Quantile(0.95) / div,
		P99:   d.Quantile(0.99) / div,
		Max:   d.Max() / div,
	}
}
