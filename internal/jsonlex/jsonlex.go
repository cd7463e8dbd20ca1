// Package jsonlex holds the lexical pieces of JSON (RFC 8259) that the
// project's hand-written scanners share: sim's validating request scanner
// and the tokens package's visible-text scanner. Each function takes the
// bytes and an index, and returns the index just past what it read.
package jsonlex

// IsSpace reports whether c is JSON whitespace.
func IsSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// SkipSpace returns the index of the first byte at or after i that is not
// JSON whitespace (len(b) when there is none).
func SkipSpace(b []byte, i int) int {
	for i < len(b) && IsSpace(b[i]) {
		i++
	}
	return i
}

// Literal reads the literal lit (true, false or null) at b[i]; ok is false,
// and end is i, when b does not hold it there.
func Literal(b []byte, i int, lit string) (end int, ok bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}

// Number reads the number at b[i], which starts with '-' or a digit; ok is
// false, and end is i, when it is not a valid JSON number (a leading zero
// followed by digits ends the number after the zero, as the grammar says).
func Number(b []byte, i int) (end int, ok bool) {
	start := i
	if b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if digits() == 0 {
		return start, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return start, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return start, false
		}
	}
	return i, true
}
