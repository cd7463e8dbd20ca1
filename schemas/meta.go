package schemas

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Per-request metadata in prompts.
//
// Claude Code talking to api.anthropic.com sends, as the first block of the
// system list, a text block such as
//
//	x-anthropic-billing-header: cc_version=2.1.120.cf9; cc_entrypoint=cli; cch=543cf;
//
// whose cch changes on every request. The API consumes it; it is not prompt
// text. Split stores such blocks as a KindRequestMeta blob of their own, so
// the system prompt stays one shared blob, and the trace writer leaves them
// out of input_tokens and hash_ids. Capture leaves them out of session
// chaining. Replay drops them (DropRequestMetadata, StripRequestMetadata)
// unless told to send the request as recorded.

// requestMetaPrefixes are the text prefixes of the per-request metadata
// blocks known from real agents' traffic.
var requestMetaPrefixes = []string{"x-anthropic-billing-header:"}

// IsRequestMetadataText reports whether s, the text of a system block, is
// a per-request metadata line: one of the known prefixes (case as sent)
// followed, on one
// line, by "key=value;" pairs (keys of letters, digits, '_', '-' and '.',
// values without ';'; the last ';' optional).
func IsRequestMetadataText(s string) bool {
	s = strings.TrimSpace(s)
	var rest string
	found := false
	for _, p := range requestMetaPrefixes {
		if strings.HasPrefix(s, p) {
			rest, found = s[len(p):], true
			break
		}
	}
	if !found || strings.ContainsAny(rest, "\r\n") {
		return false
	}
	for _, pair := range strings.Split(rest, ";") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		k, _, ok := strings.Cut(pair, "=")
		if !ok || k == "" {
			return false
		}
		for i := 0; i < len(k); i++ {
			c := k[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
				return false
			}
		}
	}
	return true
}

// IsRequestMetadataBlock reports whether block, one element of an
// Anthropic system list (JSON), is a per-request metadata block: an object
// with exactly the keys "type": "text" and "text", whose text
// IsRequestMetadataText accepts. A block with other keys (cache_control, …)
// is prompt.
func IsRequestMetadataBlock(block []byte) bool {
	b := bytes.TrimSpace(block)
	if len(b) == 0 || b[0] != '{' || !bytes.Contains(b, []byte("-header:")) {
		return false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil || len(m) != 2 {
		return false
	}
	var typ, text string
	if json.Unmarshal(m["type"], &typ) != nil || typ != "text" || json.Unmarshal(m["text"], &text) != nil {
		return false
	}
	return IsRequestMetadataText(text)
}

// leadingMetaBlocks returns how many leading elements of an Anthropic
// system list are per-request metadata blocks.
func leadingMetaBlocks(list []any) int {
	n := 0
	for _, v := range list {
		m, ok := v.(map[string]any)
		if !ok || len(m) != 2 || m["type"] != "text" {
			break
		}
		text, ok := m["text"].(string)
		if !ok || !IsRequestMetadataText(text) {
			break
		}
		n++
	}
	return n
}

// DropRequestMetadata removes the KindRequestMeta parts from parts, in
// place, and returns the shortened slice: Rebuild then writes the body
// without the per-request metadata blocks, as replay sends it by default.
func DropRequestMetadata(parts []Part) []Part {
	out := parts[:0]
	for _, p := range parts {
		if p.Kind != KindRequestMeta {
			out = append(out, p)
		}
	}
	return out
}

// StripRequestMetadata returns body, a request body of the given API,
// without its per-request metadata blocks (the leading blocks of an
// Anthropic system list that IsRequestMetadataBlock accepts), as canonical
// JSON, and true; a body without such blocks is returned unchanged with
// false.
func StripRequestMetadata(api string, body []byte) ([]byte, bool) {
	if api != APIAnthropic || !bytes.Contains(body, []byte("-header:")) {
		return body, false
	}
	params, parts, err := Split(api, body)
	if err != nil {
		return body, false
	}
	n := len(parts)
	parts = DropRequestMetadata(parts)
	if len(parts) == n {
		return body, false
	}
	return Rebuild(nil, api, params, parts), true
}
