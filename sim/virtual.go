package sim

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/agentperf/agentperf/internal/jsonlex"
	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/tokens"
	"github.com/agentperf/agentperf/wire"
)

// Virtual serves requests to a plan's Engine in virtual time, in process:
// no HTTP, no goroutine, no wall clock. A caller that keeps its own clock
// in simulated seconds (a discrete-event load generator) submits request
// bodies at simulated times and steps the engine between its own events.
// A body is parsed, counted and given its output length exactly as the
// HTTP server does (the same admission code), so a request served here and
// the same request over HTTP see the same prompt tokens, prefix blocks and
// output tokens. Token deliveries follow the server's stream rule
// (Config.StreamInterval). It is not safe for concurrent use.
type Virtual struct {
	plan   *Plan
	eng    *Engine
	counts *countCache
	outs   []Output
}

// NewVirtual returns an idle virtual-time server for plan, at simulated
// time 0.
func NewVirtual(plan *Plan) *Virtual {
	counts := newCountCache()
	counts.histories = newHistories()
	return &Virtual{plan: plan, eng: NewEngine(plan), counts: counts}
}

// Plan returns the deployment v simulates.
func (v *Virtual) Plan() *Plan { return v.plan }

// Engine returns the engine, for its statistics.
func (v *Virtual) Engine() *Engine { return v.eng }

// RequestError is a request the server refuses, with the HTTP status and
// message the HTTP server would answer.
type RequestError struct {
	Status  int
	Message string

	api apiKind
	e   *apiError
}

func (e *RequestError) Error() string { return fmt.Sprintf("%d: %s", e.Status, e.Message) }

// Body returns the response body the HTTP server sends with the refusal:
// the error in the API's own JSON shape.
func (e *RequestError) Body() []byte {
	ae := e.e
	if ae == nil {
		ae = &apiError{status: e.Status, typ: "invalid_request_error", message: e.Message}
	}
	w := &bodyWriter{h: http.Header{}}
	writeError(w, e.api, ae)
	return w.b
}

func newRequestError(api apiKind, ae *apiError) *RequestError {
	return &RequestError{Status: ae.status, Message: ae.message, api: api, e: ae}
}

// bodyWriter is an http.ResponseWriter that keeps the body.
type bodyWriter struct {
	h http.Header
	b []byte
}

func (w *bodyWriter) Header() http.Header         { return w.h }
func (w *bodyWriter) WriteHeader(int)             {}
func (w *bodyWriter) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

// apiOfKind returns the wire API of a schemas.API* kind; ok is false for
// any other kind.
func apiOfKind(api string) (apiKind, bool) {
	switch api {
	case schemas.APIOpenAIChat:
		return apiChat, true
	case schemas.APIOpenAIResponses:
		return apiResponses, true
	case schemas.APIAnthropic:
		return apiMessages, true
	}
	return 0, false
}

// Admission is a request body parsed, counted and given its output length
// by the HTTP server's admission code: everything the engine and the
// response need from the body. It is immutable: the same Admission may be
// submitted any number of times to Virtuals of the plan it was made for,
// and each submission is served exactly as the body would be. A caller
// that sends the same body again (the same turn of a trace to several
// users) may keep the Admission instead of the body and skip the parse,
// which is most of a request's host cost.
type Admission struct {
	plan *Plan
	api  apiKind
	a    admission
	// bodyBytes is the length of the body admitted, bytes.
	bodyBytes int
	// parsed is the prompt's segments as parsed, kept by AdmitEditable
	// for AdmitEdited (nil otherwise).
	parsed []parsedSeg
	// APIName is the schemas.API* kind the body was sent as.
	APIName string
	// PromptTokens and OutputTokens are the usage the server reports for
	// the body: prompt tokens (chat template included) and output tokens.
	PromptTokens, OutputTokens int
}

// Admit parses body, a request of API api (a schemas.API* kind, served at
// its wire.Path by the HTTP server), as the HTTP server does. A refused
// request (bad body, prompt over the context) returns a *RequestError.
func (v *Virtual) Admit(api string, body []byte) (*Admission, error) {
	return v.admit(api, body, false)
}

// AdmitEditable is Admit for a body that AdmitEdited will derive other
// bodies' admissions from: the Admission also keeps the prompt's segments
// (tens of bytes each).
func (v *Virtual) AdmitEditable(api string, body []byte) (*Admission, error) {
	return v.admit(api, body, true)
}

func (v *Virtual) admit(api string, body []byte, editable bool) (*Admission, error) {
	kind, ok := apiOfKind(api)
	if !ok {
		return nil, newRequestError(apiChat, &apiError{status: http.StatusNotFound, typ: "not_found_error", message: "no generation endpoint for API " + api})
	}
	if limit := v.plan.cfg.MaxRequestBytes; limit > 0 && int64(len(body)) > limit {
		return nil, newRequestError(kind, &apiError{status: http.StatusRequestEntityTooLarge, typ: "invalid_request_error",
			message: fmt.Sprintf("request body of %d bytes exceeds the %d-byte limit", len(body), limit)})
	}
	a, aerr := admit(v.plan, v.counts, kind, body, editable)
	if aerr != nil {
		return nil, newRequestError(kind, aerr)
	}
	return v.kept(kind, api, a, len(body), editable), nil
}

