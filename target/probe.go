package target

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/wire"
)

// PinStatus is the probe's verdict on the output-length pin.
type PinStatus = schemas.PinStatus

// Pin verdicts.
const (
	// PinHonored: the output came out at the pinned length.
	PinHonored = schemas.PinHonored
	// PinIgnored: the output stopped short of the pinned length.
	PinIgnored = schemas.PinIgnored
	// PinUnknown: the target reported no usage and streamed fewer deltas
	// than the pinned length, so the length is unknown.
	PinUnknown = schemas.PinUnknown
)

// ProbeResult is the outcome of one probe request (the results footer's
// schemas.ProbeResult).
type ProbeResult = schemas.ProbeResult

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
	r := ProbeResult{API: api, Engine: string(opt.Dialect.Engine), URL: redactURL(url), Asked: n,
		Output: -1, Input: -1, Cached: -1, Reasoning: -1, Pin: PinUnknown}
	ad := opt.Dialect.API(api)
	if _, served := opt.Dialect.For(api); !served {
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
	var sc *wire.Scanner
	if err == nil {
		sc, err = wire.NewScanner(api, ad.Keys())
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
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxProbeBody))
	if err != nil {
		r.Err = "reading the response: " + redactError(err)
	}
	st := sc.Stream()
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		readProbeStream(&st, b)
		r.Streamed = st.Done
		if err == nil && !st.Done {
			r.Notes = append(r.Notes, "the stream ended without its end-of-stream event")
		}
	} else {
		st.Whole(b)
		r.Notes = append(r.Notes, "the target answered a streamed request with a whole body ("+resp.Header.Get("Content-Type")+")")
	}
	if st.Err != "" {
		r.Err = st.Err
	}
	u := st.Usage()
	r.Output, r.Input, r.Cached, r.Reasoning = int(u.Output), int(u.Input), int(u.Cached), int(u.Reasoning)
	r.Deltas, r.ReasoningDeltas = st.Deltas, st.ReasoningDeltas
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

// maxProbeBody bounds the probe response read, bytes.
const maxProbeBody = 1 << 20

// readProbeStream feeds the events of an SSE body to st with wire's
// framing, the way replay reads every response.
func readProbeStream(st *wire.Stream, b []byte) {
	var scratch []byte
	for len(b) > 0 && !st.Done {
		n, textLen := wire.NextEvent(b)
		if n == 0 {
			// The last event without its blank line.
			n, textLen = len(b), len(b)
		}
		var name, data []byte
		name, data, scratch, _ = wire.SplitEvent(b[:textLen], scratch)
		if len(data) > 0 || len(name) > 0 {
			st.Event(name, data)
		}
		b = b[n:]
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
