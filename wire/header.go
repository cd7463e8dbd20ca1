package wire

// Headers of agentperf sim's clock (docs/sim.md).
const (
	// HeaderTimeScale is the response header announcing the time scale K:
	// durations a client measures, multiplied by K, are simulated
	// durations.
	HeaderTimeScale = "X-Agentperf-Time-Scale"
	// HeaderSimClock is the request header that asks for the simulator's
	// own clock: with value "1", every streamed delivery is preceded by
	// the comment line SimTimeComment (simulated ns since the request's
	// simulated arrival), a non-streamed response carries
	// HeaderSimFirstToken and HeaderSimEnd, and the response echoes the
	// header. Without it the byte stream is the standard one.
	HeaderSimClock = "X-Agentperf-Sim-Clock"
	// HeaderSimFirstToken and HeaderSimEnd carry, on a non-streamed
	// response to a request with HeaderSimClock, the simulated ns from the
	// request's arrival to its first token and to its last.
	HeaderSimFirstToken = "X-Agentperf-Sim-First-Token-Ns"
	HeaderSimEnd        = "X-Agentperf-Sim-End-Ns"
)
