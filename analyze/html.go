package analyze

import (
	"encoding/json"
	"fmt"
	"github.com/agentperf/agentperf/capacity"
	"html"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// palette colours the result sets (systems) in charts, in order.
var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"}

func color(i int) string { return palette[i%len(palette)] }

var esc = html.EscapeString

// WriteHTML renders the report as one self-contained HTML page: inline CSS
// and inline SVG charts, no script and no network access. It shows the
// throughput-vs-interactivity frontier of every set, each set's capacity
// table, TTFT and output-speed distributions per level, the level table,
// verdicts, validity flags and run metadata; sets appear side by side.
func WriteHTML(w io.Writer, rep *Report) error {
	ew := &errWriter{w: w}
	var names []string
	for _, s := range rep.Sets {
		names = append(names, s.Name)
	}
	fmt.Fprintf(ew, `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>agentperf capacity report — %s</title>
<style>%s</style>
</head>
<body>
<header><h1>agentperf capacity report</h1><p>%s</p></header>
`, esc(strings.Join(names, " vs ")), reportCSS, esc(fmt.Sprintf("%d result set(s): %s", len(rep.Sets), strings.Join(names, ", "))))

	// validity first, prominently
	flagged := false
	for _, set := range rep.Sets {
		if v := set.validity(); len(v) > 0 {
			if !flagged {
				fmt.Fprintf(ew, "<section class=\"validity\" id=\"validity\"><h2>⚠ Validity</h2>\n")
				flagged = true
			}
			fmt.Fprintf(ew, "<h3>%s</h3><ul>\n", esc(set.Name))
			for _, s := range v {
				fmt.Fprintf(ew, "<li>%s</li>\n", esc(s))
			}
			fmt.Fprintf(ew, "</ul>\n")
		}
	}
	if flagged {
		fmt.Fprintf(ew, "<p>Flagged figures are shown but should not be trusted (or would not be accepted by AA-AgentPerf); definitions in docs/analyze.md.</p></section>\n")
	} else {
		fmt.Fprintf(ew, "<section class=\"valid\" id=\"validity\"><h2>Validity</h2><p>Every level of every set is valid.</p></section>\n")
	}

	fmt.Fprintf(ew, "<section id=\"capacity\"><h2>Capacity at speed tiers</h2><div class=\"sets\">\n")
	for si, set := range rep.Sets {
		fmt.Fprintf(ew, "<div class=\"card\"><h3><span class=\"swatch\" style=\"background:%s\"></span>%s</h3>\n", color(si), esc(set.Name))
		fmt.Fprintf(ew, "<p class=\"sub\">%s · %s · tiers: %s</p>\n", esc(orDash(set.Model)), esc(set.hardwareLine()), esc(set.TierSource))
		g := set.capacityGrid()
		writeHTMLTable(ew, g, "capacity")
		ew.Write([]byte(capacitySVG(set, si)))
		fmt.Fprintf(ew, "<ul class=\"summary\">\n")
		for _, s := range set.tierSummary() {
			fmt.Fprintf(ew, "<li>%s</li>\n", esc(s))
		}
		fmt.Fprintf(ew, "</ul></div>\n")
	}
	fmt.Fprintf(ew, "</div></section>\n")

	fmt.Fprintf(ew, "<section id=\"frontier\"><h2>Throughput vs interactivity</h2>\n")
	ew.Write([]byte(frontierSVG(rep)))
	fmt.Fprintf(ew, "<p class=\"sub\">Each point is a concurrency level (labelled with its users): x = median output speed one user sees (P50, tok/s per user); y = output tokens per second the whole system delivered over the steady-state window, per accelerator. Up and to the right is better; dashed lines are tier speed floors.</p></section>\n")

	fmt.Fprintf(ew, "<section id=\"distributions\"><h2>Distributions per level</h2><div class=\"sets\">\n")
	for si, set := range rep.Sets {
		fmt.Fprintf(ew, "<div class=\"card\"><h3><span class=\"swatch\" style=\"background:%s\"></span>%s</h3>\n", color(si), esc(set.Name))
		ew.Write([]byte(boxSVG(set, si, "ttft")))
		ew.Write([]byte(boxSVG(set, si, "speed")))
		fmt.Fprintf(ew, "<p class=\"sub\">Boxes span P25–P75 with the median marked; whiskers P5–P95; dots P99. Black error bars beside each box: the 90 %% confidence interval of P95 TTFT and of P25 output speed (sessions resampled; docs/capacity.md). Dashed lines: tier TTFT ceilings and speed floors.</p></div>\n")
	}
	fmt.Fprintf(ew, "</div></section>\n")

	if hasPower(rep) {
		fmt.Fprintf(ew, "<section id=\"power\"><h2>Measured power</h2><div class=\"sets\">\n")
		for si, set := range rep.Sets {
			if set.Power == nil {
				continue
			}
			fmt.Fprintf(ew, "<div class=\"card\"><h3><span class=\"swatch\" style=\"background:%s\"></span>%s</h3>\n", color(si), esc(set.Name))
			ew.Write([]byte(powerSVG(set, si)))
			fmt.Fprintf(ew, "<p class=\"sub\">System power (every source and system summed) over the run; shaded: each level's steady-state window, labelled with its users. Measured means what the sources report — accelerator power for nvidia-smi, amd-smi and dcgm-exporter (docs/power.md).</p></div>\n")
		}
		fmt.Fprintf(ew, "</div></section>\n")
	}

	fmt.Fprintf(ew, "<section id=\"levels\"><h2>Levels</h2>\n")
	for si, set := range rep.Sets {
		fmt.Fprintf(ew, "<h3><span class=\"swatch\" style=\"background:%s\"></span>%s — run %s</h3>\n", color(si), esc(set.Name), esc(set.RunID))
		writeHTMLTable(ew, set.levelGrid(), "levels")
		var tiers []string
		for _, t := range set.Tiers {
			t = t.Normalized()
			tiers = append(tiers, fmt.Sprintf("%s = P%s speed ≥ %s tok/s, P%s TTFT ≤ %s, errors ≤ %s %%", t.Name,
				fmtNum(t.SpeedPercentile), fmtNum(t.SpeedFloor), fmtNum(t.TTFTPercentile), t.TTFTCeiling, fmtNum(100*max(t.MaxErrorRate, 0))))
		}
		fmt.Fprintf(ew, "<p class=\"sub\">Tiers column, in order: %s. ~traj = estimated from rows. ITL = gaps between content chunks.</p>\n", esc(strings.Join(tiers, "; ")))
		fmt.Fprintf(ew, "<details><summary>Verdicts</summary><ul>\n")
		for i, st := range set.Levels {
			for j, v := range set.Verdicts[i] {
				status := "pass"
				if !v.Pass {
					status = "fail: " + strings.Join(v.Reasons, "; ")
				}
				cls := ""
				if l := set.Assessed[i]; l != nil {
					tr := l.Tiers[j]
					cls = tr.Verdict.String()
					status = tr.Verdict.String()
					if len(tr.Reasons) > 0 {
						status += ": " + strings.Join(tr.Reasons, "; ")
					}
				}
				fmt.Fprintf(ew, "<li class=\"%s\">%d users, %s — %s</li>\n", cls, st.Users, esc(v.Tier), esc(status))
			}
		}
		fmt.Fprintf(ew, "</ul></details>\n")
		if len(set.Notes) > 0 {
			fmt.Fprintf(ew, "<ul class=\"notes\">\n")
			for _, n := range set.Notes {
				fmt.Fprintf(ew, "<li>%s</li>\n", esc(n))
			}
			fmt.Fprintf(ew, "</ul>\n")
		}
	}
	fmt.Fprintf(ew, "</section>\n")

	fmt.Fprintf(ew, "<section id=\"metadata\"><h2>Run metadata</h2><div class=\"sets\">\n")
	for si, set := range rep.Sets {
		fmt.Fprintf(ew, "<div class=\"card\"><h3><span class=\"swatch\" style=\"background:%s\"></span>%s</h3>\n", color(si), esc(set.Name))
		fmt.Fprintf(ew, "<p class=\"sub\">files: %s (%d rows)</p>\n", esc(strings.Join(set.Files, ", ")), set.Rows)
		if t := targetLine(set.Meta); t != "" {
			fmt.Fprintf(ew, "<p class=\"sub\">target: %s</p>\n", esc(t))
		}
		if st := settingsLine(set.Meta); st != "" {
			fmt.Fprintf(ew, "<p class=\"sub\">request settings: %s</p>\n", esc(st))
		}
		if set.System.Source != "" {
			fmt.Fprintf(ew, "<p class=\"sub\">figures: %s</p>\n", esc(set.System.Source))
		}
		meta, _ := json.MarshalIndent(set.Meta, "", "  ")
		fmt.Fprintf(ew, "<details><summary>run metadata (JSON)</summary><pre class=\"meta\">%s</pre></details></div>\n", esc(string(meta)))
	}
	fmt.Fprintf(ew, "</div></section>\n<footer>Generated by agentperf analyze. Metric definitions: docs/analyze.md.</footer>\n</body>\n</html>\n")
	return ew.err
}

func writeHTMLTable(w io.Writer, g *grid, class string) {
	fmt.Fprintf(w, "<div class=\"scroll\"><table class=\"%s\"><thead><tr>", class)
	for _, h := range g.head {
		// let long snake_case names wrap after underscores
		fmt.Fprintf(w, "<th>%s</th>", strings.ReplaceAll(esc(h), "_", "_<wbr>"))
	}
	fmt.Fprintf(w, "</tr></thead><tbody>\n")
	for _, r := range g.rows {
		fmt.Fprintf(w, "<tr>")
		for i, c := range r {
			cls := ""
			if g.right[i] {
				cls = " class=\"num\""
			}
			fmt.Fprintf(w, "<td%s>%s</td>", cls, esc(c))
		}
		fmt.Fprintf(w, "</tr>\n")
	}
	fmt.Fprintf(w, "</tbody></table></div>\n")
}

// niceTicks returns about n round tick values covering [lo, hi] and the
// widened range.
func niceTicks(lo, hi float64, n int) (ticks []float64, a, b float64) {
	if !(hi > lo) {
		hi = lo + 1
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	a = math.Floor(lo/step) * step
	b = math.Ceil(hi/step) * step
	for v := a; v <= b+step/2; v += step {
		ticks = append(ticks, v)
	}
	return ticks, a, b
}

func tickLabel(v float64) string {
	switch av := math.Abs(v); {
	case av >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', 4, 64) + "M"
	case av >= 1e4:
		return strconv.FormatFloat(v/1e3, 'g', 4, 64) + "k"
	default:
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
}

// plot maps data to an SVG viewport.
type plot struct {
	w, h, left, right, top, bottom float64
	x0, x1, y0, y1                 float64
}

func (p *plot) px(x float64) float64 { return p.left + (x-p.x0)/(p.x1-p.x0)*(p.w-p.left-p.right) }
func (p *plot) py(y float64) float64 {
	return p.h - p.bottom - (y-p.y0)/(p.y1-p.y0)*(p.h-p.top-p.bottom)
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// axes draws the frame, grid, ticks and labels.
func (p *plot) axes(b *strings.Builder, xt, yt []float64, xlabel, ylabel string, xcat []string) {
	fmt.Fprintf(b, `<rect x="%s" y="%s" width="%s" height="%s" class="frame"/>`, f1(p.left), f1(p.top), f1(p.w-p.left-p.right), f1(p.h-p.top-p.bottom))
	for _, v := range yt {
		y := p.py(v)
		fmt.Fprintf(b, `<line x1="%s" x2="%s" y1="%s" y2="%s" class="grid"/><text x="%s" y="%s" class="tick" text-anchor="end">%s</text>`,
			f1(p.left), f1(p.w-p.right), f1(y), f1(y), f1(p.left-6), f1(y+4), tickLabel(v))
	}
	if xcat != nil {
		for i, c := range xcat {
			x := p.px(float64(i))
			fmt.Fprintf(b, `<text x="%s" y="%s" class="tick" text-anchor="middle">%s</text>`, f1(x), f1(p.h-p.bottom+16), esc(c))
		}
	} else {
		for _, v := range xt {
			x := p.px(v)
			fmt.Fprintf(b, `<line x1="%s" x2="%s" y1="%s" y2="%s" class="grid"/><text x="%s" y="%s" class="tick" text-anchor="middle">%s</text>`,
				f1(x), f1(x), f1(p.top), f1(p.h-p.bottom), f1(x), f1(p.h-p.bottom+16), tickLabel(v))
		}
	}
	fmt.Fprintf(b, `<text x="%s" y="%s" class="label" text-anchor="middle">%s</text>`, f1((p.left+p.w-p.right)/2), f1(p.h-6), esc(xlabel))
	fmt.Fprintf(b, `<text x="14" y="%s" class="label" text-anchor="middle" transform="rotate(-90 14 %s)">%s</text>`,
		f1((p.top+p.h-p.bottom)/2), f1((p.top+p.h-p.bottom)/2), esc(ylabel))
}

// frontierSVG plots output tok/s per accelerator (or per system when any
// set lacks an accelerator count) against P50 output speed.
func frontierSVG(rep *Report) string {
	perAcc := true
	for _, set := range rep.Sets {
		if set.System.Accelerators <= 0 {
			perAcc = false
		}
	}
	type pt struct {
		x, y  float64
		users int
		flags string
	}
	series := make([][]pt, len(rep.Sets))
	xmax, ymax := 0.0, 0.0
	floors := map[float64]string{}
	for si, set := range rep.Sets {
		for i := range set.Levels {
			v := set.View(i)
			y := v.OutputTokS
			if perAcc {
				y = v.OutputTokSPerAccelerator
			}
			if math.IsNaN(v.SpeedP50) || math.IsNaN(y) {
				continue
			}
			series[si] = append(series[si], pt{v.SpeedP50, y, v.Users, flagCodes(v.Flags)})
			xmax, ymax = max(xmax, v.SpeedP50), max(ymax, y)
		}
		sort.Slice(series[si], func(a, b int) bool { return series[si][a].users < series[si][b].users })
		for _, t := range set.Tiers {
			floors[t.SpeedFloor] = t.Name
		}
	}
	var b strings.Builder
	ylabel := "output tok/s per accelerator"
	if !perAcc {
		ylabel = "output tok/s per system (accelerator count unknown for a set)"
	}
	fmt.Fprintf(&b, `<svg class="chart" data-chart="frontier" viewBox="0 0 800 420" width="800" height="420" role="img" aria-label="throughput vs interactivity">`)
	if xmax == 0 || ymax == 0 {
		fmt.Fprintf(&b, `<text x="400" y="210" text-anchor="middle" class="label">no level with a measurable output speed</text></svg>`)
		return b.String()
	}
	// show floors that fall within 1.5× the data range
	var fl []float64
	for f := range floors {
		if f > 0 && f <= xmax*1.5 {
			fl = append(fl, f)
			xmax = max(xmax, f)
		}
	}
	sort.Float64s(fl)
	xt, x0, x1 := niceTicks(0, xmax*1.05, 6)
	yt, y0, y1 := niceTicks(0, ymax*1.1, 5)
	p := &plot{w: 800, h: 420, left: 64, right: 190, top: 16, bottom: 46, x0: x0, x1: x1, y0: y0, y1: y1}
	p.axes(&b, xt, yt, "output speed per user, P50 (tok/s)", ylabel, nil)
	for _, f := range fl {
		x := p.px(f)
		fmt.Fprintf(&b, `<line x1="%s" x2="%s" y1="%s" y2="%s" class="floor"/><text x="%s" y="%s" class="floorlabel" text-anchor="end" transform="rotate(-90 %s %s)">%s</text>`,
			f1(x), f1(x), f1(p.top), f1(p.h-p.bottom), f1(x-3), f1(p.top+4), f1(x-3), f1(p.top+4), esc(floors[f]))
	}
	for si, s := range series {
		if len(s) == 0 {
			continue
		}
		var d strings.Builder
		for i, q := range s {
			cmd := "L"
			if i == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&d, "%s%s %s ", cmd, f1(p.px(q.x)), f1(p.py(q.y)))
		}
		fmt.Fprintf(&b, `<path class="series" data-set="%d" d="%s" stroke="%s"/>`, si, strings.TrimSpace(d.String()), color(si))
		for _, q := range s {
			cls, fill, stroke := "point", color(si), "#fff"
			if q.flags != "" {
				cls, fill, stroke = "point flagged", "#fff", color(si)
			}
			fmt.Fprintf(&b, `<circle class="%s" cx="%s" cy="%s" r="5" fill="%s" stroke="%s"><title>%s: %d users — %.1f tok/s per user, %.1f %s%s</title></circle><text x="%s" y="%s" class="pointlabel">%d</text>`,
				cls, f1(p.px(q.x)), f1(p.py(q.y)), fill, stroke, esc(rep.Sets[si].Name), q.users, q.x, q.y, esc(ylabel), esc(flagSuffix(q.flags)),
				f1(p.px(q.x)+7), f1(p.py(q.y)-7), q.users)
		}
	}
	// legend
	for si, set := range rep.Sets {
		y := p.top + 14 + float64(si)*20
		x := p.w - p.right + 14
		fmt.Fprintf(&b, `<rect x="%s" y="%s" width="12" height="12" fill="%s" class="legend"/><text x="%s" y="%s" class="tick">%s</text>`,
			f1(x), f1(y-10), color(si), f1(x+18), f1(y), esc(truncate(set.Name, 26)))
	}
	fmt.Fprintf(&b, `<text x="%s" y="%s" class="tick">hollow = flagged</text>`, f1(p.w-p.right+14), f1(p.top+14+float64(len(rep.Sets))*20+8))
	b.WriteString("</svg>")
	return b.String()
}

// errorBar draws a vertical 90 % interval at x with a dot at its point;
// unbounded ends are clipped to the plot.
func errorBar(b *strings.Builder, p *plot, x float64, e capacity.Estimate, title string) {
	clip := func(v float64) float64 { return p.py(math.Max(p.y0, math.Min(p.y1, v))) }
	lo, hi := clip(e.Lo), clip(e.Hi)
	fmt.Fprintf(b, `<g class="ci"><title>%s</title><line x1="%s" x2="%s" y1="%s" y2="%s"/><line x1="%s" x2="%s" y1="%s" y2="%s"/><line x1="%s" x2="%s" y1="%s" y2="%s"/><circle cx="%s" cy="%s" r="2.5"/></g>`,
		esc(title), f1(x), f1(x), f1(lo), f1(hi), f1(x-3), f1(x+3), f1(lo), f1(lo), f1(x-3), f1(x+3), f1(hi), f1(hi), f1(x), f1(clip(e.Point)))
}

// capacitySVG draws max users per tier with its 90 % interval (error
// bars), the highest passing level (a diamond) and the measured user
// counts (ticks on the axis).
func capacitySVG(set *ResultSet, si int) string {
	var b strings.Builder
	n := len(set.Capacity)
	h := max(160, 60+34*float64(n))
	xmax := 1.0
	for _, st := range set.Levels {
		xmax = max(xmax, float64(st.Users))
	}
	fmt.Fprintf(&b, `<svg class="chart" data-chart="capacity" viewBox="0 0 560 %s" width="560" height="%s" role="img" aria-label="max users per tier with 90 %% intervals">`, f1(h), f1(h))
	xt, x0, x1 := niceTicks(0, xmax*1.05, 6)
	p := &plot{w: 560, h: h, left: 90, right: 16, top: 10, bottom: 44, x0: x0, x1: x1, y0: -0.5, y1: float64(n) - 0.5}
	p.axes(&b, xt, nil, "max concurrent users (90 % interval; ◆ highest passing level)", "", nil)
	for _, st := range set.Levels {
		x := p.px(float64(st.Users))
		fmt.Fprintf(&b, `<line x1="%s" x2="%s" y1="%s" y2="%s" class="measured"/>`, f1(x), f1(x), f1(p.h-p.bottom), f1(p.h-p.bottom-5))
	}
	for j, c := range set.Capacity {
		y := p.py(float64(n - 1 - j))
		fmt.Fprintf(&b, `<text x="%s" y="%s" class="tick" text-anchor="end">%s</text>`, f1(p.left-6), f1(y+4), esc(c.Tier.Name))
		e := c.Users
		if math.IsNaN(e.Point) {
			continue
		}
		clip := func(v float64) float64 { return p.px(math.Max(p.x0, math.Min(p.x1, v))) }
		lo, hi, pt := clip(e.Lo), clip(e.Hi), clip(e.Point)
		fmt.Fprintf(&b, `<g class="ci" data-tier="%s"><title>%s: max users %s, highest passing %d</title><line x1="%s" x2="%s" y1="%s" y2="%s"/><line x1="%s" x2="%s" y1="%s" y2="%s"/><line x1="%s" x2="%s" y1="%s" y2="%s"/><circle cx="%s" cy="%s" r="4" fill="%s"/></g>`,
			esc(c.Tier.Name), esc(c.Tier.Name), esc(fmtEstimate(e, c.Censored, 0)), c.MaxUsers,
			f1(lo), f1(hi), f1(y), f1(y), f1(lo), f1(lo), f1(y-5), f1(y+5), f1(hi), f1(hi), f1(y-5), f1(y+5), f1(pt), f1(y), color(si))
		if c.MaxUsers > 0 {
			x := p.px(float64(c.MaxUsers))
			fmt.Fprintf(&b, `<path class="highest" d="M%s %s l5 5 l-5 5 l-5 -5 z"/>`, f1(x), f1(y-15))
		}
	}
	b.WriteString("</svg>")
	return b.String()
}

func hasPower(rep *Report) bool {
	for _, set := range rep.Sets {
		if set.Power != nil {
			return true
		}
	}
	return false
}

// powerSVG plots the set's system power over the run, minutes from its
// first sample, with each level's steady-state window shaded.
func powerSVG(set *ResultSet, si int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" data-chart="power" viewBox="0 0 560 300" width="560" height="300" role="img" aria-label="system power over time">`)
	from, to := int64(math.MaxInt64), int64(math.MinInt64)
	for _, smp := range set.Power.Samples {
		from, to = min(from, smp.TimeNS), max(to, smp.TimeNS)
	}
	for _, st := range set.Levels {
		if st.SteadyEndNS > st.SteadyStartNS {
			from, to = min(from, st.SteadyStartNS), max(to, st.SteadyEndNS)
		}
	}
	pts := set.Power.Points(from, to)
	ymax := 0.0
	for _, q := range pts {
		if !math.IsNaN(q.Watts) {
			ymax = max(ymax, q.Watts)
		}
	}
	if to <= from || ymax == 0 {
		fmt.Fprintf(&b, `<text x="280" y="150" text-anchor="middle" class="label">no power samples</text></svg>`)
		return b.String()
	}
	mins := func(t int64) float64 { return float64(t-from) / 60e9 }
	xt, x0, x1 := niceTicks(0, mins(to), 6)
	yt, y0, y1 := niceTicks(0, ymax*1.1, 5)
	p := &plot{w: 560, h: 300, left: 64, right: 16, top: 16, bottom: 44, x0: x0, x1: x1, y0: y0, y1: y1}
	for _, st := range set.Levels {
		if st.SteadyEndNS <= st.SteadyStartNS {
			continue
		}
		xa, xb := p.px(mins(st.SteadyStartNS)), p.px(mins(st.SteadyEndNS))
		fmt.Fprintf(&b, `<rect class="window" x="%s" y="%s" width="%s" height="%s"><title>level %d, %d users: steady window</title></rect><text x="%s" y="%s" class="pointlabel" text-anchor="middle">%d</text>`,
			f1(xa), f1(p.top), f1(math.Max(xb-xa, 1)), f1(p.h-p.top-p.bottom), st.Level, st.Users, f1((xa+xb)/2), f1(p.top+12), st.Users)
	}
	p.axes(&b, xt, yt, "minutes from the start of the run", "system power (W)", nil)
	var d strings.Builder
	pen := "M"
	for _, q := range pts {
		if math.IsNaN(q.Watts) {
			pen = "M" // a gap
			continue
		}
		fmt.Fprintf(&d, "%s%s %s ", pen, f1(p.px(mins(q.TimeNS))), f1(p.py(q.Watts)))
		pen = "L"
	}
	fmt.Fprintf(&b, `<path class="series" d="%s" stroke="%s"/>`, strings.TrimSpace(d.String()), color(si))
	b.WriteString("</svg>")
	return b.String()
}

func flagSuffix(f string) string {
	if f == "" {
		return ""
	}
	return " (flags: " + f + ")"
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// boxSVG draws one box per level of TTFT (s) or output speed (tok/s).
func boxSVG(set *ResultSet, si int, metric string) string {
	type box struct {
		p5, p25, p50, p75, p95, p99 float64
		users                       int
		n                           int64
	}
	var boxes []box
	var cis []capacity.Estimate // P25 speed or P95 TTFT (s), per box
	var cats []string
	ymax := 0.0
	for i, st := range set.Levels {
		ci := set.View(i).SpeedP25CI
		if metric == "ttft" {
			ci = set.View(i).TTFTP95CI
		}
		cis = append(cis, ci)
		d, scale := st.OutputSpeed, 1.0
		if metric == "ttft" {
			d, scale = st.TTFT, 1.0/1000
		}
		cats = append(cats, strconv.Itoa(st.Users))
		if d == nil || d.Count() == 0 {
			boxes = append(boxes, box{users: st.Users, p50: math.NaN()})
			continue
		}
		bx := box{d.Percentile(5) * scale, d.Percentile(25) * scale, d.Percentile(50) * scale, d.Percentile(75) * scale,
			d.Percentile(95) * scale, d.Percentile(99) * scale, st.Users, d.Count()}
		boxes = append(boxes, bx)
		ymax = max(ymax, bx.p99)
	}
	title, unit := "Output speed per request", "output speed (tok/s)"
	if metric == "ttft" {
		title, unit = "Time to first token", "TTFT (s)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" data-chart="%s" viewBox="0 0 560 300" width="560" height="300" role="img" aria-label="%s per level">`, metric, esc(title))
	fmt.Fprintf(&b, `<text x="280" y="14" class="title" text-anchor="middle">%s</text>`, esc(title))
	if ymax == 0 {
		fmt.Fprintf(&b, `<text x="280" y="150" text-anchor="middle" class="label">no data</text></svg>`)
		return b.String()
	}
	// tier limits within 1.5× the data
	type limit struct {
		v    float64
		name string
	}
	var limits []limit
	for _, t := range set.Tiers {
		v := t.SpeedFloor
		if metric == "ttft" {
			v = t.TTFTCeiling.Seconds()
		}
		if v > 0 && v <= ymax*1.5 {
			limits = append(limits, limit{v, t.Name})
			ymax = max(ymax, v)
		}
	}
	yt, y0, y1 := niceTicks(0, ymax*1.08, 5)
	p := &plot{w: 560, h: 300, left: 60, right: 16, top: 24, bottom: 44, x0: -0.5, x1: float64(len(boxes)) - 0.5, y0: y0, y1: y1}
	p.axes(&b, nil, yt, "concurrent users", unit, cats)
	seen := map[float64]bool{}
	for _, l := range limits {
		if seen[l.v] {
			continue
		}
		seen[l.v] = true
		y := p.py(l.v)
		fmt.Fprintf(&b, `<line x1="%s" x2="%s" y1="%s" y2="%s" class="floor"/><text x="%s" y="%s" class="floorlabel" text-anchor="end">%s</text>`,
			f1(p.left), f1(p.w-p.right), f1(y), f1(y), f1(p.w-p.right-3), f1(y-3), esc(l.name))
	}
	bw := math.Min(40, (p.w-p.left-p.right)/float64(len(boxes))*0.5)
	for i, bx := range boxes {
		if math.IsNaN(bx.p50) {
			continue
		}
		x := p.px(float64(i))
		c := color(si)
		fmt.Fprintf(&b, `<g class="box" data-users="%d"><title>%d users, %d requests: P5 %.3g, P25 %.3g, P50 %.3g, P75 %.3g, P95 %.3g, P99 %.3g</title>`,
			bx.users, bx.users, bx.n, bx.p5, bx.p25, bx.p50, bx.p75, bx.p95, bx.p99)
		fmt.Fprintf(&b, `<line x1="%s" x2="%s" y1="%s" y2="%s" class="whisker"/>`, f1(x), f1(x), f1(p.py(bx.p5)), f1(p.py(bx.p95)))
		top, bot := p.py(bx.p75), p.py(bx.p25)
		fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s" class="iqr"/>`, f1(x-bw/2), f1(top), f1(bw), f1(math.Max(bot-top, 1)), c)
		fmt.Fprintf(&b, `<line x1="%s" x2="%s" y1="%s" y2="%s" class="median"/>`, f1(x-bw/2), f1(x+bw/2), f1(p.py(bx.p50)), f1(p.py(bx.p50)))
		fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="3" class="p99" fill="%s"/></g>`, f1(x), f1(p.py(bx.p99)), c)
		if ci := cis[i]; !math.IsNaN(ci.Point) && !math.IsNaN(ci.Lo) && !math.IsNaN(ci.Hi) {
			name := "P25 output speed"
			if metric == "ttft" {
				name = "P95 TTFT"
			}
			errorBar(&b, p, x+bw/2+6, ci, fmt.Sprintf("%d users: %s %.3g (90 %% CI %s–%s)", bx.users, name, ci.Point, fmtEnd(ci.Lo, 3), fmtEnd(ci.Hi, 3)))
		}
	}
	b.WriteString("</svg>")
	return b.String()
}

const reportCSS = `
:root { --fg:#1b1f24; --muted:#5b6470; --line:#d8dde3; --bg:#ffffff; --card:#f7f9fb; --warn:#b42318; --warnbg:#fff1ef; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); margin: 0 auto; max-width: 1600px; padding: 16px 24px 40px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 10px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 8px 0 6px; }
.sub { color: var(--muted); font-size: 12.5px; margin: 4px 0; }
.sets { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 16px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; min-width: 0; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 8px; vertical-align: -1px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 12.5px; margin: 6px 0; }
th, td { border-bottom: 1px solid var(--line); padding: 3px 8px; text-align: left; white-space: nowrap; }
th { background: #eef2f6; font-weight: 600; white-space: normal; vertical-align: bottom; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.meta td { white-space: normal; word-break: break-all; }
.validity { background: var(--warnbg); border: 2px solid var(--warn); border-radius: 8px; padding: 4px 16px 8px; }
.validity h2 { color: var(--warn); border: 0; }
.valid { border: 1px solid #2e7d32; border-radius: 8px; padding: 4px 16px; }
ul.summary, ul.notes { margin: 6px 0; padding-left: 18px; font-size: 12.5px; }
svg.chart { display: block; max-width: 100%; height: auto; background: #fff; border: 1px solid var(--line); border-radius: 6px; margin: 8px 0; }
svg .frame { fill: none; stroke: #9aa4af; }
svg .grid { stroke: #eceff3; }
svg .tick { font-size: 11px; fill: var(--muted); }
svg .label { font-size: 12px; fill: var(--fg); }
svg .title { font-size: 13px; font-weight: 600; fill: var(--fg); }
svg .series { fill: none; stroke-width: 2.2; }
svg .point { stroke-width: 1.5; }
svg .point.flagged { stroke-width: 2.5; }
svg .pointlabel { font-size: 10.5px; fill: var(--muted); }
svg .floor { stroke: #8a6d00; stroke-dasharray: 5 4; }
svg .floorlabel { font-size: 10.5px; fill: #8a6d00; }
svg .whisker { stroke: #444; }
svg .iqr { fill-opacity: 0.55; stroke: #333; stroke-width: 0.8; }
svg .median { stroke: #111; stroke-width: 2; }
svg .ci line { stroke: #111; stroke-width: 1.6; }
svg .ci circle { fill: #111; }
svg .highest { fill: #8a6d00; }
svg .measured { stroke: #5b6470; }
svg .window { fill: #1f77b4; fill-opacity: 0.08; }
li.uncertain { color: #8a6d00; }
li.fail { color: var(--warn); }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; }
`
