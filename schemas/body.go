package schemas

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
)

// Canonical returns the canonical JSON of data: object keys sorted, no
// insignificant whitespace, numbers kept as written, no HTML escaping.
// Two JSON texts with the same value have the same canonical form.
func Canonical(data []byte) ([]byte, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, fmt.Errorf("trailing data after JSON value")
	}
	return canonicalValue(v), nil
}

func canonicalValue(v any) []byte {
	var buf bytes.Buffer
	writeCanonical(&buf, v)
	return buf.Bytes()
}

func writeCanonical(buf *bytes.Buffer, v any) {
	switch x := v.(type) {
	case nil:
		buf.WriteString("null")
	case bool:
		buf.WriteString(strconv.FormatBool(x))
	case json.Number:
		buf.WriteString(string(x))
	case string:
		writeString(buf, x)
	case []any:
		buf.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeCanonical(buf, e)
		}
		buf.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		buf.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeString(buf, k)
			buf.WriteByte(':')
			writeCanonical(buf, x[k])
		}
		buf.WriteByte('}')
	default:
		b, _ := json.Marshal(x)
		buf.Write(b)
	}
}

const hexDigits = "0123456789abcdef"

func writeString(buf *bytes.Buffer, s string) {
	buf.WriteByte('"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		buf.WriteString(s[start:i])
		switch c {
		case '"':
			buf.WriteString(`\"`)
		case '\\':
			buf.WriteString(`\\`)
		case '\n':
			buf.WriteString(`\n`)
		case '\r':
			buf.WriteString(`\r`)
		case '\t':
			buf.WriteString(`\t`)
		default:
			buf.WriteString(`\u00`)
			buf.WriteByte(hexDigits[c>>4])
			buf.WriteByte(hexDigits[c&0xF])
		}
		start = i + 1
	}
	buf.WriteString(s[start:])
	buf.WriteByte('"')
}

// BlobID returns the content address of a blob of the given kind and
// canonical body.
func BlobID(kind string, body []byte) int64 {
	h := sha256.New()
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write(body)
	var sum [32]byte
	return int64(binary.BigEndian.Uint64(h.Sum(sum[:0])[:8]) &^ (1 << 63))
}

// Part is one piece of a request body, in canonical JSON.
type Part struct {
	Kind string
	// Body is the canonical JSON; empty when Recipe rebuilds it (parts
	// from TraceSet.Parts). Read it with AppendBody or Bytes, which handle
	// both.
	Body []byte
	// Tokens is the part's token count when known, or -1.
	Tokens int
	// Recipe, when set (not IsZero) and Body is empty, generates the body:
	// Rebuild writes the recipe's bytes, and a trace-set writer stores the
	// recipe instead of the bytes.
	Recipe Recipe
}

// listField returns the body field that holds an API's message list.
func listField(api string) string {
	if api == APIOpenAIResponses {
		return "input"
	}
	return "messages"
}

// singleFields are the body fields stored as one blob each, per API.
func singleFields(api string) []string {
	switch api {
	case APIAnthropic:
		return []string{KindSystem, KindTools}
	case APIOpenAIChat:
		return []string{KindTools}
	case APIOpenAIResponses:
		return []string{KindInstructions, KindTools}
	}
	return nil
}

// jsonSpace is the whitespace JSON allows between tokens (RFC 8259): not
// Unicode's, which bytes.TrimSpace trims (a trailing \v is not JSON).
const jsonSpace = " \t\n\r"

