package sim

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/agentperf/agentperf/internal/jsonlex"
)

// A small validating JSON scanner. Agent requests resend their whole
// history every turn, so a body is mostly messages seen before; the server
// walks the top level once (validating as strictly as encoding/json) and
// hands out each member and array element as raw bytes, so only new
// messages are ever decoded.

const maxDepth = 10000

type scanError struct {
	off int
	msg string
}

func (e *scanError) Error() string { return fmt.Sprintf("invalid JSON at byte %d: %s", e.off, e.msg) }

// skipValue validates the JSON value starting at b[i] (after spaces) and
// returns the index just past it.
func skipValue(b []byte, i int) (int, error) { return skipValueDepth(b, i, 0) }

func skipValueDepth(b []byte, i, depth int) (int, error) {
	i = jsonlex.SkipSpace(b, i)
	if i >= len(b) {
		return i, &scanError{i, "unexpected end of input"}
	}
	switch c := b[i]; {
	case c == '"':
		return skipString(b, i)
	case c == '{':
		if depth >= maxDepth {
			return i, &scanError{i, "nested too deeply"}
		}
		i = jsonlex.SkipSpace(b, i+1)
		if i < len(b) && b[i] == '}' {
			return i + 1, nil
		}
		for {
			i = jsonlex.SkipSpace(b, i)
			if i >= len(b) || b[i] != '"' {
				return i, &scanError{i, "expected a string key"}
			}
			var err error
			if i, err = skipString(b, i); err != nil {
				return i, err
			}
			i = jsonlex.SkipSpace(b, i)
			if i >= len(b) || b[i] != ':' {
				return i, &scanError{i, "expected ':'"}
			}
			if i, err = skipValueDepth(b, i+1, depth+1); err != nil {
				return i, err
			}
			i = jsonlex.SkipSpace(b, i)
			if i < len(b) && b[i] == ',' {
				i++
				continue
			}
			if i < len(b) && b[i] == '}' {
				return i + 1, nil
			}
			return i, &scanError{i, "expected ',' or '}'"}
		}
	case c == '[':
		if depth >= maxDepth {
			return i, &scanError{i, "nested too deeply"}
		}
		i = jsonlex.SkipSpace(b, i+1)
		if i < len(b) && b[i] == ']' {
			return i + 1, nil
		}
		for {
			var err error
			if i, err = skipValueDepth(b, i, depth+1); err != nil {
				return i, err
			}
			i = jsonlex.SkipSpace(b, i)
			if i < len(b) && b[i] == ',' {
				i++
				continue
			}
			if i < len(b) && b[i] == ']' {
				return i + 1, nil
			}
			return i, &scanError{i, "expected ',' or ']'"}
		}
	case c == 't':
		return skipLiteral(b, i, "true")
	case c == 'f':
		return skipLiteral(b, i, "false")
	case c == 'n':
		return skipLiteral(b, i, "null")
	case c == '-' || c >= '0' && c <= '9':
		return skipNumber(b, i)
	default:
		return i, &scanError{i, fmt.Sprintf("unexpected character %q", c)}
	}
}

// skipLiteral checks the literal itself rather than calling
// jsonlex.Literal: inlined through it into skipValueDepth's three literal
// cases, the scanner ran 10–15 % slower (BenchmarkPromptFullyCached,
// 104–114 µs against 93–95 µs, five runs each, interleaved).
func skipLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, &scanError{i, "invalid literal"}
	}
	return i + len(lit), nil
}

const (
	lo8 = 0x0101010101010101
	hi8 = 0x8080808080808080
)

// specialIn reports whether any byte of the 8-byte word w is a quote, a
// backslash or a control character (< 0x20): the bytes a JSON string scan
// must stop at. Bit tricks from "Bit Twiddling Hacks" (haszero/hasless).
func specialIn(w uint64) bool {
	quote := w ^ (lo8 * '"')
	slash := w ^ (lo8 * '\\')
	return ((quote-lo8)&^quote|(slash-lo8)&^slash|(w-lo8*0x20)&^w)&hi8 != 0
}

func skipString(b []byte, i int) (int, error) {
	start := i
	i++
	for i < len(b) {
		// Eight bytes at a time through plain text.
		for i+8 <= len(b) && !specialIn(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		if i >= len(b) {
			break
		}
		c := b[i]
		switch {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			if i+1 >= len(b) {
				return i, &scanError{i, "unterminated escape"}
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return i, &scanError{i, "short \\u escape"}
				}
				for _, h := range b[i+2 : i+6] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return i, &scanError{i, "invalid \\u escape"}
					}
				}
				i += 6
			default:
				return i, &scanError{i, "invalid escape"}
			}
		case c < 0x20:
			return i, &scanError{i, "control character in string"}
		default:
			i++
		}
	}
	return start, &scanError{start, "unterminated string"}
}

func skipNumber(b []byte, i int) (int, error) {
	end, ok := jsonlex.Number(b, i)
	if !ok {
		return i, &scanError{i, "invalid number"}
	}
	return end, nil
}

var errNotObject = errors.New("the request body must be a JSON object")

// objectMembers validates b as one JSON object and calls fn for each
// member with the raw key (without quotes, still escaped) and raw value.
func objectMembers(b []byte, fn func(key, val []byte) error) error {
	return objectMembersLazy(b, "", nil, fn)
}

// errLazy is a lazy parse's refusal (objectMembersLazy, splitLazy,
// prompt.addLazy): the body may still be valid or invalid, and the parse
// is redone validating all of it, which gives its answer.
var errLazy = errors.New("sim: a lazily delimited value did not check out")

