package replay

import (
	"github.com/agentperf/agentperf/wire"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/agentperf/agentperf/schemas"
)

func TestFillRow(t *testing.T) {
	ms := func(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }
	origin := time.Unix(1_767_225_600, 0)
	o := origin.UnixNano()
	usage := wire.Usage{Input: 1000, Cached: 800, Output: 3, Reasoning: -1}
	for _, tt := range []struct {
		name      string
		k         float64
		due, sent time.Duration // wall after origin
		rep       Response
		// want: world ns after o (sched, sent, first, end), chunk µs, lag
		// and the wall end after origin
		sched, sentW, first, end int64
		chunks                   []int32
		lag, wallEnd             time.Duration
	}{
		{"wall, K=1", 1, 0, ms(2), Response{First: ms(30), End: ms(90), Chunks: []time.Duration{ms(30), ms(50), ms(90)}, Usage: usage, Status: 200},
			o, o + 2e6, o + 32e6, o + 92e6, []int32{30000, 50000, 90000}, ms(2), ms(92)},
		{"wall × K=10", 10, ms(1), ms(2), Response{First: ms(30), End: ms(90), Chunks: []time.Duration{ms(30), ms(50), ms(90)}, Usage: usage, Status: 200},
			o + 10e6, o + 20e6, o + 320e6, o + 920e6, []int32{300000, 500000, 900000}, ms(1), ms(92)},
		{"sim offsets as they are", 10, 0, ms(2), Response{Sim: true, First: ms(30), SimEnd: ms(95), End: ms(12), Chunks: []time.Duration{ms(30), ms(95)}, Usage: usage, Status: 200},
			o, o + 20e6, o + 50e6, o + 115e6, []int32{30000, 95000}, ms(2), ms(14)},
		{"sim, cut stream ends when seen", 10, 0, 0, Response{Sim: true, First: ms(30), SimEnd: ms(40), End: ms(10), Chunks: []time.Duration{ms(30)}, Err: "truncated stream", Usage: noUsage, Status: 200},
			o, o, o + 30e6, o + 100e6, []int32{30000}, 0, ms(10)},
		{"write wait is lag", 1, 0, ms(2), Response{Wrote: ms(5), First: ms(30), End: ms(90), Chunks: []time.Duration{ms(30)}, Usage: usage, Status: 200},
			o, o + 7e6, o + 32e6, o + 92e6, []int32{25000}, ms(7), ms(92)},
		{"no output", 1, 0, 0, Response{First: -1, End: ms(40), Err: "HTTP 503: busy", Status: 503, Usage: noUsage},
			o, o, 0, o + 40e6, nil, 0, ms(40)},
		{"offsets clamp at int32 µs", 1, 0, 0, Response{First: 3000 * time.Second, End: 3000 * time.Second, Chunks: []time.Duration{3000 * time.Second}, Usage: usage, Status: 200},
			o, o, o + 3000e9, o + 3000e9, []int32{math.MaxInt32}, 0, 3000 * time.Second},
	} {
		res := &schemas.Result{RunID: "r", SessionID: "s"}
		rep := tt.rep
		rep.Chunks = slices.Clone(tt.rep.Chunks)
		end, lag := fillRow(res, newWorldClock(origin, tt.k), origin.Add(tt.due), origin.Add(tt.sent), rep)
		got := []int64{res.ScheduledNS, res.SentNS, res.FirstTokenNS, res.EndNS}
		want := []int64{tt.sched, tt.sentW, tt.first, tt.end}
		if !slices.Equal(got, want) || !slices.Equal(res.ChunkOffsetsUS, tt.chunks) || lag != tt.lag || end.Sub(origin) != tt.wallEnd {
			t.Errorf("%s: times %v chunks %v lag %v end %v;\n want %v chunks %v lag %v end %v", tt.name, sub(got, o), res.ChunkOffsetsUS, lag, end.Sub(origin),
				sub(want, o), tt.chunks, tt.lag, tt.wallEnd)
		}
		if res.Status != int32(tt.rep.Status) || res.Error != tt.rep.Err || res.OutputTokens != clampTok(tt.rep.Usage.Output) ||
			res.InputTokens != clampTok(tt.rep.Usage.Input) || res.ReasoningTokens != clampTok(tt.rep.Usage.Reasoning) || res.RunID != "r" {
			t.Errorf("%s: row %+v", tt.name, res)
		}
	}
	if clampTok(1<<40) != math.MaxInt32 || clampTok(-7) != -1 {
		t.Errorf("clampTok")
	}
}

// sub shows times relative to o.
func sub(v []int64, o int64) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		if x != 0 {
			out[i] = x - o
		}
	}
	return out
}
