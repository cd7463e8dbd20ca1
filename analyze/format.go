package analyze

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
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

// CapacityColumns are the normalized table's columns, in every format.
var CapacityColumns = []string{"tier", "speed_floor", "ttft_ceiling", "max_users",
	"users_per_accelerator", "users_per_kw", "users_per_dollar_hour", "users_per_rack"}

// LevelColumns are the per-level CSV columns (JSON uses the same names).
var LevelColumns = []string{"level", "users", "shards", "requests", "errors", "error_rate",
	"warmup_requests", "drain_requests", "trajectories",
	"output_speed_p25", "output_speed_p50", "e2e_speed_p25", "e2e_speed_p50",
	"ttft_p50_s", "ttft_p95_s", "ttft_p99_s", "itl_p50_ms", "itl_p95_ms", "itl_p99_ms",
	"client_lag_p99_ms", "output_tok_s", "total_tok_s", "output_tok_s_per_accelerator",
	"cache_hit_rate", "window_s", "passed_tiers", "flags"}

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

// capacityGrid is the normalized table with human units.
func (set *ResultSet) capacityGrid() *grid {
	g := &grid{head: CapacityColumns, right: []bool{false, true, true, true, true, true, true, true}}
	for _, c := range set.Capacity {
		g.rows = append(g.rows, []string{
			c.Tier.Name, fmtNum(c.Tier.SpeedFloor), c.Tier.TTFTCeiling.String(), strconv.Itoa(c.MaxUsers),
			fixed(c.UsersPerAccelerator, 2), fixed(c.UsersPerKW, 2), fixed(c.UsersPerDollarHour, 2), fixed(c.UsersPerRack, 1),
		})
	}
	return g
}

func tierMarks(vs []Verdict) string {
	var b strings.Builder
	for _, v := range vs {
		if v.Pass {
			b.WriteString("✓")
		} else {
			b.WriteString("✗")
		}
	}
	return b.String()
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
	head := []string{"users", "req", "err %", "traj", "speed P25", "speed P50", "e2e P50",
		"TTFT P50 s", "TTFT P95 s", "TTFT P99 s", "ITL P50 ms", "ITL P95 ms", "ITL P99 ms",
		"lag P99 ms", "out tok/s", "total tok/s", "cache %", "window", "tiers", "flags"}
	g := &grid{head: head, right: make([]bool, len(head))}
	for i := range g.right[:18] {
		g.right[i] = true
	}
	for i := range set.Levels {
		v := set.View(i)
		traj := strconv.FormatInt(v.Trajectories, 10)
		if v.TrajectoriesFrom == "" {
			traj = "~" + traj
		}
		g.rows = append(g.rows, []string{
			strconv.Itoa(v.Users), strconv.FormatInt(v.Requests, 10), fixed(100*v.ErrorRate, 2), traj,
			fixed(v.SpeedP25, 1), fixed(v.SpeedP50, 1), fixed(v.E2EP50, 1),
			fixed(v.TTFTP50, 3), fixed(v.TTFTP95, 3), fixed(v.TTFTP99, 3),
			fixed(v.ITLP50, 2), fixed(v.ITLP95, 2), fixed(v.ITLP99, 2),
			fixed(v.LagP99, 2), fixed(v.OutputTokS, 1), fixed(v.TotalTokS, 0), fixed(100*v.CacheHitRate, 1),
			time.Duration(v.WindowS * float64(time.Second)).Round(time.Second).String(),
			tierMarks(v.Verdicts), flagCodes(v.Flags),
		})
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
		if c.Level >= 0 {
			s += fmt.Sprintf("max %d users", c.MaxUsers)
		} else {
			s += "no level passed"
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
			fmt.Fprintf(ew, "Tiers column, in order: %s. `~traj` = estimated from rows. ITL = gaps between content chunks.\n", strings.Join(tiers, "; "))
		} else {
			fmt.Fprintf(ew, "tiers column, in order: %s. ~traj = estimated from rows. ITL = gaps between content chunks.\n", strings.Join(tiers, "; "))
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
				cw.Write(prefix(set, []string{c.Tier.Name, machine(c.Tier.SpeedFloor), seconds(c.Tier.TTFTCeiling),
					strconv.Itoa(c.MaxUsers), machine(c.UsersPerAccelerator), machine(c.UsersPerKW),
					machine(c.UsersPerDollarHour), machine(c.UsersPerRack)}))
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
					i64(v.Requests), i64(v.Errors), machine(v.ErrorRate), i64(v.Warmup), i64(v.Drain), i64(v.Trajectories),
					machine(v.SpeedP25), machine(v.SpeedP50), machine(v.E2EP25), machine(v.E2EP50),
					machine(v.TTFTP50), machine(v.TTFTP95), machine(v.TTFTP99),
					machine(v.ITLP50), machine(v.ITLP95), machine(v.ITLP99),
					machine(v.LagP99), machine(v.OutputTokS), machine(v.TotalTokS), machine(v.OutputTokSPerAccelerator),
					machine(v.CacheHitRate), machine(v.WindowS), strings.Join(passed, ";"), flagCodes(v.Flags)}))
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
	Tier                string   `json:"tier"`
	SpeedFloor          num      `json:"speed_floor"`
	TTFTCeiling         num      `json:"ttft_ceiling"`
	MaxUsers            int      `json:"max_users"`
	UsersPerAccelerator num      `json:"users_per_accelerator"`
	UsersPerKW          num      `json:"users_per_kw"`
	UsersPerDollarHour  num      `json:"users_per_dollar_hour"`
	UsersPerRack        num      `json:"users_per_rack"`
	Level               *int     `json:"level"`
	Flags               []string `json:"flags"`
}

type jsonVerdict struct {
	Tier      string   `json:"tier"`
	Pass      bool     `json:"pass"`
	Speed     num      `json:"speed"`
	TTFT      num      `json:"ttft_s"`
	ErrorRate num      `json:"error_rate"`
	Reasons   []string `json:"reasons"`
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
				MaxUsers: c.MaxUsers, UsersPerAccelerator: num(c.UsersPerAccelerator), UsersPerKW: num(c.UsersPerKW),
				UsersPerDollarHour: num(c.UsersPerDollarHour), UsersPerRack: num(c.UsersPerRack), Flags: nonNil(c.Flags)}
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
				PassedTiers: []string{}, Flags: nonNil(v.Flags), Verdicts: []jsonVerdict{}}
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
				jl.Verdicts = append(jl.Verdicts, jsonVerdict{Tier: vd.Tier, Pass: vd.Pass, Speed: num(vd.Speed),
					TTFT: num(ttft), ErrorRate: num(vd.ErrorRate), Reasons: nonNil(vd.Reasons)})
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

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return slices.Clip(s)
}
