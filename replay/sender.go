package replay

import (
	"context"
	"github.com/agentperf/agentperf/wire"
	"sync/atomic"
	"time"
)

// Sender sends one request to the target and times its response. The HTTP
// sender (newTransport's client, SSE read in place) is replay's; Config's
// Sender replaces it (an in-process target, a test double).
type Sender interface {
	// Send sends x and returns when its response ended or failed, or ctx
	// ended. It calls x.Read as bytes arrive (the stall watchdog reads
	// it). Unless it sets Response.Draining, it is done with ctx when it
	// returns.
	Send(ctx context.Context, x *Exchange) Response
}

// Exchange is one request in flight.
type Exchange struct {
	// API is the API the body is for; Body the request body, which the
	// Sender must not keep after Send returns unless Draining.
	API  string
	Body []byte
	// ExpectOutput is the output tokens expected (0 = unknown), to size
	// the chunk list.
	ExpectOutput int
	// Sent is when the request was handed to the Sender (its Clock).
	Sent time.Time

	lastRead atomic.Int64 // wall ns since Sent of the last byte read
	cancel   context.CancelCauseFunc
}

// Read records that bytes of the response arrived d after Sent.
func (x *Exchange) Read(d time.Duration) { x.lastRead.Store(int64(d)) }

// Cancel ends the request with cause (nil: done); a Sender that drains a
// body in the background (Draining) calls it when it is done.
func (x *Exchange) Cancel(cause error) { x.cancel(cause) }

// Response is what one request produced. End is wall time since Sent; First
// and Chunks are too, unless Sim is set.
type Response struct {
	// Status is the HTTP status (0 when no response arrived); Err says why
	// the request failed ("" when it did not).
	Status int
	Err    string
	// First is the first output's arrival (-1 when no output arrived), End
	// the response's end, Chunks every output event's arrival.
	First  time.Duration
	End    time.Duration
	Chunks []time.Duration
	// Usage is what the target reported.
	Usage wire.Usage
	// Kernel is set when a kernel receive timestamp timed a read.
	Kernel bool
	// Wrote is when the transport began writing the request on an idle
	// connection, wall time since Sent; 0 when it never did or had to
	// dial (then the dial counts as the target's, as before).
	Wrote time.Duration
	// Sim is set when the response was timed by the target's simulated
	// clock: First, Chunks and SimEnd are then world durations since the
	// target received the request (not to be scaled by K).
	Sim    bool
	SimEnd time.Duration
	// TimeScale is the target's time scale as it announced it (agentperf
	// sim's header), "" when it did not.
	TimeScale string
	// Draining is set when the Sender still reads the body in the
	// background and will end the request itself (Exchange.Cancel).
	Draining bool

	// st follows the stream (HTTP sender).
	st wire.Stream
	// simClock is set when the target echoed the sim-clock request
	// header: its events may carry simulated times.
	simClock bool
}