// kept returns the Admission of a, which keeps only what serving needs
// (the prompt's segments were folded into its blocks and hash) and, when
// editable is set, the parsed segments.
func (v *Virtual) kept(kind apiKind, api string, a admission, bodyBytes int, editable bool) *Admission {
	g := *a.g
	parsed := g.prompt.parsed
	g.prompt.segs, g.prompt.parsed = nil, nil
	a.g = &g
	ad := &Admission{plan: v.plan, api: kind, a: a, bodyBytes: bodyBytes, APIName: api, PromptTokens: a.prompt, OutputTokens: a.d.tokens}
	if editable {
		ad.parsed = parsed
	}
	return ad
}

// Edit replaces one prompt segment of a body: Old is the segment's bytes
// exactly as the body holds them — a message or input item (an element of
// messages or input), a system prompt, instructions or a string input —
// and New the JSON value put in its place.
type Edit struct {
	Old, New []byte
}

// AdmitEdited returns the admission of the body that is base's body with
// each edit applied, derived from base (an AdmitEditable admission)
// without the body: only the edited segments are counted, so its cost is
// theirs, not the body's. The result is the Admission, or the refusal
// (*RequestError), that Admit of the edited body gives. ok is false when
// the admission cannot be derived — base was not admitted by
// AdmitEditable, an Old is not exactly one replaceable segment of base, or
// a New is not a value the parse would count (invalid JSON, a refused
// message) — and the caller must Admit the edited body itself.
func (v *Virtual) AdmitEdited(base *Admission, edits ...Edit) (a *Admission, ok bool, err error) {
	if base.plan != v.plan {
		panic("sim: an Admission edited on a Virtual of another plan")
	}
	if base.parsed == nil {
		return nil, false, nil
	}
	var at [4]int
	where := at[:0]
	size := base.bodyBytes
	for _, e := range edits {
		i := base.segmentOf(e.Old)
		if i < 0 || slices.Contains(where, i) || !replacement(e.New, base.parsed[i].fresh == nil) {
			return nil, false, nil
		}
		where = append(where, i)
		size += len(e.New) - len(e.Old)
	}
	if limit := v.plan.cfg.MaxRequestBytes; limit > 0 && int64(size) > limit {
		return nil, true, newRequestError(base.api, &apiError{status: http.StatusRequestEntityTooLarge, typ: "invalid_request_error",
			message: fmt.Sprintf("request body of %d bytes exceeds the %d-byte limit", size, limit)})
	}
	g := *base.a.g
	g.prompt = prompt{raw: base.a.g.prompt.raw, segs: make([]tokens.Segment, 0, len(base.parsed)+2)}
	for i, s := range base.parsed {
		k := slices.Index(where, i)
		if k < 0 {
			g.prompt.addHashed(s.hash, int(s.tokens))
			continue
		}
		if g.prompt.add(v.counts, s.kind, edits[k].New, int(s.overhead), s.fresh) != nil {
			return nil, false, nil // refused content: Admit says how
		}
	}
	ad, aerr := settle(v.plan, base.api, &g)
	if aerr != nil {
		return nil, true, newRequestError(base.api, aerr)
	}
	return v.kept(base.api, base.APIName, ad, size, false), true, nil
}

// segmentOf returns the index in a.parsed of the one replaceable segment
// whose bytes are b, or -1 when there is none or more than one.
func (a *Admission) segmentOf(b []byte) int {
	found := -1
	for _, kind := range [...]byte{segSystem, segMessage} {
		h := hashBytes(kind, b)
		for i, s := range a.parsed {
			if s.hash != h || s.kind != kind || !s.replaceable {
				continue
			}
			if found >= 0 {
				return -1
			}
			found = i
		}
	}
	return found
}

// replacement reports whether raw may take a segment's place in a body
// and parse as that segment: one JSON value, valid as the body's scanner
// validates an array element, without surrounding space, not null (a null
// system prompt is no segment), and a JSON string when str is set (the
// parser decoded the place as a string before counting it).
func replacement(raw []byte, str bool) bool {
	if len(raw) == 0 || jsonlex.IsSpace(raw[0]) || isNull(raw) || str && raw[0] != '"' {
		return false
	}
	end, err := skipValueDepth(raw, 0, 2)
	return err == nil && end == len(raw)
}

// SubmitAdmission hands a request admitted by Admit to the engine at
// simulated time at (s, not before the last RunUntil). The returned
// Request's PromptTokens and OutputTokens are the usage the server would
// report; CachedTokens is set when the engine first schedules it. It
// panics when a was admitted for another plan.
func (v *Virtual) SubmitAdmission(a *Admission, at float64) *Request {
	if a.plan != v.plan {
		panic("sim: an Admission submitted to a Virtual of another plan")
	}
	r := &Request{}
	a.a.fill(r, v.plan)
	v.eng.RunUntil(at)
	r.vlive, r.vsent = true, 0
	v.eng.Submit(r, at)
	return r
}

