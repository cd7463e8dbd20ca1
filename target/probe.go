package target

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/agentperf/agentperf/schemas"
)

// PinStatus is the probe's verdict on the output-length pin.
type PinStatus string

// Pin verdicts.
const (
	// PinHonored: the output came out at the pinned length.
	PinHonored PinStatus = "honored"
	// PinIgnored: the output stopped short of the pinned length.
	PinIgnored PinStatus = "ignored"
	// PinUnknown: the target reported no usage and streamed fewer deltas
	// than the pinned length, so the length is unknown.
	PinUnknown PinStatus = "unknown"
)

// ProbeResult is the outcome of one probe request.
type ProbeResult struct {
	// API is the API probed; Engine the dialect used; URL the endpoint.
	API    string `json:"api"`
	Engine Engine `json:"engine"`
	URL    string `json:"url"`
	// Status is the HTTP status (0 when no response came); Err says what
	// failed when the request did not complete.
	Status int    `json:"status"`
	Err    string `json:"error,omitempty"`
	// Asked is the pinned output length, tokens; PinFields the fields
	// that pinned it.
	Asked     int      `json:"asked"`
	PinFields []string `json:"pin_fields"`
	// Output, Input, Cached and Reasoning are the usage the target
	// reported, tokens; -1 when not reported.
	Output    int `json:"output_tokens"`
	Input     int `json:"input_tokens"`
	Cached    int `json:"cached_tokens"`
	Reasoning int `json:"reasoning_tokens"`
	// Deltas counts stream events that carried output (content,
	// reasoning or tool-call deltas); ReasoningDeltas those that carried
	// reasoning.
	Deltas          int `json:"deltas"`
	ReasoningDeltas int `json:"reasoning_deltas"`
	// Streamed is set when the response was an event stream that ended
	// with the API's end-of-stream event.
	Streamed bool `json:"streamed"`
	// Pin is the verdict on the pin.
	Pin PinStatus `json:"pin"`
	// Notes are what the probe saw that does not stop a run (usage
	// missing, no cached-token field), with the engine's caveats.
	Notes []string `json:"notes,omitempty"`
}

// ProbeOptions configure Probe.
type ProbeOptions struct {
	// Client sends the requests; nil means http.DefaultClient.
	Client *http.Client
	// Header is sent with every request (API key, anthropic-version).
	Header http.Header
	// Model is the model to ask for.
	Model string
	// APIs are the APIs the run sends (schemas.API*), each probed once.
	APIs []string
	// Dialect is the target's dialect (DialectOf the detected engine).
	Dialect Dialect
	// Settings are applied to each probe request after the pin, as they
	// will be to every replayed request (presets, then the user's).
	Settings []Setting
	// Tokens is the pinned output length, tokens; 0 means 64. The prompt
	// asks for a one-word answer, so a target that ignores the pin stops
	// well short of it.
	Tokens int
	// Timeout bounds each request; 0 means 120 s (a cold target may
	// compile or load on its first request).
	Timeout time.Duration
	// Endpoint returns the URL of an API's endpoint; nil means the base
	// URL without a trailing /v1, then /v1/chat/completions,
	// /v1/responses or /v1/messages (replay's rule: pass its endpoint
	// function here).
	Endpoint func(api string) string
}

// probePrompt asks for an answer far shorter than the pinned length.
const probePrompt = "Reply with the single word OK."

// Probe sends one short streamed request per API in use to the target at
// base (e.g. http://host:8000/v1) and checks that the output came out at
// the pinned length, that usage is reported and that the response
// streams. It never returns an error itself: each
// result says what happened, and ProbeError turns them into the refusal.
//
// Replay calls it after Describe and before the first level, with the
// APIs its plan sends, the detected dialect and the run's settings.
func Probe(ctx context.Context, base string, opt ProbeOptions) []ProbeResult {
	if opt.Client == nil {
		opt.Client = http.DefaultClient
	}
	if opt.Tokens <= 0 {
		opt.Tokens = 64
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 120 * time.Second
	}
	if opt.Endpoint == nil {
		root := serverRoot(base)
		opt.Endpoint = func(api string) string {
			switch api {
			case schemas.APIAnthropic:
				return root + "/v1/messages"
			case schemas.APIOpenAIResponses:
				return root + "/v1/responses"
			}
			return root + "/v1/chat/completions"
		}
	}
	if opt.Dialect.APIs == nil {
		opt.Dialect = DialectOf(EngineGeneric)
	}
	out := make([]ProbeResult, 0, len(opt.APIs))
	for _, api := range opt.APIs {
		out = append(out, probeOne(ctx, api, opt))
	}
	return out
}

// serverRoot returns base without a trailing slash and /v1.
func serverRoot(base string) string {
	return strings.TrimSuffix(strings.TrimRight(base, "/"), "/v1")
}

