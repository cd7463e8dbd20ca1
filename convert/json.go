package convert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/agentperf/agentperf/schemas"
)

// canonicalJSON is the trace set's canonical JSON form.
var canonicalJSON = schemas.Canonical

// jsonSyntax is a line that is not valid JSON.
type jsonSyntax struct {
	err error
	// eof is true when the text ends in the middle of a value.
	eof bool
}

func (e *jsonSyntax) Error() string { return "invalid JSON: " + e.err.Error() }
func (e *jsonSyntax) Unwrap() error { return e.err }

// decodeJSON unmarshals one JSON line into v, turning syntax errors into
// *jsonSyntax and type mismatches into a message naming the field.
func decodeJSON(line []byte, v any) error {
	err := json.Unmarshal(line, v)
	if err == nil {
		return nil
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &jsonSyntax{err: err, eof: strings.Contains(se.Error(), "unexpected end")}
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "the line"
		}
		return fmt.Errorf("%s: expected %s, got JSON %s", field, te.Type, te.Value)
	}
	return err
}

// canonical returns the canonical JSON of raw, or an error naming what.
func canonical(raw json.RawMessage, what string) ([]byte, error) {
	c, err := canonicalJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", what, err)
	}
	return c, nil
}

// isNull reports whether raw is absent or JSON null.
func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}

// jsonString returns raw as a Go string when it is a JSON string.
func jsonString(raw json.RawMessage) (string, bool) {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// parseTime parses an RFC 3339 timestamp as Unix ns; 0 when empty or
// invalid.
func parseTime(s string) int64 {
	if s == "" {
		return 0
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0
	}
	return t.UnixNano()
}

// objectBuilder writes a canonical JSON object from fields added in any
// order: keys are sorted on Bytes.
type objectBuilder struct {
	keys []string
	vals [][]byte
}

// raw adds a field whose value is already JSON.
func (o *objectBuilder) raw(key string, val []byte) {
	o.keys = append(o.keys, key)
	o.vals = append(o.vals, val)
}

// value adds a field marshalled from a Go value.
func (o *objectBuilder) value(key string, v any) {
	b, err := json.Marshal(v)
	if err == nil {
		b, err = schemas.Canonical(b)
	}
	if err != nil {
		b = []byte("null")
	}
	o.raw(key, b)
}

// bytes returns the object with keys in sorted order. Values are not
// re-canonicalized: callers pass canonical JSON for a canonical result.
func (o *objectBuilder) bytes() []byte {
	idx := make([]int, len(o.keys))
	for i := range idx {
		idx[i] = i
	}
	// Insertion sort: objects here have a handful of keys.
	for i := 1; i < len(idx); i++ {
		for j := i; j > 0 && o.keys[idx[j]] < o.keys[idx[j-1]]; j-- {
			idx[j], idx[j-1] = idx[j-1], idx[j]
		}
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for n, i := range idx {
		if n > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(o.keys[i])
		b.Write(k)
		b.WriteByte(':')
		b.Write(o.vals[i])
	}
	b.WriteByte('}')
	return b.Bytes()
}
