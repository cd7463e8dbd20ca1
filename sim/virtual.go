package sim

import (
	"fmt"

	"github.com/agentperf/agentperf/schemas"
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
	// sent is, per request in flight, the tokens delivered so far.
	sent map[*Request]int
	outs []Output
}

// NewVirtual returns an idle virtual-time server for plan, at simulated
// time 0.
func NewVirtual(plan *Plan) *Virtual {
	return &Virtual{plan: plan, eng: NewEngine(plan), counts: newCountCache(), sent: map[*Request]int{}}
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
}

func (e *RequestError) Error() string { return fmt.Sprintf("%d: %s", e.Status, e.Message) }

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

// Submit parses body, a request of API api (a schemas.API* kind, served at
// its wire.Path by the HTTP server), and hands it to the engine at simulated time
// at (s, not before the last RunUntil). The returned Request's
// PromptTokens and OutputTokens are the usage the server would report;
// CachedTokens is set when the engine first schedules it. A refused
// request (bad body, prompt over the context) returns a *RequestError and
// never reaches the engine.
func (v *Virtual) Submit(api string, body []byte, at float64) (*Request, error) {
	kind, ok := apiOfKind(api)
	if !ok {
		return nil, &RequestError{Status: 404, Message: "no generation endpoint for API " + api}
	}
	if limit := v.plan.cfg.MaxRequestBytes; limit > 0 && int64(len(body)) > limit {
		return nil, &RequestError{Status: 413, Message: fmt.Sprintf("request body over %d bytes", limit)}
	}
	a, aerr := admit(v.plan, v.counts, kind, body)
	if aerr != nil {
		return nil, &RequestError{Status: aerr.status, Message: aerr.message}
	}
	r := &Request{}
	a.fill(r, v.plan)
	v.eng.RunUntil(at)
	v.sent[r] = 0
	v.eng.Submit(r, at)
	return r, nil
}

// Cancel removes r from the engine (its client went away).
func (v *Virtual) Cancel(r *Request) {
	v.eng.Cancel(r)
	delete(v.sent, r)
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
		sent, live := v.sent[o.Req]
		if !live {
			continue
		}
		if sent > 0 && o.Generated-sent < interval && !o.Done {
			continue
		}
		o.Tokens = o.Generated - sent
		o.First = sent == 0
		v.outs = append(v.outs, o)
		if o.Done {
			delete(v.sent, o.Req)
		} else {
			v.sent[o.Req] = o.Generated
		}
	}
	return v.outs
}
