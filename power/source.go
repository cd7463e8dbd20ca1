package power

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Kind is how a Source reads power.
type Kind string

// Source kinds.
const (
	// KindProm scrapes a Prometheus text endpoint (dcgm-exporter, the
	// simulator's /metrics) every Interval.
	KindProm Kind = "prom"
	// KindCmd runs a command and reads watts from its output
	// (nvidia-smi, amd-smi, any script).
	KindCmd Kind = "cmd"
)

// Defaults of a Source.
const (
	// DefaultMetric is dcgm-exporter's board power draw per GPU, W.
	DefaultMetric = "DCGM_FI_DEV_POWER_USAGE"
	// DefaultInterval is the scrape period of a prom source, the re-run
	// period of a command that exits after printing, and the first retry
	// delay after a failure.
	DefaultInterval = time.Second
	// DefaultPause is the silence after which a command's next line starts
	// a new sample (its GPUs print together, samples apart).
	DefaultPause = 50 * time.Millisecond
	// DefaultCmdSystem is the system of a command source: the host replay
	// runs on, where the command runs.
	DefaultCmdSystem = "local"
)

// Source is one power source as parsed by ParseSource.
type Source struct {
	// Kind is KindProm or KindCmd.
	Kind Kind
	// Label names the source in samples and files: the spec without
	// credentials or forwarded query parameters.
	Label string
	// System names the machine or rack measured; sources of one system are
	// summed (default: the URL's host name, or DefaultCmdSystem).
	System string
	// Interval is the scrape period (prom), the re-run period of a command
	// that exits 0, and the first retry delay after a failure; 0 means
	// DefaultInterval.
	Interval time.Duration

	// URL is the http(s) URL scraped, with credentials and forwarded query
	// parameters (prom).
	URL string
	// Metric is the metric summed (prom; default DefaultMetric).
	Metric string
	// Match selects the metric's series (GPUs) to sum; all must match (prom).
	Match []Matcher
	// Scale multiplies the metric's values into watts (prom; 0 means 1).
	Scale float64

	// Args is the command and its arguments (cmd).
	Args []string
	// GPUs, when > 0, is the number of readings per sample (cmd).
	GPUs int
	// Pause is the silence that ends a sample (cmd; 0 means DefaultPause,
	// negative disables).
	Pause time.Duration
}

// Syntax is the source syntax, for errors and help.
const Syntax = `prom+http://HOST:PORT/PATH[?metric=NAME&match=LABEL=~"RE"&system=NAME&interval=1s&scale=1] or cmd[(gpus=N,system=NAME,interval=1s,pause=50ms)]:COMMAND ARGS…`

// ParseSource parses one power source:
//
//	prom+http://node-a:9400/metrics
//	prom+https://node-a:9400/metrics?match=gpu=~"0|1"&system=rack-1
//	cmd:nvidia-smi --query-gpu=power.draw --format=csv,noheader,nounits -lms 200
//	cmd(gpus=8,system=node-a):ssh node-a amd-smi monitor -p --csv -w 1
//
// A prom source's options are query parameters that are not sent: metric
// (default DefaultMetric), match (repeatable; a Prometheus label matcher
// list such as gpu=~"0|1" or {gpu!="3",Hostname="a"}; write + as %2B),
// system (default the URL's host name), interval (a Go duration, default
// 1s) and scale (watts per unit of the metric, default 1). Other query
// parameters are sent to the endpoint. A cmd source's options go in
// parentheses: gpus, system (default "local"), interval and pause. The
// command is split into words on spaces, with '…', "…" and \ quoting, and
// run without a shell.
func ParseSource(spec string) (Source, error) {
	fail := func(format string, args ...any) (Source, error) {
		return Source{}, fmt.Errorf("power source %q: %s", spec, fmt.Sprintf(format, args...))
	}
	switch {
	case strings.HasPrefix(spec, "prom+http://"), strings.HasPrefix(spec, "prom+https://"):
		s, err := parseProm(strings.TrimPrefix(spec, "prom+"))
		if err != nil {
			return fail("%v", err)
		}
		return s, nil
	case strings.HasPrefix(spec, "cmd:"), strings.HasPrefix(spec, "cmd("):
		s, err := parseCmd(spec)
		if err != nil {
			return fail("%v", err)
		}
		return s, nil
	}
	return fail("unknown kind; give %s", Syntax)
}