// probeBody returns the unpinned probe request of api.
func probeBody(api, model string, n int) []byte {
	m, _ := json.Marshal(model)
	switch api {
	case schemas.APIAnthropic:
		return fmt.Appendf(nil, `{"model":%s,"max_tokens":%d,"messages":[{"role":"user","content":%q}],"stream":true}`, m, n, probePrompt)
	case schemas.APIOpenAIResponses:
		return fmt.Appendf(nil, `{"model":%s,"input":%q,"stream":true,"store":false}`, m, probePrompt)
	}
	return fmt.Appendf(nil, `{"model":%s,"messages":[{"role":"user","content":%q}],"stream":true,"stream_options":{"include_usage":true}}`, m, probePrompt)
}

func probeOne(ctx context.Context, api string, opt ProbeOptions) ProbeResult {
	n := opt.Tokens
	url := opt.Endpoint(api)
	r := ProbeResult{API: api, Engine: opt.Dialect.Engine, URL: redactURL(url), Asked: n,
		Output: -1, Input: -1, Cached: -1, Reasoning: -1, Pin: PinUnknown}
	ad, served := opt.Dialect.For(api)
	if !served {
		ad = DialectOf(EngineGeneric).APIs[api]
		r.Notes = append(r.Notes, fmt.Sprintf("engine %s does not document the %s API", opt.Dialect.Engine, api))
	}
	r.Notes = append(r.Notes, ad.Notes...)
	body := probeBody(api, opt.Model, n)
	r.PinFields = []string{MaxTokensField(api, body)}
	for _, p := range ad.Pin {
		r.PinFields = append(r.PinFields, p.Path)
	}
	pinned := Dialect{Engine: opt.Dialect.Engine, APIs: map[string]APIDialect{api: ad}}
	body, err := pinned.Pin(body, api, n)
	if err == nil {
		body, err = Apply(body, opt.Settings...)
	}
	if err != nil {
		r.Err = "building the probe request: " + err.Error()
		return r
	}
	ctx, cancel := context.WithTimeout(ctx, opt.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		r.Err = err.Error()
		return r
	}
	for k, v := range opt.Header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	if api == schemas.APIAnthropic && req.Header.Get("anthropic-version") == "" {
		req.Header.Set("anthropic-version", "2023-06-01")
	}
	resp, err := opt.Client.Do(req)
	if err != nil {
		r.Err = redactError(err)
		return r
	}
	defer resp.Body.Close()
	r.Status = resp.StatusCode
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 600))
		r.Err = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
		return r
	}
	var st probeStream
	st.ad = ad
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		err = readEvents(resp.Body, st.event)
		r.Streamed = st.done
		if err == nil && !st.done {
			r.Notes = append(r.Notes, "the stream ended without its end-of-stream event")
		}
	} else {
		b, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		err = rerr
		st.event("", b)
		r.Notes = append(r.Notes, "the target answered a streamed request with a whole body ("+resp.Header.Get("Content-Type")+")")
	}
	if err != nil {
		r.Err = "reading the response: " + redactError(err)
	}
	if st.err != "" {
		r.Err = st.err
	}
	r.Output, r.Input, r.Cached, r.Reasoning = st.out, st.in, st.cached, st.reasoning
	if ad.Usage.InputExcludesCache && st.in >= 0 {
		r.Input = st.in + max(st.cached, 0) + max(st.cacheWrite, 0)
	}
	r.Deltas, r.ReasoningDeltas = st.deltas, st.reasoningDeltas
	switch {
	case r.Output >= 0 && r.Output >= n-1:
		r.Pin = PinHonored
	case r.Output >= 0:
		r.Pin = PinIgnored
	case r.Deltas >= n-1:
		r.Pin = PinHonored
	}
	if r.Output > n+1 {
		r.Notes = append(r.Notes, fmt.Sprintf("the output (%d tokens) exceeded the cap of %d", r.Output, n))
	}
	if r.Output < 0 {
		r.Notes = append(r.Notes, "the target reported no output token count (usage)")
	}
	if r.Cached < 0 && r.Output >= 0 {
		r.Notes = append(r.Notes, "the target reported no cached-token count: the cache hit rate will read 0")
	}
	return r
}

// probeStream follows a probe response, decoding every event (a probe is
// one short request: clarity over speed).
type probeStream struct {
	ad                                     APIDialect
	in, out, cached, reasoning, cacheWrite int
	deltas, reasoningDeltas                int
	done                                   bool
	err                                    string
	started                                bool
}

