package target

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Setting is one request-body field to set: a dotted key path and a JSON
// value, written PATH=JSON (reasoning_effort="high",
// chat_template_kwargs.thinking=true). Paths address object keys only: a
// key that itself contains a dot, or an array element, cannot be set.
type Setting struct {
	// Path is the key path from the body's top level, at least one key.
	Path []string
	// Value is the compact JSON value to store at Path.
	Value json.RawMessage
}

// String returns the setting in its PATH=JSON form.
func (s Setting) String() string { return strings.Join(s.Path, ".") + "=" + string(s.Value) }

// ParseSetting reads one PATH=JSON setting. The value must be JSON: a
// string is quoted (reasoning_effort="high"), true, 0.7 and {"a":1} are
// written as they are.
func ParseSetting(s string) (Setting, error) {
	path, value, ok := strings.Cut(s, "=")
	if !ok {
		return Setting{}, fmt.Errorf("setting %q has no '=': write PATH=JSON, e.g. temperature=0.7 or reasoning_effort=\"high\"", s)
	}
	path = strings.TrimSpace(path)
	if path == "" {
		return Setting{}, fmt.Errorf("setting %q has an empty path: write PATH=JSON", s)
	}
	if !utf8.ValidString(path) {
		return Setting{}, fmt.Errorf("setting %q: path is not valid UTF-8", s)
	}
	keys := strings.Split(path, ".")
	for _, k := range keys {
		if k == "" {
			return Setting{}, fmt.Errorf("setting %q: path %q has an empty key (two dots, or a leading or trailing dot)", s, path)
		}
	}
	value = strings.TrimSpace(value)
	if !json.Valid([]byte(value)) {
		hint := ""
		if value != "" && value[0] != '"' && value[0] != '{' && value[0] != '[' {
			hint = fmt.Sprintf(" (a string must be quoted: %s=\"%s\")", path, value)
		}
		return Setting{}, fmt.Errorf("setting %q: value %q is not JSON%s", s, value, hint)
	}
	var buf bytes.Buffer
	_ = json.Compact(&buf, []byte(value)) // valid, checked above
	return Setting{Path: keys, Value: buf.Bytes()}, nil
}

// ParseSettings reads PATH=JSON settings in order (later ones win where
// paths meet).
func ParseSettings(ss []string) ([]Setting, error) {
	out := make([]Setting, 0, len(ss))
	for _, s := range ss {
		st, err := ParseSetting(s)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// Apply returns body, a JSON object, with each setting stored in order:
// an existing key keeps its place and gets the new value, a missing key is
// appended at the end of its object, and missing intermediate objects are
// created. The other bytes of body are kept as they are. It fails when
// body is not a JSON object or a path runs through a value that is not an
// object; body itself is never modified.
//
// Replay calls it once per turn on the turn's params object (where its
// output shaping already runs), and per send only on a translated body,
// presets' settings first and the user's last: it validates the whole
// body, about 0.55 ms for a 100 KB body on this project's 2-core machine
// (BenchmarkApply), too much for every send of a long prompt.
func Apply(body []byte, settings ...Setting) ([]byte, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if !json.Valid(body) {
		return nil, fmt.Errorf("request body is not valid JSON")
	}
	start := skipWS(body, 0)
	if body[start] != '{' {
		return nil, fmt.Errorf("request body is not a JSON object")
	}
	out := body
	for _, s := range settings {
		if len(s.Path) == 0 || len(s.Value) == 0 {
			return nil, fmt.Errorf("setting %q is empty", s.String())
		}
		var err error
		out, err = setIn(out, start, s.Path, s.Value, s.Path)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// setIn stores value at path inside the object starting at b[at] and
// returns the new document (a fresh slice).
func setIn(b []byte, at int, path []string, value json.RawMessage, full []string) ([]byte, error) {
	key := path[0]
	found := -1 // start of the last matching member's value
	i := skipWS(b, at+1)
	closeAt := -1
	for {
		if b[i] == '}' {
			closeAt = i
			break
		}
		kEnd := skipValue(b, i)
		var k string
		if err := json.Unmarshal(b[i:kEnd], &k); err != nil {
			return nil, fmt.Errorf("request body: bad object key: %v", err)
		}
		v := skipWS(b, skipWS(b, kEnd)+1) // past ':'
		vEnd := skipValue(b, v)
		if k == key {
			found = v
		}
		i = skipWS(b, vEnd)
		if b[i] == ',' {
			i = skipWS(b, i+1)
		}
	}
	if found >= 0 {
		vEnd := skipValue(b, found)
		if len(path) == 1 {
			return splice(b, found, vEnd, value), nil
		}
		if b[found] != '{' {
			depth := len(full) - len(path) + 1
			return nil, fmt.Errorf("cannot set %s: %s is %s in the request body, not an object",
				strings.Join(full, "."), strings.Join(full[:depth], "."), kindOf(b[found]))
		}
		return setIn(b, found, path[1:], value, full)
	}
	// Append "key": nested value before the closing brace.
	var ins bytes.Buffer
	if j := lastNonWS(b, closeAt); b[j] != '{' {
		ins.WriteByte(',')
	}
	for n, k := range path {
		kb, _ := json.Marshal(k)
		ins.Write(kb)
		ins.WriteByte(':')
		if n < len(path)-1 {
			ins.WriteByte('{')
		}
	}
	ins.Write(value)
	for range path[1:] {
		ins.WriteByte('}')
	}
	return splice(b, closeAt, closeAt, ins.Bytes()), nil
}

func kindOf(c byte) string {
	switch c {
	case '"':
		return "a string"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// splice returns b with b[from:to] replaced by ins, in a new slice.
func splice(b []byte, from, to int, ins []byte) []byte {
	out := make([]byte, 0, len(b)-(to-from)+len(ins))
	out = append(out, b[:from]...)
	out = append(out, ins...)
	return append(out, b[to:]...)
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func lastNonWS(b []byte, i int) int {
	for i--; i > 0 && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r'); i-- {
	}
	return i
}

// skipValue returns the index just past the JSON value starting at b[i]
// (b is known to be valid JSON).
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		// Find the closing quote: one not preceded by an odd number of
		// backslashes (IndexByte is far faster than a byte loop on the
		// long strings of a prompt).
		for j := i + 1; ; j++ {
			k := bytes.IndexByte(b[j:], '"')
			if k < 0 {
				return len(b)
			}
			j += k
			n := 0
			for p := j - 1; p > i && b[p] == '\\'; p-- {
				n++
			}
			if n%2 == 0 {
				return j + 1
			}
		}
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = skipValue(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	for ; i < len(b); i++ {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
	}
	return i
}
