package schemas

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestIsRequestMetadataText(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"x-anthropic-billing-header: cc_version=2.1.120.cf9; cc_entrypoint=cli; cch=543cf;", true},
		{"x-anthropic-billing-header: cc_version=2.1.181.a1b; cc_entrypoint=sdk-cli;", true}, // no cch (custom base URL)
		{"  x-anthropic-billing-header: cch=00000  ", true},
		{"X-Anthropic-Billing-Header: cch=00000", false},
		{"x-anthropic-billing-header:", true},
		{"x-anthropic-billing-header: cc_version=2.1; cch=1;\nYou are Claude Code.", false}, // prompt after it
		{"x-anthropic-billing-header: not pairs at all", false},
		{"x-anthropic-billing-header: =v;", false},
		{"You are Claude Code. x-anthropic-billing-header: cch=1;", false},
		{"You are Claude Code, Anthropic's official CLI for Claude.", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := IsRequestMetadataText(tt.in); got != tt.want {
			t.Errorf("IsRequestMetadataText(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	blocks := []struct {
		in   string
		want bool
	}{
		{`{"type":"text","text":"x-anthropic-billing-header: cc_version=2.1.3; cch=ab12f;"}`, true},
		{`{"text":"x-anthropic-billing-header: cch=ab12f;","type":"text","cache_control":{"type":"ephemeral"}}`, false},
		{`{"type":"image","text":"x-anthropic-billing-header: cch=ab12f;"}`, false},
		{`"x-anthropic-billing-header: cch=ab12f;"`, false},
		{`{"type":"text","text":"You are Claude Code."}`, false},
	}
	for _, tt := range blocks {
		if got := IsRequestMetadataBlock([]byte(tt.in)); got != tt.want {
			t.Errorf("IsRequestMetadataBlock(%s) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// claudeCodeBody is a Claude Code request to api.anthropic.com: the billing
// block (its cch differs per request) ahead of the real system prompt.
func claudeCodeBody(cch string, msgs ...string) string {
	return `{"model":"claude-sonnet-4-5","max_tokens":32000,"stream":true,"system":[` +
		`{"type":"text","text":"x-anthropic-billing-header: cc_version=2.1.120.cf9; cc_entrypoint=cli; cch=` + cch + `;"},` +
		`{"type":"text","text":"You are Claude Code, Anthropic's official CLI for Claude.","cache_control":{"type":"ephemeral"}},` +
		`{"type":"text","text":"` + strings.Repeat("Follow the repository conventions. ", 400) + `","cache_control":{"type":"ephemeral"}}],` +
		`"messages":[` + strings.Join(msgs, ",") + `]}`
}

// TestRequestMetadataSplit checks that the billing block becomes its own
// blob, rebuilds in front of the system blocks, stays out of input_tokens
// and hash_ids (two requests differing only in cch share every block), and
// that DropRequestMetadata / StripRequestMetadata remove it.
func TestRequestMetadataSplit(t *testing.T) {
	u := `{"role":"user","content":"fix the bug"}`
	b1, b2 := claudeCodeBody("543cf", u), claudeCodeBody("0a9e1", u)
	params, parts, err := Split(APIAnthropic, []byte(b1))
	if err != nil {
		t.Fatal(err)
	}
	kinds := []string{}
	for _, p := range parts {
		kinds = append(kinds, p.Kind)
	}
	if want := []string{KindRequestMeta, KindSystem, KindMessage}; !slices.Equal(kinds, want) {
		t.Fatalf("parts %v, want %v", kinds, want)
	}
	if bytes.Contains(parts[1].Body, []byte("billing")) || !bytes.Contains(parts[0].Body, []byte("cch=543cf")) {
		t.Errorf("meta part %s / system part %.80s", parts[0].Body, parts[1].Body)
	}
	assertSameJSON(t, b1, Rebuild(nil, APIAnthropic, params, parts))
	stripped := Rebuild(nil, APIAnthropic, params, DropRequestMetadata(slices.Clone(parts)))
	if bytes.Contains(stripped, []byte("billing")) || !bytes.Contains(stripped, []byte("official CLI")) {
		t.Errorf("DropRequestMetadata: %.200s", stripped)
	}
	sb, ok := StripRequestMetadata(APIAnthropic, []byte(b1))
	if !ok || !bytes.Equal(sb, stripped) {
		t.Errorf("StripRequestMetadata = %v, %.200s; want %.200s", ok, sb, stripped)
	}
	plain := `{"model":"m","system":[{"type":"text","text":"sys"}],"messages":[]}`
	if got, ok := StripRequestMetadata(APIAnthropic, []byte(plain)); ok || string(got) != plain {
		t.Errorf("StripRequestMetadata changed a body without metadata: %s", got)
	}
	if _, ok := StripRequestMetadata(APIOpenAIChat, []byte(b1)); ok {
		t.Error("StripRequestMetadata touched a non-Anthropic body")
	}

	dir := filepath.Join(t.TempDir(), "set")
	w, err := CreateTraceSet(dir, TraceWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var rows []*Request
	for _, b := range []string{b1, b2} {
		r, err := w.WriteTurn(&Turn{SessionID: "s", API: APIAnthropic, Body: []byte(b)})
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if rows[0].Prompt[0] == rows[1].Prompt[0] || !slices.Equal(rows[0].Prompt[1:], rows[1].Prompt[1:]) {
		t.Errorf("prompts %v and %v: want a different meta blob and the same rest", rows[0].Prompt, rows[1].Prompt)
	}
	if len(rows[0].HashIDs) < 2 || !slices.Equal(rows[0].HashIDs, rows[1].HashIDs) {
		t.Errorf("hash_ids %v and %v differ: the billing block leaked into block hashing", rows[0].HashIDs, rows[1].HashIDs)
	}
	ts, err := OpenTraceSet(dir, TraceSetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	var sum int32
	for _, id := range rows[0].Prompt[1:] {
		b, err := ts.Blob(id)
		if err != nil {
			t.Fatal(err)
		}
		sum += b.Tokens
	}
	if rows[0].InputTokens != sum {
		t.Errorf("input_tokens %d, want %d (the prompt blobs without the metadata)", rows[0].InputTokens, sum)
	}
	body, err := ts.Body(nil, rows[1])
	if err != nil {
		t.Fatal(err)
	}
	assertSameJSON(t, b2, body)
}

// FuzzRequestMetadataText checks the recogniser never panics, accepts only
// one-line texts with the known prefix, and agrees with the block form.
func FuzzRequestMetadataText(f *testing.F) {
	for _, s := range []string{"x-anthropic-billing-header: cc_version=2.1.120.cf9; cc_entrypoint=cli; cch=543cf;",
		"x-anthropic-billing-header: a=b", "x-anthropic-billing-header: \n", "You are", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ok := IsRequestMetadataText(s)
		if ok && (strings.ContainsAny(strings.TrimSpace(s), "\r\n") || !strings.HasPrefix(strings.TrimSpace(s), "x-anthropic-billing-header:")) {
			t.Fatalf("accepted %q", s)
		}
		block := canonicalValue(map[string]any{"type": "text", "text": s})
		if IsRequestMetadataBlock(block) != ok {
			t.Fatalf("block form of %q disagrees", s)
		}
	})
}
