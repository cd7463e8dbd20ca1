package mooncakegen

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// BlockSize is the number of tokens a hash id covers, as in Mooncake.
const BlockSize = 512

// Shape is the size and shape of a generated trace.
type Shape struct {
	// Requests and Sessions count what is generated (Sessions ≤ Requests;
	// each session has at least one request).
	Requests, Sessions int
	// Duration is the time over which sessions start and run; timestamps
	// lie in [0, Duration).
	Duration time.Duration
	// InputP50 and InputP99 set the log-normal input length, tokens.
	InputP50, InputP99 int
	// OutputP50 and OutputP99 set the log-normal output length, tokens.
	OutputP50, OutputP99 int
	// SharedPrefix is the share (0–1) of sessions that open with one of
	// a pool of shared system prefixes (2–16 blocks, popularity 1/rank),
	// which adds block reuse across sessions.
	SharedPrefix float64
	// MeanThink is the mean gap between a session's requests.
	MeanThink time.Duration
	// Seed selects the trace.
	Seed uint64
}

// Conversation is the size and shape of the Mooncake conversation trace
// (github.com/kvcache-ai/Mooncake, FAST25-release/traces/
// conversation_trace.jsonl): 12,031 requests over an hour, input p50 ~7K
// and p99 ~85K tokens (145 M in all), ~31 % of blocks reused. The session
// count (~7,000) is what agentperf's Mooncake import groups it into; the
// trace itself names none. Output lengths (p50 250, p99 1,500, mean
// ~340) and think times are not from the trace.
var Conversation = Shape{
	Requests: 12031, Sessions: 7000, Duration: time.Hour,
	InputP50: 7000, InputP99: 85000, OutputP50: 250, OutputP99: 1500,
	SharedPrefix: 0.75, MeanThink: 90 * time.Second, Seed: 1,
}

// Stats describes a generated trace.
type Stats struct {
	Requests, Sessions int
	// InputTokens sums the requests' input lengths.
	InputTokens int64
	// Blocks counts hash ids over all requests; ReusedBlocks those whose
	// id appeared in an earlier line (what a prefix cache of unbounded
	// size could reuse).
	Blocks, ReusedBlocks int
	// Bytes is the size of the JSONL written.
	Bytes int64
}

// BlockReuse returns ReusedBlocks / Blocks.
func (s Stats) BlockReuse() float64 {
	if s.Blocks == 0 {
		return 0
	}
	return float64(s.ReusedBlocks) / float64(s.Blocks)
}

type request struct {
	ms            int64
	session, turn int
	input, output int
	ids           []int64 // provisional ids, renumbered on output
}

// z99 is the standard normal quantile at 0.99.
const z99 = 2.3263478740408408