func (s *probeStream) event(name string, data []byte) {
	if !s.started {
		s.in, s.out, s.cached, s.reasoning, s.cacheWrite = -1, -1, -1, -1, -1
		s.started = true
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return
	}
	if string(data) == "[DONE]" {
		s.done = true
		return
	}
	var v any
	if json.Unmarshal(data, &v) != nil {
		return
	}
	typ := name
	if m, ok := v.(map[string]any); ok {
		if typ == "" {
			typ, _ = m["type"].(string)
		}
		if e, ok := m["error"]; ok && e != nil && m["choices"] == nil {
			s.err = "error event: " + snippet(data)
		}
	}
	switch typ {
	case "message_stop", "response.completed", "response.incomplete":
		s.done = true
	case "response.failed", "error":
		s.err = typ + ": " + snippet(data)
	}
	u := s.ad.Usage
	readInt(v, u.Input, &s.in)
	readInt(v, u.Output, &s.out)
	readInt(v, u.Cached, &s.cached)
	readInt(v, u.Reasoning, &s.reasoning)
	readInt(v, u.CacheWrite, &s.cacheWrite)
	st := s.ad.Stream
	reasoning := contains(st.ReasoningEvents, typ) || anyNonEmpty(v, st.Reasoning)
	if reasoning || contains(st.ContentEvents, typ) || contains(st.ToolCallEvents, typ) ||
		anyNonEmpty(v, st.Content) || anyNonEmpty(v, st.ToolCall) {
		s.deltas++
	}
	if reasoning {
		s.reasoningDeltas++
	}
}

func snippet(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

func contains(l []string, s string) bool {
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}

// readInt stores in *dst the first integer found at one of paths in v.
func readInt(v any, paths []string, dst *int) {
	for _, p := range paths {
		for _, x := range Lookup(v, p) {
			if f, ok := x.(float64); ok && f >= 0 {
				*dst = int(f)
				return
			}
		}
	}
}

// anyNonEmpty reports whether a value at one of paths is a non-empty
// string, array or object.
func anyNonEmpty(v any, paths []string) bool {
	for _, p := range paths {
		for _, x := range Lookup(v, p) {
			switch t := x.(type) {
			case string:
				if t != "" {
					return true
				}
			case []any:
				if len(t) > 0 {
					return true
				}
			case map[string]any:
				if len(t) > 0 {
					return true
				}
			}
		}
	}
	return false
}

// Lookup returns the values at a dotted key path in a decoded JSON value,
// searching every element of the arrays on the way (choices.delta.content
// finds the content of each choice).
func Lookup(v any, path string) []any {
	cur := []any{v}
	for _, k := range strings.Split(path, ".") {
		var next []any
		for _, c := range cur {
			next = appendKey(next, c, k)
		}
		if len(next) == 0 {
			return nil
		}
		cur = next
	}
	return cur
}

func appendKey(dst []any, v any, k string) []any {
	switch t := v.(type) {
	case map[string]any:
		if x, ok := t[k]; ok && x != nil {
			dst = append(dst, x)
		}
	case []any:
		for _, e := range t {
			dst = appendKey(dst, e, k)
		}
	}
	return dst
}

// readEvents calls fn with each server-sent event's name and data (lines
// joined with newlines) until the body ends.
func readEvents(r io.Reader, fn func(name string, data []byte)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var name string
	var data []byte
	lines := 0
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 || err == nil {
			line = bytes.TrimRight(line, "\r\n")
			switch {
			case len(line) == 0:
				if lines > 0 || name != "" {
					fn(name, data)
				}
				name, data, lines = "", data[:0], 0
			case bytes.HasPrefix(line, []byte("data:")):
				v := bytes.TrimPrefix(line[5:], []byte(" "))
				if lines > 0 {
					data = append(data, '\n')
				}
				data = append(data, v...)
				lines++
			case bytes.HasPrefix(line, []byte("event:")):
				name = string(bytes.TrimSpace(line[6:]))
			}
		}
		if err == io.EOF {
			if lines > 0 {
				fn(name, data)
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// ProbeError returns the refusal for a set of probe results, nil when the
// run may go ahead: a probe request that failed or did not stream always
// refuses (every replayed request would fail the same way); a pin the
// target ignored refuses unless allowUnpinned (the caller's output policy
// only caps the length).
func ProbeError(results []ProbeResult, allowUnpinned bool) error {
	var errs []error
	for _, r := range results {
		switch {
		case r.Err != "":
			errs = append(errs, fmt.Errorf("the probe request of the %s API to %s failed: %s", r.API, r.URL, r.Err))
		case !r.Streamed:
			errs = append(errs, fmt.Errorf("the %s API at %s did not stream its response: replay needs a streamed response to time the first token", r.API, r.URL))
		case r.Pin == PinIgnored && !allowUnpinned:
			errs = append(errs, fmt.Errorf("the target ignored the output-length pin on the %s API: asked for exactly %d tokens (%s, engine %s), got %d; "+
				"results would come from shorter, faster outputs than the recording. Choose the engine that is serving (its pin fields differ), "+
				"or accept outputs that are only capped with the cap output policy",
				r.API, r.Asked, strings.Join(r.PinFields, ", "), r.Engine, r.Output))
		}
	}
	return errors.Join(errs...)
}

// String summarises a result on one line.
func (r ProbeResult) String() string {
	out := "?"
	if r.Output >= 0 {
		out = strconv.Itoa(r.Output)
	}
	return fmt.Sprintf("%s %s: status %d, pin %s (%s of %d tokens), streamed %v, cached %d, reasoning %d",
		r.API, r.Engine, r.Status, r.Pin, out, r.Asked, r.Streamed, r.Cached, r.Reasoning)
}