// Submit parses body, a request of API api (a schemas.API* kind, served at
// its wire.Path by the HTTP server), and hands it to the engine at simulated time
// at (s, not before the last RunUntil): Admit, then SubmitAdmission. A
// refused request (bad body, prompt over the context) returns a
// *RequestError and never reaches the engine.
func (v *Virtual) Submit(api string, body []byte, at float64) (*Request, error) {
	a, err := v.Admit(api, body)
	if err != nil {
		return nil, err
	}
	return v.SubmitAdmission(a, at), nil
}

// Cancel removes r from the engine (its client went away).
func (v *Virtual) Cancel(r *Request) {
	v.eng.Cancel(r)
	r.vlive = false
}

// Next returns the simulated time of the engine's next event; ok is false
// when it is idle.
func (v *Virtual) Next() (float64, bool) { return v.eng.Next() }

// Now is the engine's simulated time, s.
func (v *Virtual) Now() float64 { return v.eng.Now() }

// RunUntil runs the engine to simulated time t and returns the token
// deliveries a streaming client would see, in time order: an Output per
// delivery with Generated the tokens delivered so far. As on the HTTP
// server, a stream waits for StreamInterval new tokens before it writes,
// except for the first and the last. The slice is reused by the next call.
func (v *Virtual) RunUntil(t float64) []Output {
	interval := max(v.plan.cfg.StreamInterval, 1)
	v.outs = v.outs[:0]
	for _, o := range v.eng.RunUntil(t) {
		sent := o.Req.vsent
		if !o.Req.vlive {
			continue
		}
		if sent > 0 && o.Generated-sent < interval && !o.Done {
			continue
		}
		o.Tokens = o.Generated - sent
		o.First = sent == 0
		v.outs = append(v.outs, o)
		if o.Done {
			o.Req.vlive = false
		} else {
			o.Req.vsent = o.Generated
		}
	}
	return v.outs
}

// Served is what a streaming client of the HTTP server reads of one
// request (stream: true), in the terms of wire.Stream: which events carry
// output and the usage the events report.
type Served struct {
	// Lead counts the output events the stream sends with its first
	// delivery ahead of the first token's (a chat tool call's opening
	// delta carries output); they arrive with the first token.
	Lead int
	// Usage is the usage the client read: from the start events once a
	// token was delivered, and from the end events when the stream
	// completed; -1 fields were not reported.
	Usage wire.Usage
	// Err is an error event the stream carried ("" when none).
	Err string
}

// Served returns what a streaming client read of r, a submission of a
// that had its first delivery when started is set and its last when
// complete is set: the server's own start and end events, rendered and read
// with wire's stream reader, so the figures are those of the HTTP path.
func (a *Admission) Served(r *Request, started, complete bool) Served {
	var sv Served
	st := wire.NewStream(a.APIName)
	if !started {
		sv.Usage = st.Usage()
		return sv
	}
	enc := a.a.encoder(a.api, "virtual", 0, defaultWords())
	buf := enc.start(nil, r.CachedTokens)
	sv.Lead = readEvents(&st, buf)
	if complete {
		c := completion{prompt: a.a.prompt, output: a.a.d.tokens, truncated: a.a.d.truncated, cached: r.CachedTokens}
		readEvents(&st, enc.end(buf[:0], c))
	}
	sv.Usage, sv.Err = st.Usage(), st.Err
	return sv
}

// readEvents feeds the SSE events in b to st and returns how many carried
// output.
func readEvents(st *wire.Stream, b []byte) int {
	n := 0
	var scratch []byte
	for len(b) > 0 {
		evLen, textLen := wire.NextEvent(b)
		if evLen == 0 {
			break
		}
		var name, data []byte
		name, data, scratch, _ = wire.SplitEvent(b[:textLen], scratch)
		if st.Event(name, data) {
			n++
		}
		b = b[evLen:]
	}
	return n
}

// AcceleratorJoules appends to dst each accelerator's modelled energy from
// simulated time 0 to Now, J, in the order of Engine.AcceleratorWatts; it
// appends nothing when the hardware has no power figures. Two readings a
// simulated interval apart give each accelerator's mean power over it.
func (v *Virtual) AcceleratorJoules(dst []float64) []float64 {
	e := v.eng
	if !e.power.ok {
		return dst
	}
	for _, pool := range [][]*instance{e.insts, e.pinsts} {
		for _, in := range pool {
			j := e.power.joules(in, e.now)
			for i := 0; i < e.plan.TP; i++ {
				dst = append(dst, j)
			}
		}
	}
	return dst
}

// CoalescesTokens reports whether a stream sends a delivery's tokens as
// one event (Config.CoalesceTokens) rather than one event per token.
func (p *Plan) CoalescesTokens() bool { return p.cfg.CoalesceTokens }
