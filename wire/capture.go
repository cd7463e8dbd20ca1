package wire

// What the capture proxy reads of a response beside what replay reads; kept
// apart from Stream's event path, which replay runs per event.

// CacheWrite returns the prompt tokens the response reported writing to
// the provider's cache (Anthropic's cache_creation_input_tokens, part of
// Usage().Input), or -1 when it reported none (always, for the OpenAI
// APIs).
func (s *Stream) CacheWrite() int64 { return s.cacheWrite }

// WholeUsage reads a non-streamed response's usage object u — found by a
// caller that decoded the body, so a "usage" key nested in the content
// (an Anthropic tool input) cannot be taken for it — as Whole reads the
// body's (marking the response done). An empty u or a JSON null reads
// nothing.
func (s *Stream) WholeUsage(u []byte) {
	if len(u) == 0 {
		return
	}
	b := make([]byte, 0, len(u)+10)
	b = append(append(append(b, `{"usage":`...), u...), '}')
	s.Whole(b)
}