func parseProm(raw string) (Source, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Source{}, err
	}
	if u.Host == "" {
		return Source{}, errors.New("no host in the URL")
	}
	s := Source{Kind: KindProm, Metric: DefaultMetric, System: u.Hostname()}
	var kept, used []string
	for _, part := range strings.Split(u.RawQuery, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		key, err := url.PathUnescape(k)
		if err != nil {
			return Source{}, fmt.Errorf("query %q: %v", part, err)
		}
		val, err := url.PathUnescape(v)
		if err != nil {
			return Source{}, fmt.Errorf("query %q: %v", part, err)
		}
		switch key {
		case "metric":
			if !validMetricName(val) {
				return Source{}, fmt.Errorf("metric %q is not a metric name", val)
			}
			s.Metric = val
		case "match":
			m, err := ParseMatchers(val)
			if err != nil {
				return Source{}, err
			}
			s.Match = append(s.Match, m...)
		case "system":
			s.System = val
		case "interval":
			if s.Interval, err = parsePositive(key, val); err != nil {
				return Source{}, err
			}
		case "scale":
			f, err := strconv.ParseFloat(val, 64)
			if err != nil || !(f > 0) || f > 1e12 {
				return Source{}, fmt.Errorf("scale %q: want a positive number of watts per unit", val)
			}
			s.Scale = f
		default:
			kept = append(kept, part)
			continue
		}
		used = append(used, part)
	}
	if s.System == "" {
		return Source{}, errors.New("empty system name")
	}
	label := "prom+" + u.Scheme + "://" + u.Host + u.EscapedPath()
	if len(used) > 0 {
		label += "?" + strings.Join(used, "&")
	}
	u.RawQuery = strings.Join(kept, "&")
	u.Fragment, u.RawFragment = "", ""
	s.URL, s.Label = u.String(), label
	return s, nil
}

func parseCmd(spec string) (Source, error) {
	s := Source{Kind: KindCmd, System: DefaultCmdSystem, Label: spec}
	rest := strings.TrimPrefix(spec, "cmd")
	if strings.HasPrefix(rest, "(") {
		opts, after, ok := strings.Cut(rest[1:], "):")
		if !ok {
			return Source{}, errors.New(`options not closed by "):"`)
		}
		rest = ":" + after
		for _, kv := range strings.Split(opts, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
			if !ok {
				return Source{}, fmt.Errorf("option %q: want KEY=VALUE", kv)
			}
			var err error
			switch k {
			case "gpus":
				n, perr := strconv.Atoi(v)
				if perr != nil || n <= 0 || n > 1<<16 {
					return Source{}, fmt.Errorf("gpus=%s: want a positive count", v)
				}
				s.GPUs = n
			case "system":
				if v == "" {
					return Source{}, errors.New("empty system name")
				}
				s.System = v
			case "interval":
				s.Interval, err = parsePositive(k, v)
			case "pause":
				s.Pause, err = time.ParseDuration(v)
				if err == nil && s.Pause == 0 {
					s.Pause = -1
				}
			default:
				return Source{}, fmt.Errorf("unknown option %q (have gpus, system, interval, pause)", k)
			}
			if err != nil {
				return Source{}, err
			}
		}
	}
	args, err := SplitCommand(strings.TrimPrefix(rest, ":"))
	if err != nil {
		return Source{}, err
	}
	if len(args) == 0 {
		return Source{}, errors.New("no command after cmd:")
	}
	s.Args = args
	return s, nil
}

func parsePositive(key, v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%s: want a positive duration such as 200ms or 1s", key, v)
	}
	return d, nil
}

func validMetricName(s string) bool {
	for i, r := range s {
		if !(r == '_' || r == ':' || r < unicode.MaxASCII && unicode.IsLetter(r) || i > 0 && r < unicode.MaxASCII && unicode.IsDigit(r)) {
			return false
		}
	}
	return s != ""
}

// SplitCommand splits a command line into words at unquoted spaces and
// tabs; '…' keeps everything literally, "…" keeps spaces and honors \" and
// \\, and a \ outside quotes escapes the next character. No shell runs:
// pipes, globs and variables are not expanded (wrap in sh -c '…' for that).
func SplitCommand(line string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		in    bool // inside a word
	)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unclosed ' in the command")
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
			in = true
		case c == '"':
			i++
			for ; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' && i+1 < len(line) && (line[i+1] == '"' || line[i+1] == '\\') {
					i++
				}
				cur.WriteByte(line[i])
			}
			if i >= len(line) {
				return nil, errors.New(`unclosed " in the command`)
			}
			in = true
		case c == '\\':
			if i+1 < len(line) {
				i++
				cur.WriteByte(line[i])
			}
			in = true
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}