// Write generates the trace of shape s and writes it to w.
func Write(w io.Writer, s Shape) (Stats, error) {
	if s.Requests < 1 || s.Sessions < 1 || s.Sessions > s.Requests || s.Duration < time.Second ||
		s.InputP50 < 1 || s.InputP99 < s.InputP50 || s.OutputP50 < 1 || s.OutputP99 < s.OutputP50 {
		return Stats{}, fmt.Errorf("mooncakegen: bad shape %+v", s)
	}
	rng := rand.New(rand.NewPCG(s.Seed, 0x6d6f6f6e63616b65))
	logNormal := func(p50, p99 int) func() int {
		mu, sigma := math.Log(float64(p50)), math.Log(float64(p99)/float64(p50))/z99
		return func() int { return max(1, int(math.Exp(mu+sigma*rng.NormFloat64()))) }
	}
	input, output := logNormal(s.InputP50, s.InputP99), logNormal(s.OutputP50, s.OutputP99)

	// Turns per session: one each, the rest given mostly to sessions in
	// proportion to the turns they have (a heavy tail of long
	// conversations), partly at random.
	turns := make([]int, s.Sessions)
	owners := make([]int, 0, s.Requests)
	for i := range turns {
		turns[i] = 1
		owners = append(owners, i)
	}
	for len(owners) < s.Requests {
		k := rng.IntN(s.Sessions)
		if rng.Float64() < 0.7 {
			k = owners[rng.IntN(len(owners))]
		}
		turns[k]++
		owners = append(owners, k)
	}

	// Shared system prefixes.
	const pool = 64
	var next int64
	newID := func() int64 { next++; return next }
	prefixes := make([][]int64, pool)
	weights := make([]float64, pool)
	var wsum float64
	for i := range prefixes {
		prefixes[i] = make([]int64, 2+rng.IntN(15))
		for j := range prefixes[i] {
			prefixes[i][j] = newID()
		}
		weights[i] = 1 / float64(i+1)
		wsum += weights[i]
	}
	pickPrefix := func() []int64 {
		x := rng.Float64() * wsum
		for i, w := range weights {
			if x -= w; x < 0 {
				return prefixes[i]
			}
		}
		return prefixes[pool-1]
	}

	dur := s.Duration.Milliseconds()
	think := float64(s.MeanThink.Milliseconds())
	reqs := make([]request, 0, s.Requests)
	for sess, n := range turns {
		lens := make([]int, n)
		for i := range lens {
			lens[i] = input()
		}
		slices.Sort(lens)
		var shared []int64
		if rng.Float64() < s.SharedPrefix {
			shared = pickPrefix()
		}
		gaps := make([]int64, n)
		var span int64
		for i := 1; i < n; i++ {
			gaps[i] = 1 + int64(rng.ExpFloat64()*think)
			span += gaps[i]
		}
		if span >= dur {
			// Squeeze a session longer than the trace into it.
			for i := range gaps {
				gaps[i] = max(1, gaps[i]*(dur-1)/span)
			}
			span = 0
			for _, g := range gaps {
				span += g
			}
		}
		at := rng.Int64N(max(1, dur-span))
		var prev []int64 // the previous turn's full blocks
		prevLen := 0
		for t, l := range lens {
			if l <= prevLen {
				l = prevLen + 1 // a later turn is longer
			}
			blocks := (l + BlockSize - 1) / BlockSize
			ids := make([]int64, 0, blocks)
			ids = append(ids, prev...)
			if t == 0 {
				ids = append(ids, shared[:min(len(shared), l/BlockSize)]...)
			}
			for len(ids) < blocks {
				ids = append(ids, newID())
			}
			at += gaps[t]
			reqs = append(reqs, request{ms: at, session: sess, turn: t, input: l, output: output(), ids: ids})
			prev, prevLen = ids[:l/BlockSize], l
		}
	}
	slices.SortStableFunc(reqs, func(a, b request) int {
		return cmp.Or(cmp.Compare(a.ms, b.ms), cmp.Compare(a.session, b.session), cmp.Compare(a.turn, b.turn))
	})

	// Renumber ids in order of first appearance, as Mooncake does, and
	// write.
	bw := bufio.NewWriterSize(w, 1<<16)
	renum := make(map[int64]int64, next)
	st := Stats{Requests: len(reqs), Sessions: s.Sessions}
	var line []byte
	for _, r := range reqs {
		line = append(line[:0], `{"timestamp": `...)
		line = strconv.AppendInt(line, r.ms, 10)
		line = append(line, `, "input_length": `...)
		line = strconv.AppendInt(line, int64(r.input), 10)
		line = append(line, `, "output_length": `...)
		line = strconv.AppendInt(line, int64(r.output), 10)
		line = append(line, `, "hash_ids": [`...)
		for i, id := range r.ids {
			n, seen := renum[id]
			if !seen {
				n = int64(len(renum))
				renum[id] = n
			} else {
				st.ReusedBlocks++
			}
			if i > 0 {
				line = append(line, ", "...)
			}
			line = strconv.AppendInt(line, n, 10)
		}
		line = append(line, "]}\n"...)
		st.Blocks += len(r.ids)
		st.InputTokens += int64(r.input)
		st.Bytes += int64(len(line))
		if _, err := bw.Write(line); err != nil {
			return st, err
		}
	}
	return st, bw.Flush()
}
