package power

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// This file reads power commands' output: lines of CSV or whitespace
// columns (nvidia-smi --query-gpu, amd-smi monitor and metric, plain
// numbers), or a stream of JSON values (amd-smi --json).

// lineKind says what a line of command output was.
type lineKind int

const (
	lineIgnored lineKind = iota // blank, a banner, a table title
	lineHeader                  // column names: ends a sample, sets the columns
	lineReading                 // one GPU's power (its reading may hold an error)
)

// table reads a command's lines; it remembers the columns a header named.
type table struct {
	powerCol, idCol int // -1: unknown
}

func newTable() *table { return &table{powerCol: -1, idCol: -1} }

// powerColumn reports whether a column name holds power: nvidia-smi's
// power.draw (and .instant, .average, "power.draw [W]"), amd-smi's POWER,
// power_usage and socket_power.
func powerColumn(name string) bool {
	n := strings.ToLower(strings.TrimSpace(name))
	n = strings.TrimSpace(strings.TrimSuffix(n, "[w]"))
	switch n {
	case "power", "power_usage", "socket_power", "current_socket_power", "average_socket_power", "power.draw":
		return true
	}
	return strings.HasPrefix(n, "power.draw.")
}

// idColumn reports whether a column name holds the GPU index.
func idColumn(name string) bool {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "gpu", "index", "gpu_id", "device":
		return true
	}
	return false
}

// units maps a unit that may follow a number to watts per unit (0: a unit
// of something else, which only matters in a power column).
var units = map[string]float64{
	"W": 1, "mW": 1e-3, "kW": 1e3,
	"°C": 0, "C": 0, "%": 0, "MHz": 0, "GHz": 0, "KB": 0, "MB": 0, "GB": 0, "MiB": 0, "GiB": 0,
	"Mb/s": 0, "MB/s": 0, "GB/s": 0, "V": 0, "mV": 0, "A": 0, "J": 0, "mJ": 0, "uJ": 0,
}

// fields splits a line into columns: at commas when it has any, else at
// spaces with a unit token joined to the number before it ("123 W"); a
// bracketed line is one column.
func fields(line string) []string {
	if t := strings.TrimSpace(line); strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]") && !strings.Contains(t, ",") {
		return []string{t} // nvidia-smi's "[Not Supported]"
	}
	if strings.Contains(line, ",") {
		f := strings.Split(line, ",")
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		return f
	}
	var out []string
	for _, tok := range strings.Fields(line) {
		if _, isUnit := units[tok]; isUnit && len(out) > 0 && isNumber(out[len(out)-1]) {
			out[len(out)-1] += " " + tok
			continue
		}
		out = append(out, tok)
	}
	return out
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// parse classifies one line and, for a reading, parses its watts.
func (t *table) parse(line string) (lineKind, reading) {
	f := fields(line)
	if len(f) == 0 || len(f) == 1 && f[0] == "" {
		return lineIgnored, reading{}
	}
	numeric := 0
	for _, c := range f {
		if _, _, err := splitNumber(c); err == nil {
			numeric++
		}
	}
	if numeric == 0 {
		power, id := -1, -1
		for i, c := range f {
			if power < 0 && powerColumn(c) {
				power = i
			}
			if id < 0 && idColumn(c) {
				id = i
			}
		}
		switch {
		case power >= 0:
			t.powerCol, t.idCol = power, id
			return lineHeader, reading{}
		case id >= 0 && len(f) > 1:
			return lineReading, reading{Err: fmt.Errorf("columns %s hold no power (want a column named power.draw, POWER or power_usage)", strings.Join(f, ", "))}
		}
		if len(f) > 1 {
			return lineIgnored, reading{}
		}
	}
	if t.powerCol >= 0 {
		if t.powerCol >= len(f) {
			return lineIgnored, reading{}
		}
		r := reading{}
		if t.idCol >= 0 && t.idCol < len(f) {
			r.ID = f[t.idCol]
		}
		r.Watts, r.Err = parseWatts(f[t.powerCol])
		return lineReading, r
	}
	// No header: one field is the watts; with several, the last one (as in
	// nvidia-smi --query-gpu=index,power.draw).
	r := reading{}
	r.Watts, r.Err = parseWatts(f[len(f)-1])
	return lineReading, r
}

// splitNumber parses "123.4", "123.4 W" or "123.4W" into the number and
// its unit.
func splitNumber(s string) (float64, string, error) {
	s = strings.TrimSpace(s)
	n := 0
	for n < len(s) && strings.IndexByte("0123456789.+-eE", s[n]) >= 0 {
		n++
	}
	// Back off an exponent letter that was really a unit's first letter.
	for n > 0 && (s[n-1] == 'e' || s[n-1] == 'E') {
		n--
	}
	v, err := strconv.ParseFloat(s[:n], 64)
	if err != nil || n == 0 {
		return 0, "", fmt.Errorf("%q is not a number", s)
	}
	return v, strings.TrimSpace(s[n:]), nil
}

