package power

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Matcher selects series by one label, as a Prometheus label matcher does:
// Op is "=", "!=", "=~" or "!~"; a regular expression must match the whole
// value; a missing label has the value "".
type Matcher struct {
	Name, Op, Value string
	re              *regexp.Regexp
}

// Matches reports whether a series whose label Name has value v matches.
func (m Matcher) Matches(v string) bool {
	switch m.Op {
	case "=":
		return v == m.Value
	case "!=":
		return v != m.Value
	case "=~":
		return m.re.MatchString(v)
	default: // "!~"
		return !m.re.MatchString(v)
	}
}

// String returns the matcher in Prometheus syntax.
func (m Matcher) String() string { return m.Name + m.Op + strconv.Quote(m.Value) }

// ParseMatchers parses a comma-separated list of label matchers, optionally
// in braces: gpu=~"0|1", {gpu!="3",Hostname="node-a"}. Values are
// double-quoted (Go escapes) or bare up to the next comma.
func ParseMatchers(s string) ([]Matcher, error) {
	in := strings.TrimSpace(s)
	if strings.HasPrefix(in, "{") {
		if !strings.HasSuffix(in, "}") {
			return nil, fmt.Errorf("label matchers %q: { without }", s)
		}
		in = in[1 : len(in)-1]
	}
	var out []Matcher
	for {
		in = strings.TrimLeft(in, " \t")
		if in == "" {
			break
		}
		m, rest, err := parseMatcher(in)
		if err != nil {
			return nil, fmt.Errorf("label matchers %q: %v (write them as gpu=~\"0|1\",Hostname=\"node-a\")", s, err)
		}
		out = append(out, m)
		rest = strings.TrimLeft(rest, " \t")
		if rest != "" && rest[0] != ',' {
			return nil, fmt.Errorf("label matchers %q: want , between matchers, got %q", s, rest)
		}
		in = strings.TrimPrefix(rest, ",")
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("label matchers %q: empty", s)
	}
	return out, nil
}

func parseMatcher(in string) (Matcher, string, error) {
	n := 0
	for n < len(in) && (in[n] == '_' || in[n] >= 'a' && in[n] <= 'z' || in[n] >= 'A' && in[n] <= 'Z' || n > 0 && in[n] >= '0' && in[n] <= '9') {
		n++
	}
	if n == 0 {
		return Matcher{}, "", fmt.Errorf("want a label name at %q", in)
	}
	m := Matcher{Name: in[:n]}
	rest := strings.TrimLeft(in[n:], " \t")
	for _, op := range []string{"=~", "!~", "!=", "="} {
		if strings.HasPrefix(rest, op) {
			m.Op = op
			break
		}
	}
	if m.Op == "" {
		return Matcher{}, "", fmt.Errorf("want =, !=, =~ or !~ after %q", m.Name)
	}
	rest = strings.TrimLeft(rest[len(m.Op):], " \t")
	if strings.HasPrefix(rest, `"`) {
		end := closingQuote(rest)
		if end < 0 {
			return Matcher{}, "", errors.New("unclosed \" in a value")
		}
		v, err := strconv.Unquote(rest[:end+1])
		if err != nil {
			return Matcher{}, "", fmt.Errorf("value %s: %v", rest[:end+1], err)
		}
		m.Value, rest = v, rest[end+1:]
	} else {
		end := strings.IndexByte(rest, ',')
		if end < 0 {
			end = len(rest)
		}
		m.Value, rest = strings.TrimSpace(rest[:end]), rest[end:]
	}
	if m.Op == "=~" || m.Op == "!~" {
		re, err := regexp.Compile("^(?:" + m.Value + ")$")
		if err != nil {
			return Matcher{}, "", fmt.Errorf("regular expression %q: %v", m.Value, err)
		}
		m.re = re
	}
	return m, rest, nil
}

// closingQuote returns the index of the " that closes the string opening s,
// or -1.
func closingQuote(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}
