package proxy

import (
	"bytes"
	"encoding/json"
	"regexp"
)

// RedactMask replaces every match of a --redact pattern.
const RedactMask = "[REDACTED]"

// Redactor masks matches of patterns in captured bodies before anything is
// written. In a JSON body only string values (and object keys) are
// searched, so the body stays valid JSON; other bodies are searched as
// bytes. A nil Redactor changes nothing.
type Redactor struct {
	patterns []*regexp.Regexp
}

// NewRedactor compiles patterns (Go RE2 syntax).
func NewRedactor(patterns []string) (*Redactor, error) {
	if len(patterns) == 0 {
		return nil, nil
	}
	r := &Redactor{}
	for _, p := range patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, err
		}
		r.patterns = append(r.patterns, re)
	}
	return r, nil
}

// Apply returns body with every match masked. It returns body itself when
// nothing matched.
func (r *Redactor) Apply(body []byte) []byte {
	if r == nil || len(body) == 0 {
		return body
	}
	hit := false
	for _, re := range r.patterns {
		if re.Match(body) {
			hit = true
			break
		}
	}
	if !hit {
		return body
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err == nil && !d.More() {
		v = r.walk(v)
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if enc.Encode(v) == nil {
			out := bytes.TrimRight(buf.Bytes(), "\n")
			// A pattern spanning JSON syntax (quotes, keys) is masked in
			// the raw text as well.
			return r.raw(out)
		}
	}
	return r.raw(body)
}

func (r *Redactor) raw(b []byte) []byte {
	for _, re := range r.patterns {
		b = re.ReplaceAllLiteral(b, []byte(RedactMask))
	}
	return b
}

func (r *Redactor) str(s string) string {
	for _, re := range r.patterns {
		s = re.ReplaceAllLiteralString(s, RedactMask)
	}
	return s
}

func (r *Redactor) walk(v any) any {
	switch x := v.(type) {
	case string:
		return r.str(x)
	case []any:
		for i := range x {
			x[i] = r.walk(x[i])
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[r.str(k)] = r.walk(e)
		}
		return out
	}
	return v
}
