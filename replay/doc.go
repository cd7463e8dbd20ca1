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
package replay