// objectMembersLazy is objectMembers with the value of member lazy (its
// raw key), when it is an array, delimited by split (splitLazy, which
// splits it into its elements without validating them) instead of
// validated: the caller must have each element validated
// (prompt.addLazy) before it accepts the body. split returns the index
// past the array, with ok false when it is not one. A body with the
// member twice returns errLazy.
func objectMembersLazy(b []byte, lazy string, split func(b []byte, i int) (end int, ok bool), fn func(key, val []byte) error) error {
	seen := false
	i := jsonlex.SkipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		if i >= len(b) {
			return errors.New("the request body is empty")
		}
		if _, err := skipValue(b, i); err != nil {
			return err
		}
		return errNotObject
	}
	i = jsonlex.SkipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return trailing(b, i+1)
	}
	for {
		i = jsonlex.SkipSpace(b, i)
		if i >= len(b) || b[i] != '"' {
			return &scanError{i, "expected a string key"}
		}
		ks := i
		var err error
		if i, err = skipString(b, i); err != nil {
			return err
		}
		key := b[ks+1 : i-1]
		i = jsonlex.SkipSpace(b, i)
		if i >= len(b) || b[i] != ':' {
			return &scanError{i, "expected ':'"}
		}
		vs := jsonlex.SkipSpace(b, i+1)
		if lazy != "" && vs < len(b) && b[vs] == '[' && string(key) == lazy {
			if seen {
				return errLazy
			}
			seen = true
			var ok bool
			if i, ok = split(b, vs); !ok {
				return errLazy
			}
		} else if i, err = skipValueDepth(b, vs, 1); err != nil {
			return err
		}
		if err := fn(key, b[vs:i]); err != nil {
			return err
		}
		i = jsonlex.SkipSpace(b, i)
		if i < len(b) && b[i] == ',' {
			i++
			continue
		}
		if i < len(b) && b[i] == '}' {
			return trailing(b, i+1)
		}
		return &scanError{i, "expected ',' or '}'"}
	}
}

func trailing(b []byte, i int) error {
	if i = jsonlex.SkipSpace(b, i); i != len(b) {
		return &scanError{i, "data after the JSON object"}
	}
	return nil
}

// skipValid returns the index just past the JSON value at b[i], which must
// already be known valid (objectMembers validated it): strings are crossed
// with bytes.IndexByte, so this is several times faster than skipValue.
func skipValid(b []byte, i int) int {
	i = jsonlex.SkipSpace(b, i)
	depth := 0
	for i < len(b) {
		switch c := b[i]; c {
		case '"':
			i++
			for {
				j := bytes.IndexByte(b[i:], '"')
				if j < 0 {
					return len(b)
				}
				i += j
				// An escaped quote has an odd run of backslashes before it.
				k := i - 1
				for k >= 0 && b[k] == '\\' {
					k--
				}
				i++
				if (i-2-k)%2 == 0 {
					break
				}
			}
			if depth == 0 {
				return i
			}
		case '{', '[':
			depth++
			i++
		case '}', ']':
			depth--
			i++
			if depth == 0 {
				return i
			}
		case ',', ':', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return i
			}
			i++
		default:
			// A number or literal.
			i++
			if depth == 0 {
				for i < len(b) && !jsonlex.IsSpace(b[i]) && b[i] != ',' && b[i] != '}' && b[i] != ']' {
					i++
				}
				return i
			}
		}
	}
	return i
}

// arrayElements returns the raw elements of the (already validated) JSON
// array v; ok is false when v is not an array.
func arrayElements(v []byte) (elems [][]byte, ok bool) {
	i := jsonlex.SkipSpace(v, 0)
	if i >= len(v) || v[i] != '[' {
		return nil, false
	}
	i = jsonlex.SkipSpace(v, i+1)
	if i < len(v) && v[i] == ']' {
		return nil, true
	}
	for i < len(v) {
		s := jsonlex.SkipSpace(v, i)
		e := skipValid(v, s)
		if e <= s {
			return elems, false
		}
		elems = append(elems, v[s:e])
		i = jsonlex.SkipSpace(v, e)
		if i < len(v) && v[i] == ',' {
			i++
			continue
		}
		break
	}
	return elems, true
}

// splitLazy appends to elems the elements of the array at b[i] (a '['),
// each delimited with skipValid, and returns the index just past the
// array, checking the brackets, commas and spaces between the elements;
// ok is false when they are not those of an array. The elements
// themselves are not validated: b[i:end] is a valid array exactly when ok
// is set and each element is one valid JSON value (at depth 2).
func splitLazy(b []byte, i int, elems [][]byte) (_ [][]byte, end int, ok bool) {
	i = jsonlex.SkipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return elems, i + 1, true
	}
	return splitLazyElems(b, i, elems)
}

// splitLazyAfter is splitLazy from b[i], just past an element of the array.
func splitLazyAfter(b []byte, i int, elems [][]byte) (_ [][]byte, end int, ok bool) {
	i = jsonlex.SkipSpace(b, i)
	switch {
	case i < len(b) && b[i] == ',':
		return splitLazyElems(b, jsonlex.SkipSpace(b, i+1), elems)
	case i < len(b) && b[i] == ']':
		return elems, i + 1, true
	}
	return elems, i, false
}

// splitLazyElems is splitLazy from b[i], the start of an element.
func splitLazyElems(b []byte, i int, elems [][]byte) (_ [][]byte, end int, ok bool) {
	for {
		e := skipValid(b, i)
		if e <= i {
			return elems, i, false
		}
		elems = append(elems, b[i:e])
		i = jsonlex.SkipSpace(b, e)
		switch {
		case i < len(b) && b[i] == ',':
			i = jsonlex.SkipSpace(b, i+1)
		case i < len(b) && b[i] == ']':
			return elems, i + 1, true
		default:
			return elems, i, false
		}
	}
}