// parseWatts parses a power value with an optional unit (W, mW, kW).
func parseWatts(s string) (float64, error) {
	v, unit, err := splitNumber(s)
	if err != nil {
		return 0, fmt.Errorf("power %q is not a number of watts", strings.TrimSpace(s))
	}
	perUnit := 1.0
	if unit != "" {
		f, ok := units[unit]
		if !ok || f == 0 {
			return 0, fmt.Errorf("power %q is not in watts", strings.TrimSpace(s))
		}
		perUnit = f
	}
	w := v * perUnit
	if math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
		return 0, fmt.Errorf("power %q is not a number of watts", strings.TrimSpace(s))
	}
	return w, nil
}

// jsonReadings turns one JSON value of a command's output (amd-smi --json:
// an array with an object per GPU, or one object) into readings: the id
// from a "gpu" key, the watts from the first power key found at any depth
// (power_usage, socket_power, …), as a number, "123 W" or {"value": 123,
// "unit": "W"}.
func jsonReadings(v any) []reading {
	items, ok := v.([]any)
	if !ok {
		items = []any{v}
	}
	out := make([]reading, 0, len(items))
	for _, it := range items {
		obj, ok := it.(map[string]any)
		if !ok {
			out = append(out, reading{Err: errors.New("JSON output: want an object per GPU")})
			continue
		}
		r := reading{}
		switch id := obj["gpu"].(type) {
		case float64:
			r.ID = strconv.FormatFloat(id, 'f', -1, 64)
		case string:
			r.ID = id
		}
		pv, found := findPower(obj, 0)
		if !found {
			r.Err = errors.New("JSON output: no power_usage or socket_power key")
		} else {
			r.Watts, r.Err = jsonWatts(pv)
		}
		out = append(out, r)
	}
	return out
}

func findPower(obj map[string]any, depth int) (any, bool) {
	for _, k := range []string{"power_usage", "socket_power", "current_socket_power", "average_socket_power", "power.draw"} {
		if v, ok := obj[k]; ok {
			return v, true
		}
	}
	if depth >= 4 {
		return nil, false
	}
	for _, k := range []string{"power", "metrics"} {
		if sub, ok := obj[k].(map[string]any); ok {
			if v, ok := findPower(sub, depth+1); ok {
				return v, true
			}
		}
	}
	return nil, false
}

func jsonWatts(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return parseWatts(strconv.FormatFloat(x, 'g', -1, 64))
	case string:
		return parseWatts(x)
	case map[string]any:
		val, ok := x["value"].(float64)
		if !ok {
			return 0, fmt.Errorf("JSON power %v has no numeric value", x)
		}
		unit, _ := x["unit"].(string)
		return parseWatts(strconv.FormatFloat(val, 'g', -1, 64) + " " + unit)
	}
	return 0, fmt.Errorf("JSON power %v is not a number of watts", v)
}

// grouper gathers a command's readings into samples, one reading per GPU.
// A sample ends when it holds gpus readings (gpus > 0), at a header line,
// when a GPU id repeats, or when pause passes between two lines (pause > 0).
type grouper struct {
	gpus  int
	pause time.Duration

	cur  []reading
	at   time.Time // arrival of cur's first reading
	last time.Time // arrival of the latest reading
}

// group is a finished sample's readings and the arrival of the first.
type group struct {
	at       time.Time
	readings []reading
}

// add takes a reading that arrived at at; it returns the samples this
// completed (zero, one or two).
func (g *grouper) add(r reading, at time.Time) []group {
	var done []group
	if len(g.cur) > 0 && (g.pause > 0 && at.Sub(g.last) >= g.pause || r.ID != "" && g.has(r.ID)) {
		done = g.flush(done)
	}
	if len(g.cur) == 0 {
		g.at = at
	}
	g.cur = append(g.cur, r)
	g.last = at
	if g.gpus > 0 && len(g.cur) >= g.gpus {
		done = g.flush(done)
	}
	return done
}

func (g *grouper) has(id string) bool {
	for _, r := range g.cur {
		if r.ID == id {
			return true
		}
	}
	return false
}

// flush ends the current sample, if any, appending it to done.
func (g *grouper) flush(done []group) []group {
	if len(g.cur) > 0 {
		done = append(done, group{at: g.at, readings: g.cur})
		g.cur = nil
	}
	return done
}
