package analyze

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/agentperf/agentperf/schemas"
)

// genSpec describes a synthetic results file: a closed-loop run over
// levels of increasing users, with realistic coding-agent shapes (output
// tokens log-normal with median 150 and P95 ≈ 2,000, one chunk per token,
// inputs of tens of thousands of tokens mostly cached), a speed that falls
// and a TTFT that rises with load, and a small error rate.
type genSpec struct {
	RunID      string
	Seed       uint64
	Rows       int
	Levels     []int32 // users per level; rows are split evenly
	Shard      int32
	GroupRows  int     // rows per row group (Flush); 0 = one per level
	ErrorRate  float64 // fraction of failed requests
	NoUsage    float64 // fraction of successes without reported output tokens
	ChunkScale float64 // multiplies the chunk count (1 = one chunk per token)
	Meta       *schemas.RunMeta
}

func (g genSpec) write(tb testing.TB, path string) (chunks int64) {
	tb.Helper()
	w, err := schemas.CreateResults(path, true)
	if err != nil {
		tb.Fatal(err)
	}
	if g.Meta != nil {
		w.SetRunMeta(g.Meta)
	}
	rng := rand.New(rand.NewPCG(g.Seed, 99))
	perLevel := g.Rows / len(g.Levels)
	var r schemas.Result
	written := 0
	for li, users := range g.Levels {
		n := perLevel
		if li == len(g.Levels)-1 {
			n = g.Rows - written
		}
		// per-user state: session, turn, clock
		type userState struct {
			session int
			turn    int32
			turns   int32
			clock   int64
		}
		us := make([]userState, users)
		base := int64(1_750_000_000_000_000_000) + int64(li)*3600e9
		for u := range us {
			us[u] = userState{session: u, turns: int32(5 + rng.IntN(60)), clock: base + int64(rng.IntN(1e9))}
		}
		load := float64(users)
		for i := range n {
			u := int32(i % int(users))
			st := &us[u]
			phase := schemas.PhaseSteady
			switch {
			case i < n/10:
				phase = schemas.PhaseWarmup
			case i >= n-n/20:
				phase = schemas.PhaseDrain
			}
			out := int32(math.Exp(rng.NormFloat64()*1.575 + math.Log(150)))
			out = min(max(out, 1), 16384) // a max_tokens cap; keeps offsets far below int32 µs
			r = schemas.Result{
				RunID: g.RunID, Shard: g.Shard, Level: int32(li), Users: users, Phase: phase,
				User: u, SessionID: fmt.Sprintf("s%d-%d", g.Shard, st.session), Turn: st.turn, API: "openai-chat",
				InputTokens: int32(1000 + rng.IntN(60000)), ReasoningTokens: -1, OutputTokens: out,
				ExpectedOutputTokens: out, Status: 200,
			}
			r.ExpectedInputTokens = r.InputTokens
			r.CachedTokens = int32(float64(r.InputTokens) * (0.5 + 0.45*rng.Float64()))
			r.ScheduledNS = st.clock
			r.SentNS = st.clock + int64(rng.ExpFloat64()*300e3) // ~0.3 ms lag
			ttftUS := int32(150e3*(1+load/64) + rng.ExpFloat64()*80e3*(1+load/32))
			gapUS := 1e6 / (300 / (1 + load/48)) // speed falls with load
			scale := g.ChunkScale
			if scale == 0 {
				scale = 1
			}
			nChunks := int(math.Ceil(float64(out) * scale))
			// a fresh slice per row: the writer buffers rows, slices included
			r.ChunkOffsetsUS = make([]int32, 0, nChunks)
			off := ttftUS
			for c := range nChunks {
				if c > 0 {
					off += int32(gapUS * (0.7 + 0.6*rng.Float64()))
				}
				r.ChunkOffsetsUS = append(r.ChunkOffsetsUS, off)
			}
			r.FirstTokenNS = r.SentNS + int64(ttftUS)*1000
			r.EndNS = r.SentNS + int64(off)*1000 + int64(rng.IntN(500e3))
			if rng.Float64() < g.ErrorRate {
				r.Status = []int32{500, 429, 0, 200}[rng.IntN(4)]
				r.Error = []string{"HTTP 500: internal error", "HTTP 429: rate limited", "connection refused", "stream truncated"}[rng.IntN(4)]
				r.OutputTokens, r.CachedTokens, r.InputTokens = -1, -1, -1
				if r.Status != 200 {
					r.ChunkOffsetsUS = nil
					r.FirstTokenNS = 0
				}
			} else if rng.Float64() < g.NoUsage {
				r.OutputTokens, r.CachedTokens = -1, -1
			}
			chunks += int64(len(r.ChunkOffsetsUS))
			if err := w.Write(&r); err != nil {
				tb.Fatal(err)
			}
			written++
			if g.GroupRows > 0 && written%g.GroupRows == 0 {
				if err := w.Flush(); err != nil {
					tb.Fatal(err)
				}
			}
			st.clock = r.EndNS + int64(rng.ExpFloat64()*1e9)
			st.turn++
			if st.turn >= st.turns {
				st.session += int(users)
				st.turn, st.turns = 0, int32(5+rng.IntN(60))
			}
		}
		if err := w.Flush(); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return chunks
}