// Split cuts a request body of the given API into params (a canonical JSON
// object of the remaining fields) and parts in prompt order: single fields
// first (system, instructions, tools), then one part per message. The
// leading per-request metadata blocks of an Anthropic system list
// (IsRequestMetadataBlock) become a KindRequestMeta part just before the
// system part, which keeps the remaining blocks. A body of
// an unknown API, or one that is not a JSON object, becomes a single "body"
// part with empty params.
func Split(api string, body []byte) (params []byte, parts []Part, err error) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var obj map[string]any
	if api == APIRaw || d.Decode(&obj) != nil || obj == nil ||
		len(bytes.Trim(body[d.InputOffset():], jsonSpace)) > 0 { // trailing data: not one JSON object
		c, cerr := Canonical(body)
		if cerr != nil {
			// Not JSON at all: keep the bytes as a JSON string.
			c = canonicalValue(string(body))
		}
		return []byte("{}"), []Part{{Kind: KindBody, Body: c, Tokens: -1}}, nil
	}
	for _, f := range singleFields(api) {
		if v, ok := obj[f]; ok {
			if list, ok := v.([]any); ok && f == KindSystem && api == APIAnthropic {
				if n := leadingMetaBlocks(list); n > 0 {
					parts = append(parts, Part{Kind: KindRequestMeta, Body: canonicalValue(list[:n]), Tokens: -1})
					v = list[n:]
				}
			}
			parts = append(parts, Part{Kind: f, Body: canonicalValue(v), Tokens: -1})
			delete(obj, f)
		}
	}
	lf := listField(api)
	switch v := obj[lf].(type) {
	case []any:
		if len(v) == 0 {
			break // an empty list stays in params
		}
		for _, m := range v {
			parts = append(parts, Part{Kind: KindMessage, Body: canonicalValue(m), Tokens: -1})
		}
		delete(obj, lf)
	case nil:
	default:
		// e.g. Responses input given as a plain string.
		parts = append(parts, Part{Kind: KindInput, Body: canonicalValue(v), Tokens: -1})
		delete(obj, lf)
	}
	return canonicalValue(obj), parts, nil
}

// Rebuild writes the request body of the given API from params and the
// prompt parts (as Split returned them) to dst and returns it. It
// concatenates bytes and does not parse; the result equals the original body
// in canonical JSON. A KindRequestMeta part's blocks are written in front
// of the next system part's blocks. A part with a Recipe and no Body is
// generated in place.
func Rebuild(dst []byte, api string, params []byte, parts []Part) []byte {
	if len(parts) == 1 && parts[0].Kind == KindBody {
		return parts[0].AppendBody(dst)
	}
	dst = append(dst, '{')
	inner := bytes.TrimSpace(params)
	if len(inner) >= 2 {
		inner = inner[1 : len(inner)-1]
	}
	dst = append(dst, inner...)
	n := len(inner)
	sep := func() {
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
	}
	var msgs int
	var meta []byte // a request_meta part waiting for its system part
	for _, p := range parts {
		switch p.Kind {
		case KindMessage:
			msgs++
			continue
		case KindRequestMeta:
			meta = p.Bytes()
			continue
		}
		sep()
		dst = append(dst, '"')
		if p.Kind == KindInput {
			dst = append(dst, listField(api)...)
		} else {
			dst = append(dst, p.Kind...)
		}
		dst = append(dst, '"', ':')
		if p.Kind == KindSystem && meta != nil {
			dst = appendJoinedLists(dst, meta, p.Bytes())
			meta = nil
			continue
		}
		dst = p.AppendBody(dst)
	}
	if meta != nil { // no system part followed: the blocks are the system list
		sep()
		dst = append(dst, `"system":`...)
		dst = append(dst, meta...)
	}
	if msgs > 0 {
		sep()
		dst = append(dst, '"')
		dst = append(dst, listField(api)...)
		dst = append(dst, `":[`...)
		i := 0
		for k := range parts {
			if parts[k].Kind != KindMessage {
				continue
			}
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = parts[k].AppendBody(dst)
			i++
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

// appendJoinedLists appends the JSON list holding the elements of list a
// and then those of list b (both canonical JSON lists). When b is not a
// list, a's elements are followed by b as one element.
func appendJoinedLists(dst, a, b []byte) []byte {
	inner := func(l []byte) []byte {
		l = bytes.TrimSpace(l)
		if len(l) >= 2 && l[0] == '[' && l[len(l)-1] == ']' {
			return bytes.TrimSpace(l[1 : len(l)-1])
		}
		return l
	}
	ia, ib := inner(a), inner(b)
	dst = append(dst, '[')
	dst = append(dst, ia...)
	if len(ia) > 0 && len(ib) > 0 {
		dst = append(dst, ',')
	}
	dst = append(dst, ib...)
	return append(dst, ']')
}
