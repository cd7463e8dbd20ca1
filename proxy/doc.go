// Package proxy captures coding-agent traffic into trace sets. One capture
// tap serves two front ends: a reverse proxy (agents point their base URL
// at it) and an HTTPS man-in-the-middle proxy on goproxy (agents set
// HTTPS_PROXY and trust its CA). The tap forwards bytes untouched and as
// they arrive (flushed per write, so per event), copying them and their
// arrival times aside; a capture goroutine later decodes each call with
// the adapters in proxy/adapt, groups calls into sessions, and appends
// finished turns to a crash-safe spool that is rolled into a Parquet trace
// set. Which requests are calls (wire.APIOf), how an SSE body is framed
// and what its usage numbers say are package wire's, shared with replay.
//
// Contract:
//
//   - The wire is never altered and never waits for capture or the disk.
//     Capture failures lose a turn, never a byte on the wire.
//   - A call is complete when its response's terminal event arrived
//     (adapt.Result.Complete), whatever the client did afterwards; only a
//     stream that ended before it is cut off.
//   - Responses calls made over a WebSocket upgrade of /responses (Codex)
//     are turns like HTTP calls (ws.go, proxy/wsframe): the bytes are
//     forwarded untouched and a copy is read.
//   - A Responses call with previous_response_id is stored with the whole
//     context the model saw (context.go); Request.ContextItems says how
//     much capture filled in.
//   - Loss is loud: every turn that cannot be kept is counted (Stats,
//     agentperf_record_drops_total), reported through Options.OnDrop, and
//     makes Close return a *LossError, the trace set still written.
//   - Headers are never written except the session-naming ones and the
//     agent name; credentials never reach the spool.
package proxy
