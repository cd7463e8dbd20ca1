package replay

import (
	"github.com/agentperf/agentperf/wire"
	"math"
	"time"

	"github.com/agentperf/agentperf/schemas"
)

// noUsage is a response's usage when the target reported none.
var noUsage = wire.Usage{Input: -1, Cached: -1, Output: -1, Reasoning: -1}

// fillRow completes res — whose identity fields (run, level, user, turn,
// phase, API, expected counts) the caller set — with a finished request's
// times, usage and outcome, and returns the wall time the response ended
// (where the closed loop's schedule resumes) and the client lag. due is when
// the request was scheduled and sent when it was handed to the sender, both
// wall (c's clock). It is a pure function of its arguments; rep.Chunks may
// be changed.
//
// The send moves to when the transport began writing the request on an
// idle connection (rep.Wrote): waiting for the transport's write goroutine
// is the client's delay, so it counts as lag, not TTFT. Wall durations are
// stored × K (world time); a response timed by the target's simulated clock
// (rep.Sim) keeps its offsets as they are (they are world time already),
// except that a cut stream ends when the client saw it end.
func fillRow(res *schemas.Result, c *worldClock, due, sent time.Time, rep Response) (end time.Time, lag time.Duration) {
	if w := rep.Wrote; w > 0 {
		sent = sent.Add(w)
		rep.rebase(w)
	}
	end = sent.Add(rep.End)
	lag = sent.Sub(due)
	sentW := c.World(sent)
	world, endW := c.WorldDur, c.WorldDur(rep.End)
	if rep.Sim {
		world = func(d time.Duration) int64 { return int64(d) }
		endW = int64(rep.SimEnd)
		if rep.Err != "" {
			endW = max(endW, c.WorldDur(rep.End))
		}
	}
	res.ScheduledNS, res.SentNS, res.EndNS = c.World(due), sentW, sentW+endW
	res.InputTokens, res.CachedTokens = clampTok(rep.Usage.Input), clampTok(rep.Usage.Cached)
	res.OutputTokens, res.ReasoningTokens = clampTok(rep.Usage.Output), clampTok(rep.Usage.Reasoning)
	res.Status, res.Error = int32(rep.Status), rep.Err
	res.FirstTokenNS, res.ChunkOffsetsUS = 0, nil
	if rep.First >= 0 {
		res.FirstTokenNS = sentW + world(rep.First)
	}
	if len(rep.Chunks) > 0 {
		res.ChunkOffsetsUS = make([]int32, len(rep.Chunks))
		for i, d := range rep.Chunks {
			res.ChunkOffsetsUS[i] = int32(min(world(d)/1000, math.MaxInt32))
		}
	}
	return end, lag
}

func clampTok(v int64) int32 {
	if v < 0 {
		return -1
	}
	return int32(min(v, math.MaxInt32))
}
