// Package replay is agentperf's load driver: it turns a trace set into
// per-user session schedules, sends the recorded requests to a target
// endpoint as closed-loop simulated users (or as open-loop arrivals), reads
// the streamed responses with a zero-copy SSE scanner and writes one
// schemas.Result row per request.
//
// Time: every timestamp written is in world time. With a time scale K > 1
// (an embedded simulator running K times faster than real hardware), a wall
// duration d is stored as d·K and a recorded think time t is waited as t/K,
// so a fast run and a slow run of the same setup give the same figures.
//
// The pieces, one job each: Config and its defaults (config.go,
// Config.withDefaults, the one place defaults live); a level run
// (level.go: window, phases, drain, watchdog, the client judgement by
// analyze's rule); the load shapes behind one interface (arrivals.go:
// closed loop, Poisson, recorded timestamps); one request (request.go),
// whose row is made by a pure function (row.go: the world-clock and
// sim-clock conversions); the Sender that sends a request and times its
// response (sender.go; HTTP in client.go and sse.go); the Sink the rows go
// to (sink.go; a schemas.ResultsWriter); and the Clock every send, timer and
// timeout reads (clock.go; SystemClock by default). A virtual-time run
// plugs a Clock and a Sender in.
package replay
