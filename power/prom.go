package power

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// maxScrapeBytes bounds a scrape's body: dcgm-exporter's full output for an
// 8-GPU node is about 100 KB.
const maxScrapeBytes = 16 << 20

// reading is one GPU's power.
type reading struct {
	ID    string
	Watts float64
	Err   error // the reading could not be parsed
}

// parseExposition returns the series of metric in a Prometheus text
// exposition that match all of match, one reading per series, values times
// scale (0 = 1), ordered by GPU id. Only the lines of metric's family are
// parsed, so a malformed line of another metric does not spoil the scrape.
func parseExposition(body []byte, metric string, match []Matcher, scale float64) ([]reading, error) {
	if scale == 0 {
		scale = 1
	}
	family, typ, others := familyLines(body, metric)
	if len(family) == 0 {
		return nil, fmt.Errorf("no metric %s in the scrape%s", metric, similarMetrics(others))
	}
	if typ != "" && typ != "gauge" && typ != "untyped" && typ != "counter" {
		return nil, fmt.Errorf("metric %s is a %s, not a gauge of watts", metric, typ)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(family))
	if err != nil {
		return nil, fmt.Errorf("metric %s: %v", metric, err)
	}
	mf := fams[metric]
	if mf == nil || len(mf.GetMetric()) == 0 {
		return nil, fmt.Errorf("metric %s has no samples in the scrape", metric)
	}
	var out []reading
	labelNames := map[string]bool{}
	for _, m := range mf.GetMetric() {
		labels := map[string]string{}
		for _, lp := range m.GetLabel() {
			labels[lp.GetName()] = lp.GetValue()
			labelNames[lp.GetName()] = true
		}
		if !matchAll(match, labels) {
			continue
		}
		v, ok := metricValue(m)
		if !ok {
			return nil, fmt.Errorf("metric %s is a %s, not a gauge of watts", metric, strings.ToLower(mf.GetType().String()))
		}
		r := reading{ID: seriesID(labels), Watts: v * scale}
		if math.IsNaN(r.Watts) || math.IsInf(r.Watts, 0) || r.Watts < 0 {
			r.Err = fmt.Errorf("GPU %s: %s = %v", r.ID, metric, v)
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		names := make([]string, 0, len(labelNames))
		for n := range labelNames {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("none of the %d series of %s match %v (their labels: %s)", len(mf.GetMetric()), metric, match, strings.Join(names, ", "))
	}
	sortReadings(out)
	return out, nil
}

func matchAll(match []Matcher, labels map[string]string) bool {
	for _, m := range match {
		if !m.Matches(labels[m.Name]) {
			return false
		}
	}
	return true
}

func metricValue(m *dto.Metric) (float64, bool) {
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue(), true
	case m.Untyped != nil:
		return m.Untyped.GetValue(), true
	case m.Counter != nil:
		return m.Counter.GetValue(), true
	}
	return 0, false
}

// seriesID names a series' GPU: its gpu label, else its labels in order.
func seriesID(labels map[string]string) string {
	if id, ok := labels["gpu"]; ok {
		return id
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k + "=" + strconv.Quote(labels[k]))
	}
	b.WriteByte('}')
	return b.String()
}

// sortReadings orders readings by id, numerically where both are numbers.
func sortReadings(rs []reading) {
	slices.SortStableFunc(rs, func(a, b reading) int {
		x, errx := strconv.Atoi(a.ID)
		y, erry := strconv.Atoi(b.ID)
		if errx == nil && erry == nil {
			return x - y
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// familyLines returns the lines of body that belong to metric's family (its
// samples and its HELP and TYPE comments), its declared type, and the names
// of other metrics.
func familyLines(body []byte, metric string) (family []byte, typ string, others []string) {
	seen := map[string]bool{}
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		line = bytes.TrimRight(line, "\r")
		trimmed := bytes.TrimLeft(line, " \t")
		name := trimmed
		if c, ok := bytes.CutPrefix(trimmed, []byte("#")); ok {
			f := bytes.Fields(c)
			if len(f) < 2 || !(string(f[0]) == "HELP" || string(f[0]) == "TYPE") {
				continue
			}
			name = f[1]
			if string(f[0]) == "TYPE" && string(name) == metric && len(f) > 2 {
				typ = strings.ToLower(string(f[2]))
			}
		} else if i := bytes.IndexAny(trimmed, "{ \t"); i >= 0 {
			name = trimmed[:i]
		}
		if string(name) == metric {
			family = append(append(family, trimmed...), '\n')
		} else if len(name) > 0 && !seen[string(name)] && len(seen) < 10000 {
			seen[string(name)] = true
			others = append(others, string(name))
		}
	}
	return family, typ, others
}

// similarMetrics suggests metric names that look like power, for an error.
func similarMetrics(names []string) string {
	var out []string
	for _, n := range names {
		if strings.Contains(strings.ToLower(n), "power") || strings.Contains(strings.ToLower(n), "watt") {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return fmt.Sprintf(" (%d other metrics, none about power)", len(names))
	}
	sort.Strings(out)
	if len(out) > 8 {
		out = append(out[:8], "…")
	}
	return "; metrics about power: " + strings.Join(out, ", ") + " (choose one with metric=NAME)"
}

// promSource scrapes a Prometheus endpoint.
type promSource struct {
	src    Source
	client *http.Client
}

func (p promSource) run(ctx context.Context, t *tracker) {
	every := orDuration(p.src.Interval, DefaultInterval)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		start := time.Now()
		rs, err := p.scrape(ctx, max(every, 2*time.Second))
		end := time.Now()
		if ctx.Err() != nil {
			return
		}
		// A scrape's time is the middle of the request: the exporter read
		// its cached values somewhere within it.
		at := start.Add(end.Sub(start) / 2)
		if err != nil {
			t.fail(at, err)
		} else {
			t.take(at, rs)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (p promSource) scrape(ctx context.Context, timeout time.Duration) ([]reading, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.src.URL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4;q=1,*/*;q=0.1")
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, scrubURLError(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxScrapeBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the scrape: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s: %s", resp.Status, firstLine(body, 200))
	}
	if len(body) > maxScrapeBytes {
		return nil, fmt.Errorf("scrape larger than %d MiB", maxScrapeBytes>>20)
	}
	return parseExposition(body, p.src.Metric, p.src.Match, p.src.Scale)
}

// scrubURLError drops the URL (which may carry credentials) from an HTTP
// client error, keeping the cause.
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Errorf("%s: no answer in time (%v)", ue.Op, ue.Err)
		}
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

func firstLine(b []byte, n int) string {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	if len(b) > n {
		b = b[:n]
	}
	return strings.TrimSpace(string(b))
}

func orDuration(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
