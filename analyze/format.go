package analyze

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"github.com/agentperf/agentperf/capacity"
	"github.com/agentperf/agentperf/schemas"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Output formats of Write.
const (
	FormatTable    = "table"
	FormatMarkdown = "markdown"
	FormatCSV      = "csv"
	FormatJSON     = "json"
)

// Formats lists the output formats.
var Formats = []string{FormatTable, FormatMarkdown, FormatCSV, FormatJSON}

// CSV tables: the normalized capacity table or the per-level table.
const (
	TableCapacity = "capacity"
	TableLevels   = "levels"
)

// CapacityColumns are the normalized table's CSV columns (JSON uses the
// same names): max users and each normalized figure with its interval's
// ends (_lo, _hi), the AA-style highest passing level, and agents per MW
// of measured power with the power it divides by.
var CapacityColumns = []string{"tier", "speed_floor", "ttft_ceiling",
	"max_users", "max_users_lo", "max_users_hi", "max_users_censored", "highest_passing",
	"users_per_accelerator", "users_per_accelerator_lo", "users_per_accelerator_hi",
	"users_per_kw", "users_per_kw_lo", "users_per_kw_hi",
	"users_per_dollar_hour", "users_per_dollar_hour_lo", "users_per_dollar_hour_hi",
	"users_per_rack", "users_per_rack_lo", "users_per_rack_hi",
	"agents_per_mw", "agents_per_mw_lo", "agents_per_mw_hi", "power_w"}

// LevelColumns are the per-level CSV columns (JSON uses the same names).
var LevelColumns = []string{"level", "users", "shards", "requests", "errors", "error_rate", "error_rate_lo", "error_rate_hi",
	"warmup_requests", "drain_requests", "trajectories",
	"output_speed_p25", "output_speed_p25_lo", "output_speed_p25_hi", "output_speed_p50", "e2e_speed_p25", "e2e_speed_p50",
	"ttft_p50_s", "ttft_p95_s", "ttft_p95_s_lo", "ttft_p95_s_hi", "ttft_p99_s", "itl_p50_ms", "itl_p95_ms", "itl_p99_ms",
	"client_lag_p99_ms", "output_tok_s", "total_tok_s", "output_tok_s_per_accelerator",
	"cache_hit_rate", "window_s", "steady_window_s", "passed_tiers", "uncertain_tiers", "unpinned_responses",
	"power_mean_w", "power_p95_w", "joules_per_output_token", "joules_per_trajectory", "flags"}

// Write renders the report in format (see Formats). table picks the CSV
// table (TableCapacity, the default, or TableLevels); other formats show
// everything.
func Write(w io.Writer, rep *Report, format, table string) error {
	switch format {
	case FormatTable, "":
		return writeText(w, rep, false)
	case FormatMarkdown, "md":
		return writeText(w, rep, true)
	case FormatCSV:
		return writeCSV(w, rep, table)
	case FormatJSON:
		return writeJSON(w, rep)
	}
	return fmt.Errorf("unknown format %q (choose %s)", format, strings.Join(Formats, ", "))
}

// fixed formats v with prec decimals, "—" for NaN.
func fixed(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

// machine formats v for CSV: 9 significant digits (more than any figure
// here is worth, and stable across CPU float differences), empty for NaN.
func machine(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', 9, 64)
}

func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'g', -1, 64) }

// grid is a table of cells rendered as aligned text or Markdown.
type grid struct {
	head  []string
	rows  [][]string
	right []bool // right-align column
}

