package tokens

import (
	"bytes"
	"unicode/utf8"

	"github.com/agentperf/agentperf/internal/jsonlex"
)

// appendVisible is VisibleText without encoding/json, for the JSON values
// requests are made of: it appends to dst the text VisibleText returns for
// body and reports true, or reports false for a value it leaves to
// VisibleText — invalid JSON, data after the value, an object with a
// repeated key or a key with escapes or non-ASCII bytes, a string with
// invalid UTF-8 or an escaped surrogate, a tool schema or structured
// arguments given as an object (which VisibleText re-encodes).
func appendVisible(dst []byte, body []byte) ([]byte, bool) {
	v := visibleScanner{b: body, out: dst, base: len(dst)}
	i, ok := v.value(jsonlex.SkipSpace(body, 0), 0)
	if !ok || jsonlex.SkipSpace(body, i) != len(body) {
		return dst, false
	}
	return v.out, true
}

// visibleScanner walks one JSON value, appending its visible strings.
type visibleScanner struct {
	b   []byte
	out []byte
	// base is the length of out before the value's text (VisibleText
	// puts a newline before a string when it has text already).
	base int
	// mute counts the enclosing values whose text is not visible.
	mute int
}

// maxVisibleDepth bounds the nesting the scanner follows; deeper values
// are left to VisibleText.
const maxVisibleDepth = 64

// value scans the value at b[i]; it returns the index past it.
func (v *visibleScanner) value(i, depth int) (int, bool) {
	b := v.b
	if i >= len(b) || depth > maxVisibleDepth {
		return i, false
	}
	switch c := b[i]; {
	case c == '"':
		if v.mute > 0 {
			_, end, ok := appendString(nil, b, i, false)
			return end, ok
		}
		if len(v.out) > v.base {
			v.out = append(v.out, '\n')
		}
		var ok bool
		v.out, i, ok = appendString(v.out, b, i, true)
		return i, ok
	case c == '[':
		i = jsonlex.SkipSpace(b, i+1)
		if i < len(b) && b[i] == ']' {
			return i + 1, true
		}
		for {
			var ok bool
			if i, ok = v.value(i, depth+1); !ok {
				return i, false
			}
			i = jsonlex.SkipSpace(b, i)
			if i < len(b) && b[i] == ',' {
				i = jsonlex.SkipSpace(b, i+1)
				continue
			}
			if i < len(b) && b[i] == ']' {
				return i + 1, true
			}
			return i, false
		}
	case c == '{':
		return v.object(i, depth)
	case c == 't':
		return jsonlex.Literal(b, i, "true")
	case c == 'f':
		return jsonlex.Literal(b, i, "false")
	case c == 'n':
		return jsonlex.Literal(b, i, "null")
	case c == '-' || c >= '0' && c <= '9':
		return jsonlex.Number(b, i)
	}
	return i, false
}

// object scans the object at b[i] ('{'), appending the visible text of its
// members. VisibleText takes the members in key order: the scanner reads
// objects whose keys come in increasing order (canonical JSON), which
// also rules out a repeated key, and leaves others to VisibleText.
func (v *visibleScanner) object(i, depth int) (int, bool) {
	b := v.b
	i = jsonlex.SkipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	var prev []byte
	for n := 0; ; n++ {
		if i >= len(b) || b[i] != '"' {
			return i, false
		}
		j := i + 1
		for j < len(b) && b[j] != '"' {
			if c := b[j]; c == '\\' || c >= 0x80 || c < 0x20 {
				return i, false
			}
			j++
		}
		if j >= len(b) {
			return i, false
		}
		key := b[i+1 : j]
		if n > 0 && bytes.Compare(key, prev) <= 0 {
			return i, false
		}
		prev = key
		i = jsonlex.SkipSpace(b, j+1)
		if i >= len(b) || b[i] != ':' {
			return i, false
		}
		i = jsonlex.SkipSpace(b, i+1)
		if i >= len(b) {
			return i, false
		}
		hidden := skipKeys[string(key)]
		if !hidden && b[i] == '{' {
			switch string(key) {
			case "properties", "parameters", "input_schema", "input", "arguments":
				return i, false // VisibleText re-encodes it
			}
		}
		if hidden {
			v.mute++
		}
		var ok bool
		i, ok = v.value(i, depth+1)
		if hidden {
			v.mute--
		}
		if !ok {
			return i, false
		}
		i = jsonlex.SkipSpace(b, i)
		if i < len(b) && b[i] == ',' {
			i = jsonlex.SkipSpace(b, i+1)
			continue
		}
		if i < len(b) && b[i] == '}' {
			return i + 1, true
		}
		return i, false
	}
}

// appendString appends the decoded JSON string at b[i] ('"') to dst, when
// keep is set, and returns the index past it; ok is false for a string it
// leaves to encoding/json (invalid, invalid UTF-8, an escaped surrogate).
func appendString(dst, b []byte, i int, keep bool) (_ []byte, end int, ok bool) {
	i++
	for {
		// Plain bytes up to a quote, backslash or control character.
		j := i
		for j < len(b) {
			c := b[j]
			if c == '"' || c == '\\' || c < 0x20 {
				break
			}
			j++
		}
		if j >= len(b) || b[j] < 0x20 {
			return dst, j, false
		}
		if !utf8.Valid(b[i:j]) {
			return dst, j, false
		}
		if keep {
			dst = append(dst, b[i:j]...)
		}
		if b[j] == '"' {
			return dst, j + 1, true
		}
		// An escape.
		if j+1 >= len(b) {
			return dst, j, false
		}
		var r rune
		adv := 2
		switch e := b[j+1]; e {
		case '"', '\\', '/':
			r = rune(e)
		case 'b':
			r = '\b'
		case 'f':
			r = '\f'
		case 'n':
			r = '\n'
		case 'r':
			r = '\r'
		case 't':
			r = '\t'
		case 'u':
			if j+6 > len(b) {
				return dst, j, false
			}
			for _, h := range b[j+2 : j+6] {
				switch {
				case h >= '0' && h <= '9':
					r = r<<4 | rune(h-'0')
				case h >= 'a' && h <= 'f':
					r = r<<4 | rune(h-'a'+10)
				case h >= 'A' && h <= 'F':
					r = r<<4 | rune(h-'A'+10)
				default:
					return dst, j, false
				}
			}
			if utf8.RuneLen(r) < 0 { // a surrogate
				return dst, j, false
			}
			adv = 6
		default:
			return dst, j, false
		}
		if keep {
			dst = utf8.AppendRune(dst, r)
		}
		i = j + adv
	}
}