func (g *grid) render(w io.Writer, markdown bool) {
	width := make([]int, len(g.head))
	for i, h := range g.head {
		width[i] = utf8.RuneCountInString(h)
	}
	for _, r := range g.rows {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		if markdown {
			b.WriteString("| ")
		}
		for i, c := range cells {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i > 0 {
				if markdown {
					b.WriteString(" | ")
				} else {
					b.WriteString("  ")
				}
			}
			if g.right[i] {
				b.WriteString(pad + c)
			} else if markdown || i < len(cells)-1 {
				b.WriteString(c + pad)
			} else {
				b.WriteString(c)
			}
		}
		if markdown {
			b.WriteString(" |")
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	line(g.head)
	if markdown {
		sep := make([]string, len(g.head))
		for i := range sep {
			dash := strings.Repeat("-", max(width[i], 3))
			if g.right[i] {
				dash = dash[1:] + ":"
			}
			sep[i] = dash
		}
		line(sep)
	}
	for _, r := range g.rows {
		line(r)
	}
}

// capacityGrid is the normalized table with human units: max users and
// the normalized figures as "point (lo–hi)" at 90 %, the highest passing
// level, and agents per MW when the set has measured power.
func (set *ResultSet) capacityGrid() *grid {
	head := []string{"tier", "speed_floor", "ttft_ceiling", "max_users (90 % CI)", "highest_passing",
		"users_per_accelerator", "users_per_kw", "users_per_dollar_hour", "users_per_rack"}
	if set.Power != nil {
		head = append(head, "agents_per_mw", "power_w")
	}
	g := &grid{head: head, right: make([]bool, len(head))}
	for i := 1; i < len(head); i++ {
		g.right[i] = true
	}
	for _, c := range set.Capacity {
		row := []string{
			c.Tier.Name, fmtNum(c.Tier.SpeedFloor), c.Tier.TTFTCeiling.String(), fmtEstimate(c.Users, c.Censored, 0), strconv.Itoa(c.MaxUsers),
			fmtEstimate(c.UsersPerAccelerator, c.Censored, 2), fmtEstimate(c.UsersPerKW, c.Censored, 2),
			fmtEstimate(c.UsersPerDollarHour, c.Censored, 2), fmtEstimate(c.UsersPerRack, c.Censored, 1),
		}
		if set.Power != nil {
			row = append(row, fmtEstimate(c.AgentsPerMW, c.Censored, 0), fixed(c.PowerW, 0))
		}
		g.rows = append(g.rows, row)
	}
	return g
}

// fmtEstimate prints an estimate as "52 (44–60)" with prec decimals:
// "≥ 64" when every level passed (censored above: the point is a lower
// bound), "< 8" when none did (the interval's upper end), "0 (0–∞)" when
// none did but the lowest level is within its noise of passing (the
// interval is unbounded), "—" when undefined.
func fmtEstimate(e capacity.Estimate, c capacity.Censor, prec int) string {
	switch {
	case math.IsNaN(e.Point):
		return "—"
	case c == capacity.Above:
		return "≥ " + fixed(e.Point, prec)
	case c == capacity.Below && !math.IsInf(e.Hi, 1):
		return "< " + fixed(e.Hi, prec)
	}
	return fixed(e.Point, prec) + " (" + fmtEnd(e.Lo, prec) + "–" + fmtEnd(e.Hi, prec) + ")"
}

// FormatUsers prints a fitted max users the way analyze's tables do:
// whole users rounded down with the interval, "52 (44–60)", or "≥ 64" /
// "< 8" when the interval is one-sided; "—" for nil.
func FormatUsers(c *capacity.Capacity) string {
	if c == nil {
		return "—"
	}
	return fmtEstimate(c.MaxUsers.WholeUsers(), c.Censored, 0)
}

// fmtCI prints a figure with its interval, "135.0 (128.2–141.7)", the
// figure alone when the interval is undefined, "—" when it is.
func fmtCI(point float64, e capacity.Estimate, prec int) string {
	if math.IsNaN(point) {
		return "—"
	}
	if math.IsNaN(e.Lo) || math.IsNaN(e.Hi) {
		return fixed(point, prec)
	}
	return fixed(point, prec) + " (" + fmtEnd(e.Lo, prec) + "–" + fmtEnd(e.Hi, prec) + ")"
}

// fmtEnd prints an interval end, "∞" when unbounded.
func fmtEnd(v float64, prec int) string {
	if math.IsInf(v, 1) {
		return "∞"
	}
	return fixed(v, prec)
}

// tierMarks is one mark per tier: ✓ pass, ✗ fail, ? uncertain (an
// interval straddles a limit; the point verdict is in the verdict lines).
// Without intervals the point verdicts are marked.
func tierMarks(vs []Verdict, outcomes []capacity.Verdict) string {
	var b strings.Builder
	for i, v := range vs {
		switch {
		case i < len(outcomes) && outcomes[i] == capacity.Uncertain:
			b.WriteString("?")
		case v.Pass:
			b.WriteString("✓")
		default:
			b.WriteString("✗")
		}
	}
	return b.String()
}

// outcomeNames lists the tiers whose verdict is want.
func outcomeNames(vs []Verdict, outcomes []capacity.Verdict, want capacity.Verdict) []string {
	var out []string
	for i, o := range outcomes {
		if o == want && i < len(vs) {
			out = append(out, vs[i].Tier)
		}
	}
	return out
}

func flagCodes(fs []Flag) string {
	var c []string
	for _, f := range fs {
		c = append(c, f.Code)
	}
	return strings.Join(c, ",")
}

// levelGrid is the per-level table with human units.
func (set *ResultSet) levelGrid() *grid {
	head := []string{"users", "req", "err % (CI)", "traj", "speed P25 (CI)", "speed P50", "e2e P50",
		"TTFT P50 s", "TTFT P95 s (CI)", "TTFT P99 s", "ITL P50 ms", "ITL P95 ms", "ITL P99 ms",
		"lag P99 ms", "out tok/s", "total tok/s", "cache %", "window"}
	if set.Power != nil {
		head = append(head, "W mean", "W P95", "J/tok")
	}
	nums := len(head)
	head = append(head, "tiers", "flags")
	g := &grid{head: head, right: make([]bool, len(head))}
	for i := range g.right[:nums] {
		g.right[i] = true
	}
	for i := range set.Levels {
		v := set.View(i)
		traj := strconv.FormatInt(v.Trajectories, 10)
		if v.TrajectoriesFrom == "" {
			traj = "~" + traj
		}
		errCI := capacity.Estimate{Point: 100 * v.ErrorRateCI.Point, Lo: 100 * v.ErrorRateCI.Lo, Hi: 100 * v.ErrorRateCI.Hi}
		row := []string{
			strconv.Itoa(v.Users), strconv.FormatInt(v.Requests, 10), fmtCI(100*v.ErrorRate, errCI, 2), traj,
			fmtCI(v.SpeedP25, v.SpeedP25CI, 1), fixed(v.SpeedP50, 1), fixed(v.E2EP50, 1),
			fixed(v.TTFTP50, 3), fmtCI(v.TTFTP95, v.TTFTP95CI, 3), fixed(v.TTFTP99, 3),
			fixed(v.ITLP50, 2), fixed(v.ITLP95, 2), fixed(v.ITLP99, 2),
			fixed(v.LagP99, 2), fixed(v.OutputTokS, 1), fixed(v.TotalTokS, 0), fixed(100*v.CacheHitRate, 1),
			time.Duration(v.WindowS * float64(time.Second)).Round(time.Second).String(),
		}
		if set.Power != nil {
			row = append(row, fixed(v.PowerMeanW, 0), fixed(v.PowerP95W, 0), fixed(v.JoulesPerToken, 3))
		}
		row = append(row, tierMarks(v.Verdicts, v.Outcomes), flagCodes(v.Flags))
		g.rows = append(g.rows, row)
	}
	return g
}

// validity groups the levels' flags by code: "code at 8, 16 users: message".
func (set *ResultSet) validity() []string {
	type group struct {
		users []string
		msg   string
	}
	groups := map[string]*group{}
	for _, st := range set.Levels {
		for _, f := range st.Flags {
			g := groups[f.Code]
			if g == nil {
				g = &group{msg: f.Message}
				groups[f.Code] = g
			}
			g.users = append(g.users, strconv.Itoa(st.Users))
		}
	}
	var out []string
	for _, code := range flagOrder {
		g := groups[code]
		if g == nil {
			continue
		}
		n := len(g.users)
		lv := "level"
		if n > 1 {
			lv = "levels"
		}
		ex := ""
		if n > 1 {
			ex = "e.g. "
		}
		out = append(out, fmt.Sprintf("%s: %d %s (users %s) — %s%s", code, n, lv, strings.Join(g.users, ", "), ex, g.msg))
	}
	return out
}

// tierSummary says, per tier, where the capacity came from and why the
// next level failed.
func (set *ResultSet) tierSummary() []string {
	var out []string
	for j, c := range set.Capacity {
		s := c.Tier.Name + ": "
		if f := c.Fit; f != nil {
			switch c.Censored {
			case capacity.Above:
				s += fmt.Sprintf("max users ≥ %s (every level passed: a lower bound); ", fixed(c.Users.Point, 0))
			case capacity.Below:
				if math.IsInf(c.Users.Hi, 1) {
					s += "max users 0 (90 % CI 0–∞: no level passed in the fit, and the lowest is within its noise of passing); "
					break
				}
				s += fmt.Sprintf("max users < %s (no level passed in the fit); ", fixed(c.Users.Hi, 0))
			default:
				s += fmt.Sprintf("max users %s (90 %% CI %s–%s), fitted between %d (pass) and %d (fail) over %d windows; ",
					fixed(c.Users.Point, 0), fmtEnd(c.Users.Lo, 0), fmtEnd(c.Users.Hi, 0), f.FitPass, f.FitFail, f.Windows)
			}
		}
		if c.Level >= 0 {
			s += fmt.Sprintf("highest passing level %d users", c.MaxUsers)
		} else {
			s += "no level passed"
		}
		var uncertain []string
		for i, st := range set.Levels {
			if l := set.Assessed[i]; l != nil && j < len(l.Tiers) && l.Tiers[j].Verdict == capacity.Uncertain && set.countsTowardCapacity(i) {
				uncertain = append(uncertain, strconv.Itoa(st.Users))
			}
		}
		if len(uncertain) > 0 {
			s += "; uncertain at " + strings.Join(uncertain, ", ") + " users"
		}
		for i, st := range set.Levels {
			if st.Users > c.MaxUsers && !set.Verdicts[i][j].Pass {
				s += fmt.Sprintf("; at %d users: %s", st.Users, strings.Join(set.Verdicts[i][j].Reasons, "; "))
				break
			}
		}
		if len(c.Flags) > 0 {
			s += " [flags: " + strings.Join(c.Flags, ",") + "]"
		}
		out = append(out, s)
	}
	return out
}

func (set *ResultSet) hardwareLine() string {
	s := set.System
	if s.Accelerators == 0 && s.Hardware == "" {
		return "unknown"
	}
	parts := []string{}
	acc := "? ×"
	if s.Accelerators > 0 {
		acc = strconv.Itoa(s.Accelerators) + " ×"
	}
	hw := s.Hardware
	if hw == "" {
		hw = "accelerator"
	}
	parts = append(parts, acc+" "+hw)
	if s.TDPWatts > 0 {
		parts = append(parts, fmtNum(s.TDPWatts)+" W TDP each")
	}
	if s.DollarsPerHour > 0 {
		parts = append(parts, "$"+strconv.FormatFloat(s.DollarsPerHour, 'f', 2, 64)+" per accelerator-hour")
	}
	if s.AcceleratorsPerRack > 0 {
		parts = append(parts, strconv.Itoa(s.AcceleratorsPerRack)+" per rack")
	}
	return strings.Join(parts, ", ")
}

// levelLegend explains the marks and intervals of the level table.
const levelLegend = "✓ pass, ✗ fail, ? uncertain (a 90 % interval straddles a limit). (CI) = 90 % confidence interval from resampling whole sessions (docs/capacity.md); throughput is over the steady-state window."

func writeText(w io.Writer, rep *Report, md bool) error {
	ew := &errWriter{w: w}
	for si, set := range rep.Sets {
		if si > 0 {
			fmt.Fprintln(ew)
		}
		title := fmt.Sprintf("%s — run %s", set.Name, set.RunID)
		if md {
			fmt.Fprintf(ew, "## %s\n\n", title)
		} else {
			fmt.Fprintf(ew, "=== %s ===\n", title)
		}
		kv := [][2]string{
			{"model", orDash(set.Model)},
			{"hardware", set.hardwareLine()},
			{"tiers", set.TierSource},
			{"files", fmt.Sprintf("%s (%d rows)", fileList(set.Files), set.Rows)},
		}
		if t := targetLine(set.Meta); t != "" {
			kv = append(kv, [2]string{"target", t})
		}
		if st := settingsLine(set.Meta); st != "" {
			kv = append(kv, [2]string{"settings", st})
		}
		if set.System.Source != "" {
			kv = append(kv, [2]string{"figures", set.System.Source})
		}
		for _, p := range kv {
			if md {
				fmt.Fprintf(ew, "- **%s:** %s\n", p[0], p[1])
			} else {
				fmt.Fprintf(ew, "%-9s %s\n", p[0]+":", p[1])
			}
		}
		fmt.Fprintln(ew)
		val := set.validity()
		if len(val) == 0 {
			if md {
				fmt.Fprintf(ew, "**Validity:** every level valid.\n\n")
			} else {
				fmt.Fprintf(ew, "VALIDITY: every level valid\n\n")
			}
		} else {
			if md {
				fmt.Fprintf(ew, "> **⚠ VALIDITY — %d problem(s); figures below may not be trusted:**\n>\n", len(val))
				for _, v := range val {
					fmt.Fprintf(ew, "> - %s\n", v)
				}
			} else {
				fmt.Fprintf(ew, "!! VALIDITY — %d problem(s); figures below may not be trusted:\n", len(val))
				for _, v := range val {
					fmt.Fprintf(ew, "!!   %s\n", v)
				}
			}
			fmt.Fprintln(ew)
		}
		heading := func(s string) {
			if md {
				fmt.Fprintf(ew, "### %s\n\n", s)
			} else {
				fmt.Fprintf(ew, "%s\n", s)
			}
		}
		heading("Capacity (max users per tier, normalized)")
		set.capacityGrid().render(ew, md)
		fmt.Fprintln(ew)
		for _, s := range set.tierSummary() {
			if md {
				fmt.Fprintf(ew, "- %s\n", s)
			} else {
				fmt.Fprintf(ew, "  %s\n", s)
			}
		}
		fmt.Fprintln(ew)
		heading("Levels (steady-state window)")
		set.levelGrid().render(ew, md)
		var tiers []string
		for _, t := range set.Tiers {
			t = t.Normalized()
			tiers = append(tiers, fmt.Sprintf("%s = P%s speed ≥ %s tok/s, P%s TTFT ≤ %s, errors ≤ %s %%", t.Name,
				fmtNum(t.SpeedPercentile), fmtNum(t.SpeedFloor), fmtNum(t.TTFTPercentile), t.TTFTCeiling, fmtNum(100*max(t.MaxErrorRate, 0))))
		}
		fmt.Fprintln(ew)
		if md {
			fmt.Fprintf(ew, "Tiers column, in order: %s; %s `~traj` = estimated from rows. ITL = gaps between content chunks.\n", strings.Join(tiers, "; "), levelLegend)
		} else {
			fmt.Fprintf(ew, "tiers column, in order: %s; %s ~traj = estimated from rows. ITL = gaps between content chunks.\n", strings.Join(tiers, "; "), levelLegend)
		}
		if len(set.Notes) > 0 {
			fmt.Fprintln(ew)
			for _, n := range set.Notes {
				if md {
					fmt.Fprintf(ew, "- Note: %s\n", n)
				} else {
					fmt.Fprintf(ew, "note: %s\n", n)
				}
			}
		}
	}
	return ew.err
}

// fileList names up to three files, then how many more.
func fileList(files []string) string {
	if len(files) <= 3 {
		return strings.Join(files, ", ")
	}
	return fmt.Sprintf("%s, … and %d more", strings.Join(files[:2], ", "), len(files)-2)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func writeCSV(w io.Writer, rep *Report, table string) error {
	cw := csv.NewWriter(w)
	multi := len(rep.Sets) > 1
	prefix := func(set *ResultSet, r []string) []string {
		if multi {
			return append([]string{set.Name}, r...)
		}
		return r
	}
	head := func(cols []string) []string {
		if multi {
			return append([]string{"system"}, cols...)
		}
		return cols
	}
	switch table {
	case TableCapacity, "":
		cw.Write(head(CapacityColumns))
		for _, set := range rep.Sets {
			for _, c := range set.Capacity {
				row := []string{c.Tier.Name, machine(c.Tier.SpeedFloor), seconds(c.Tier.TTFTCeiling)}
				row = append(row, machine(c.Users.Point), machine(c.Users.Lo), machine(c.Users.Hi), censorName(c), strconv.Itoa(c.MaxUsers))
				for _, e := range []capacity.Estimate{c.UsersPerAccelerator, c.UsersPerKW, c.UsersPerDollarHour, c.UsersPerRack, c.AgentsPerMW} {
					row = append(row, machine(e.Point), machine(e.Lo), machine(e.Hi))
				}
				cw.Write(prefix(set, append(row, machine(c.PowerW))))
			}
		}
	case TableLevels:
		cw.Write(head(LevelColumns))
		for _, set := range rep.Sets {
			for i := range set.Levels {
				v := set.View(i)
				var passed []string
				for _, vd := range v.Verdicts {
					if vd.Pass {
						passed = append(passed, vd.Tier)
					}
				}
				i64 := func(n int64) string { return strconv.FormatInt(n, 10) }
				cw.Write(prefix(set, []string{strconv.Itoa(v.Level), strconv.Itoa(v.Users), strconv.Itoa(v.Shards),
					i64(v.Requests), i64(v.Errors), machine(v.ErrorRate), machine(v.ErrorRateCI.Lo), machine(v.ErrorRateCI.Hi),
					i64(v.Warmup), i64(v.Drain), i64(v.Trajectories),
					machine(v.SpeedP25), machine(v.SpeedP25CI.Lo), machine(v.SpeedP25CI.Hi), machine(v.SpeedP50), machine(v.E2EP25), machine(v.E2EP50),
					machine(v.TTFTP50), machine(v.TTFTP95), machine(v.TTFTP95CI.Lo), machine(v.TTFTP95CI.Hi), machine(v.TTFTP99),
					machine(v.ITLP50), machine(v.ITLP95), machine(v.ITLP99),
					machine(v.LagP99), machine(v.OutputTokS), machine(v.TotalTokS), machine(v.OutputTokSPerAccelerator),
					machine(v.CacheHitRate), machine(v.WindowS), machine(v.SteadyWindowS), strings.Join(passed, ";"),
					strings.Join(outcomeNames(v.Verdicts, v.Outcomes, capacity.Uncertain), ";"), i64(v.Unpinned),
					machine(v.PowerMeanW), machine(v.PowerP95W), machine(v.JoulesPerToken), machine(v.JoulesPerTrajectory),
					flagCodes(v.Flags)}))
			}
		}
	default:
		return fmt.Errorf("unknown table %q (choose %s or %s)", table, TableCapacity, TableLevels)
	}
	cw.Flush()
	return cw.Error()
}

// num is a float that encodes NaN as JSON null.
type num float64

func (n num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', 9, 64), nil
}

type jsonReport struct {
	Sets []jsonSet `json:"sets"`
}

type jsonSet struct {
	System     string           `json:"system"`
	RunID      string           `json:"run_id"`
	Model      string           `json:"model"`
	Files      []string         `json:"files"`
	Rows       int64            `json:"rows"`
	Hardware   System           `json:"hardware"`
	TierSource string           `json:"tier_source"`
	Tiers      []jsonTier       `json:"tiers"`
	Capacity   []jsonCapacity   `json:"capacity"`
	Levels     []jsonLevel      `json:"levels"`
	Validity   []string         `json:"validity"`
	ITLSample  num              `json:"itl_sample"`
	Notes      []string         `json:"notes"`
	Meta       *schemas.RunMeta `json:"meta"`
}

type jsonTier struct {
	Name            string `json:"name"`
	SpeedFloor      num    `json:"speed_floor"`
	TTFTCeiling     num    `json:"ttft_ceiling"`
	SpeedPercentile num    `json:"speed_percentile"`
	TTFTPercentile  num    `json:"ttft_percentile"`
	MaxErrorRate    num    `json:"max_error_rate"`
}

type jsonCapacity struct {
	Tier                  string             `json:"tier"`
	SpeedFloor            num                `json:"speed_floor"`
	TTFTCeiling           num                `json:"ttft_ceiling"`
	MaxUsers              num                `json:"max_users"`
	MaxUsersLo            num                `json:"max_users_lo"`
	MaxUsersHi            num                `json:"max_users_hi"`
	MaxUsersCensored      string             `json:"max_users_censored"`
	HighestPassing        int                `json:"highest_passing"`
	UsersPerAccelerator   num                `json:"users_per_accelerator"`
	UsersPerAcceleratorLo num                `json:"users_per_accelerator_lo"`
	UsersPerAcceleratorHi num                `json:"users_per_accelerator_hi"`
	UsersPerKW            num                `json:"users_per_kw"`
	UsersPerKWLo          num                `json:"users_per_kw_lo"`
	UsersPerKWHi          num                `json:"users_per_kw_hi"`
	UsersPerDollarHour    num                `json:"users_per_dollar_hour"`
	UsersPerDollarHourLo  num                `json:"users_per_dollar_hour_lo"`
	UsersPerDollarHourHi  num                `json:"users_per_dollar_hour_hi"`
	UsersPerRack          num                `json:"users_per_rack"`
	UsersPerRackLo        num                `json:"users_per_rack_lo"`
	UsersPerRackHi        num                `json:"users_per_rack_hi"`
	AgentsPerMW           num                `json:"agents_per_mw"`
	AgentsPerMWLo         num                `json:"agents_per_mw_lo"`
	AgentsPerMWHi         num                `json:"agents_per_mw_hi"`
	PowerW                num                `json:"power_w"`
	Level                 *int               `json:"level"`
	Flags                 []string           `json:"flags"`
	Fit                   *capacity.Capacity `json:"fit"`
}

type jsonVerdict struct {
	Tier      string   `json:"tier"`
	Pass      bool     `json:"pass"`
	Speed     num      `json:"speed"`
	TTFT      num      `json:"ttft_s"`
	ErrorRate num      `json:"error_rate"`
	Reasons   []string `json:"reasons"`
	// the verdict with uncertainty (capacity.TierResult)
	Verdict     string            `json:"verdict"`
	SpeedLo     num               `json:"speed_lo"`
	SpeedHi     num               `json:"speed_hi"`
	TTFTLo      num               `json:"ttft_s_lo"`
	TTFTHi      num               `json:"ttft_s_hi"`
	ErrorRateLo num               `json:"error_rate_lo"`
	ErrorRateHi num               `json:"error_rate_hi"`
	Margin      capacity.Estimate `json:"margin"`
	Uncertainty []string          `json:"uncertainty"`
}

type jsonLevel struct {
	Level               int              `json:"level"`
	Users               int              `json:"users"`
	Shards              int              `json:"shards"`
	Requests            int64            `json:"requests"`
	Errors              int64            `json:"errors"`
	ErrorRate           num              `json:"error_rate"`
	Warmup              int64            `json:"warmup_requests"`
	Drain               int64            `json:"drain_requests"`
	Trajectories        int64            `json:"trajectories"`
	TrajectoriesFrom    string           `json:"trajectories_from"`
	TrajectoriesByAgent map[string]int64 `json:"trajectories_by_agent"`
	SpeedP25            num              `json:"output_speed_p25"`
	SpeedP50            num              `json:"output_speed_p50"`
	E2EP25              num              `json:"e2e_speed_p25"`
	E2EP50              num              `json:"e2e_speed_p50"`
	TTFTP50             num              `json:"ttft_p50_s"`
	TTFTP95             num              `json:"ttft_p95_s"`
	TTFTP99             num              `json:"ttft_p99_s"`
	ITLP50              num              `json:"itl_p50_ms"`
	ITLP95              num              `json:"itl_p95_ms"`
	ITLP99              num              `json:"itl_p99_ms"`
	LagP99              num              `json:"client_lag_p99_ms"`
	OutputTokS          num              `json:"output_tok_s"`
	TotalTokS           num              `json:"total_tok_s"`
	OutputTokSPerAcc    num              `json:"output_tok_s_per_accelerator"`
	CacheHitRate        num              `json:"cache_hit_rate"`
	WindowS             num              `json:"window_s"`
	ConfiguredWindowS   num              `json:"configured_window_s"`
	WindowStartNS       int64            `json:"window_start_ns"`
	WindowEndNS         int64            `json:"window_end_ns"`
	SpeedRequests       int64            `json:"speed_requests"`
	TTFTRequests        int64            `json:"ttft_requests"`
	ITLGaps             int64            `json:"itl_gaps"`
	OutputTokens        int64            `json:"output_tokens"`
	InputTokens         int64            `json:"input_tokens"`
	ChunkCounted        int64            `json:"chunk_counted_requests"`
	PassedTiers         []string         `json:"passed_tiers"`
	Flags               []Flag           `json:"flags"`
	Verdicts            []jsonVerdict    `json:"verdicts"`
	// uncertainty, the steady-state window, pinning and power
	ErrorRateLo     num         `json:"error_rate_lo"`
	ErrorRateHi     num         `json:"error_rate_hi"`
	SpeedP25Lo      num         `json:"output_speed_p25_lo"`
	SpeedP25Hi      num         `json:"output_speed_p25_hi"`
	TTFTP95Lo       num         `json:"ttft_p95_s_lo"`
	TTFTP95Hi       num         `json:"ttft_p95_s_hi"`
	UncertainTiers  []string    `json:"uncertain_tiers"`
	Sessions        int         `json:"sessions"`
	SampledSessions int         `json:"sampled_sessions"`
	SteadyWindowS   num         `json:"steady_window_s"`
	SteadyStartNS   int64       `json:"steady_start_ns"`
	SteadyEndNS     int64       `json:"steady_end_ns"`
	WindowOutputTok num         `json:"window_output_tokens"`
	PinChecked      int64       `json:"pin_checked_responses"`
	Unpinned        int64       `json:"unpinned_responses"`
	PowerMeanW      num         `json:"power_mean_w"`
	PowerP95W       num         `json:"power_p95_w"`
	JoulesPerToken  num         `json:"joules_per_output_token"`
	JoulesPerTraj   num         `json:"joules_per_trajectory"`
	Power           *LevelPower `json:"power"`
}

func writeJSON(w io.Writer, rep *Report) error {
	out := jsonReport{Sets: []jsonSet{}}
	for _, set := range rep.Sets {
		js := jsonSet{System: set.Name, RunID: set.RunID, Model: set.Model, Files: set.Files, Rows: set.Rows,
			Hardware: set.System, TierSource: set.TierSource, ITLSample: num(set.ITLSample),
			Notes: nonNil(set.Notes), Meta: set.Meta, Validity: nonNil(set.validity()),
			Tiers: []jsonTier{}, Capacity: []jsonCapacity{}, Levels: []jsonLevel{}}
		for _, t := range set.Tiers {
			t = t.Normalized()
			js.Tiers = append(js.Tiers, jsonTier{t.Name, num(t.SpeedFloor), num(t.TTFTCeiling.Seconds()),
				num(t.SpeedPercentile), num(t.TTFTPercentile), num(max(t.MaxErrorRate, 0))})
		}
		for _, c := range set.Capacity {
			jc := jsonCapacity{Tier: c.Tier.Name, SpeedFloor: num(c.Tier.SpeedFloor), TTFTCeiling: num(c.Tier.TTFTCeiling.Seconds()),
				MaxUsers: num(c.Users.Point), MaxUsersLo: num(c.Users.Lo), MaxUsersHi: num(c.Users.Hi), MaxUsersCensored: censorName(c),
				HighestPassing:      c.MaxUsers,
				UsersPerAccelerator: num(c.UsersPerAccelerator.Point), UsersPerAcceleratorLo: num(c.UsersPerAccelerator.Lo), UsersPerAcceleratorHi: num(c.UsersPerAccelerator.Hi),
				UsersPerKW: num(c.UsersPerKW.Point), UsersPerKWLo: num(c.UsersPerKW.Lo), UsersPerKWHi: num(c.UsersPerKW.Hi),
				UsersPerDollarHour: num(c.UsersPerDollarHour.Point), UsersPerDollarHourLo: num(c.UsersPerDollarHour.Lo), UsersPerDollarHourHi: num(c.UsersPerDollarHour.Hi),
				UsersPerRack: num(c.UsersPerRack.Point), UsersPerRackLo: num(c.UsersPerRack.Lo), UsersPerRackHi: num(c.UsersPerRack.Hi),
				AgentsPerMW: num(c.AgentsPerMW.Point), AgentsPerMWLo: num(c.AgentsPerMW.Lo), AgentsPerMWHi: num(c.AgentsPerMW.Hi),
				PowerW: num(c.PowerW), Flags: nonNil(c.Flags), Fit: c.Fit}
			if c.Level >= 0 {
				l := set.Levels[c.Level].Level
				jc.Level = &l
			}
			js.Capacity = append(js.Capacity, jc)
		}
		for i := range set.Levels {
			v := set.View(i)
			jl := jsonLevel{Level: v.Level, Users: v.Users, Shards: v.Shards, Requests: v.Requests, Errors: v.Errors,
				ErrorRate: num(v.ErrorRate), Warmup: v.Warmup, Drain: v.Drain, Trajectories: v.Trajectories,
				TrajectoriesFrom: v.TrajectoriesFrom, TrajectoriesByAgent: v.TrajectoriesByAgent,
				SpeedP25: num(v.SpeedP25), SpeedP50: num(v.SpeedP50), E2EP25: num(v.E2EP25), E2EP50: num(v.E2EP50),
				TTFTP50: num(v.TTFTP50), TTFTP95: num(v.TTFTP95), TTFTP99: num(v.TTFTP99),
				ITLP50: num(v.ITLP50), ITLP95: num(v.ITLP95), ITLP99: num(v.ITLP99), LagP99: num(v.LagP99),
				OutputTokS: num(v.OutputTokS), TotalTokS: num(v.TotalTokS), OutputTokSPerAcc: num(v.OutputTokSPerAccelerator),
				CacheHitRate: num(v.CacheHitRate), WindowS: num(v.WindowS), ConfiguredWindowS: num(v.ConfiguredWindowS),
				WindowStartNS: v.WindowStartNS, WindowEndNS: v.WindowEndNS,
				SpeedRequests: v.SpeedRequests, TTFTRequests: v.TTFTRequests, ITLGaps: v.ITLGaps,
				OutputTokens: v.OutputTokens, InputTokens: v.InputTokens, ChunkCounted: v.ChunkCountedReqs,
				PassedTiers: []string{}, Flags: nonNil(v.Flags), Verdicts: []jsonVerdict{},
				ErrorRateLo: num(v.ErrorRateCI.Lo), ErrorRateHi: num(v.ErrorRateCI.Hi),
				SpeedP25Lo: num(v.SpeedP25CI.Lo), SpeedP25Hi: num(v.SpeedP25CI.Hi), TTFTP95Lo: num(v.TTFTP95CI.Lo), TTFTP95Hi: num(v.TTFTP95CI.Hi),
				UncertainTiers: nonNil(outcomeNames(v.Verdicts, v.Outcomes, capacity.Uncertain)),
				Sessions:       v.Sessions, SampledSessions: v.SampledSessions,
				SteadyWindowS: num(v.SteadyWindowS), SteadyStartNS: v.SteadyStartNS, SteadyEndNS: v.SteadyEndNS,
				WindowOutputTok: num(v.WindowOutputTokens), PinChecked: v.PinChecked, Unpinned: v.Unpinned,
				PowerMeanW: num(v.PowerMeanW), PowerP95W: num(v.PowerP95W), JoulesPerToken: num(v.JoulesPerToken), JoulesPerTraj: num(v.JoulesPerTrajectory),
				Power: set.Levels[i].Power}
			if jl.TrajectoriesFrom == "" {
				jl.TrajectoriesFrom = "estimate"
			}
			for _, vd := range v.Verdicts {
				if vd.Pass {
					jl.PassedTiers = append(jl.PassedTiers, vd.Tier)
				}
				ttft := math.NaN()
				if vd.TTFT >= 0 {
					ttft = vd.TTFT.Seconds()
				}
				jv := jsonVerdict{Tier: vd.Tier, Pass: vd.Pass, Speed: num(vd.Speed),
					TTFT: num(ttft), ErrorRate: num(vd.ErrorRate), Reasons: nonNil(vd.Reasons), Uncertainty: []string{}}
				nan := num(math.NaN())
				jv.SpeedLo, jv.SpeedHi, jv.TTFTLo, jv.TTFTHi, jv.ErrorRateLo, jv.ErrorRateHi = nan, nan, nan, nan, nan, nan
				jv.Margin = capacity.Estimate{Point: math.NaN(), Lo: math.NaN(), Hi: math.NaN()}
				if k := len(jl.Verdicts); k < len(v.Tiers) {
					tr := v.Tiers[k]
					jv.Verdict = tr.Verdict.String()
					jv.SpeedLo, jv.SpeedHi = num(tr.Speed.Lo), num(tr.Speed.Hi)
					jv.TTFTLo, jv.TTFTHi = num(tr.TTFT.Lo/1000), num(tr.TTFT.Hi/1000)
					jv.ErrorRateLo, jv.ErrorRateHi = num(tr.ErrorRate.Lo), num(tr.ErrorRate.Hi)
					jv.Margin, jv.Uncertainty = tr.Margin, nonNil(tr.Reasons)
				}
				jl.Verdicts = append(jl.Verdicts, jv)
			}
			js.Levels = append(js.Levels, jl)
		}
		out.Sets = append(out.Sets, js)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

// censorName is the capacity's censoring as csv and json write it: "",
// "above" or "below" ("" too for an open-loop run).
func censorName(c Capacity) string {
	if c.Fit == nil || c.Censored == capacity.Bounded {
		return ""
	}
	return c.Censored.String()
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return slices.Clip(s)
}

// fmtSearchEstimate prints replay's search estimate as fmtEstimate does.
func fmtSearchEstimate(e *schemas.SearchEstimate) string {
	est, c := capacity.Estimate{Point: e.Point, Lo: e.Lo, Hi: e.Hi}, capacity.Bounded
	switch e.Censored {
	case "above":
		c = capacity.Above
	case "below":
		c = capacity.Below
	}
	return fmtEstimate(est.WholeUsers(), c, 0)
}
