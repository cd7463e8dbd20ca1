package analyze

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/agentperf/agentperf/capacity"
	"github.com/agentperf/agentperf/schemas"
)

// request is the adapter analyze is to use: one result row to a Request,
// with analyze's own definitions (Failed, OutputTokens, RequestTimes).
func request(r *schemas.Result) capacity.Request {
	q := capacity.Request{
		Session: fmt.Sprintf("%d/%d/%s", r.Shard, r.User, r.SessionID),
		Speed:   math.NaN(), TTFT: -1, Failed: isFailed(r),
	}
	if q.Failed {
		return q
	}
	out, _ := outputTokens(r)
	first, last, ok := requestTimes(r)
	if !ok {
		return q
	}
	q.TTFT = time.Duration(first - r.SentNS)
	if out >= 2 && last > first {
		q.Speed = float64(out-1) / (float64(last-first) / 1e9)
	}
	return q
}

// rows draws a level's steady-state rows: users × sessions, each with a
// few turns, speeds and TTFTs varying by session, some failures and some
// one-token answers.
func rows(seed uint64, users int) []schemas.Result {
	r := rand.New(rand.NewPCG(seed, 1))
	var out []schemas.Result
	t := int64(1_700_000_000_000_000_000)
	for u := range users {
		for s := range 2 {
			sessSpeed := 80 + 60*r.Float64()
			for turn := range 1 + r.IntN(12) {
				sent := t + int64(r.IntN(1e9))
				ttft := int64((0.1 + 2*r.Float64()) * 1e9)
				n := 1 + r.IntN(300)
				offs := make([]int32, n)
				for i := range offs {
					offs[i] = int32(ttft/1000) + int32(float64(i)/sessSpeed*1e6)
				}
				row := schemas.Result{
					RunID: "run", Level: 0, Users: int32(users), Phase: schemas.PhaseSteady,
					User: int32(u), SessionID: fmt.Sprintf("sess-%d", s), Turn: int32(turn),
					ScheduledNS: sent, SentNS: sent, FirstTokenNS: sent + ttft, EndNS: sent + ttft + int64(offs[n-1]),
					ChunkOffsetsUS: offs, InputTokens: 1000, CachedTokens: 0, OutputTokens: int32(n), Status: 200,
				}
				switch {
				case r.IntN(200) == 0:
					row.Status, row.Error = 500, "boom"
				case r.IntN(4) == 0:
					row.OutputTokens = -1 // not reported: analyze counts chunks
				}
				out = append(out, row)
			}
		}
	}
	return out
}

// TestAgreesWithAnalyze: on the same rows, Assess's point figures are
// analyze's (P25 output speed, P95 TTFT, error rate), and its point margin
// passes exactly when analyze's Judge passes — at the preset's tiers and at
// tiers placed on analyze's own figures, where equality passes and one ulp
// (or nanosecond, or error) beyond fails. LevelStats.Assess, analyze's own
// path from the requests its accumulator keeps, gives the same points.
func TestAgreesWithAnalyze(t *testing.T) {
	presets, err := Preset("gpt-oss-120b")
	if err != nil {
		t.Fatal(err)
	}
	passes, total := 0, 0
	for seed := range uint64(12) {
		users := 5 + int(seed)*7
		rs := rows(seed, users)
		acc := NewLevelAccumulator(1)
		reqs := make([]capacity.Request, len(rs))
		for i := range rs {
			acc.Add(&rs[i])
			reqs[i] = request(&rs[i])
		}
		st := acc.Stats(Validity{}, 0)
		at := presets[0].Judge(st)
		strict := NewTier(at.Speed, at.TTFT)
		strict.MaxErrorRate = at.ErrorRate
		if strict.MaxErrorRate == 0 {
			strict.MaxErrorRate = -1 // analyze's "none allowed"
		}
		tiers := append(slices.Clone(presets),
			strict, // every figure on its limit: passes
			NewTier(math.Nextafter(at.Speed, math.Inf(1)), at.TTFT), // speed one ulp short
			NewTier(at.Speed, at.TTFT-1),                            // TTFT 1 ns over
			NewTier(at.Speed/2, 2*at.TTFT),                          // comfortable
		)
		if at.ErrorRate > 0 {
			fewer := strict
			fewer.MaxErrorRate = at.ErrorRate * (1 - 1e-9)
			tiers = append(tiers, fewer) // errors just over
		}
		ct := make([]capacity.Tier, len(tiers))
		for i, tier := range tiers {
			tier = tier.Normalized()
			tier.Name = fmt.Sprint(i)
			tiers[i] = tier
			ct[i] = tier.CapacityTier()
		}
		l, err := capacity.Assess(users, reqs, ct, capacity.Options{Replicates: 100})
		if err != nil {
			t.Fatal(err)
		}
		// analyze's own path: the requests its accumulator kept
		own, err := st.Assess(tiers, capacity.Options{Replicates: 100})
		if err != nil {
			t.Fatal(err)
		}
		if own.Requests != l.Requests || own.Errors != l.Errors || own.Sessions != l.Sessions || own.Sampled != 0 {
			t.Errorf("seed %d: analyze's Assess saw %d requests, %d errors, %d sessions (%d sampled); the rows hold %d, %d, %d",
				seed, own.Requests, own.Errors, own.Sessions, own.Sampled, l.Requests, l.Errors, l.Sessions)
		}
		for i, tier := range tiers {
			v := tier.Judge(st)
			got := l.Tiers[i]
			if o := own.Tiers[i]; o.Speed.Point != got.Speed.Point || o.TTFT.Point != got.TTFT.Point || o.ErrorRate.Point != got.ErrorRate.Point || o.Margin.Point != got.Margin.Point {
				t.Errorf("seed %d tier %d: analyze's Assess %+v, the adapter's %+v", seed, i, o, got)
			}
			if got.Speed.Point != v.Speed {
				t.Errorf("seed %d tier %d: speed %v, analyze %v", seed, i, got.Speed.Point, v.Speed)
			}
			if d := time.Duration(math.Round(got.TTFT.Point * float64(time.Millisecond))); d != v.TTFT {
				t.Errorf("seed %d tier %d: TTFT %v, analyze %v", seed, i, d, v.TTFT)
			}
			if got.ErrorRate.Point != v.ErrorRate {
				t.Errorf("seed %d tier %d: error rate %v, analyze %v", seed, i, got.ErrorRate.Point, v.ErrorRate)
			}
			if (got.Margin.Point >= 0) != v.Pass {
				t.Errorf("seed %d tier %d (%+v): margin %v, analyze pass %v (%q)", seed, i, tier, got.Margin.Point, v.Pass, v.Reasons)
			}
			total++
			if v.Pass {
				passes++
			}
		}
	}
	t.Logf("%d of %d verdicts pass", passes, total)
	if passes < total/5 || passes > total*4/5 {
		t.Errorf("%d of %d verdicts pass: the tiers do not exercise both outcomes", passes, total)
	}
}

// BenchmarkLevel compares, on the same ≈2,000 rows (300 sessions), the
// cost analyze already pays per level (accumulate, Stats, Judge: the
// baseline) with converting the rows and Assessing them at the four
// gpt-oss-120b tiers.
func BenchmarkLevel(b *testing.B) {
	rs := rows(1, 150)
	presets, _ := Preset("gpt-oss-120b")
	ct := make([]capacity.Tier, len(presets))
	for i, at := range presets {
		at = at.Normalized()
		ct[i] = capacity.Tier{Name: at.Name, SpeedFloor: at.SpeedFloor, SpeedPercentile: at.SpeedPercentile,
			TTFTCeiling: at.TTFTCeiling, TTFTPercentile: at.TTFTPercentile, MaxErrorRate: max(at.MaxErrorRate, 0)}
	}
	b.Run(fmt.Sprintf("analyze/rows=%d", len(rs)), func(b *testing.B) {
		for b.Loop() {
			acc := NewLevelAccumulator(1)
			for i := range rs {
				acc.Add(&rs[i])
			}
			st := acc.Stats(Validity{}, 0)
			for _, t := range presets {
				t.Judge(st)
			}
		}
	})
	b.Run(fmt.Sprintf("capacity/rows=%d", len(rs)), func(b *testing.B) {
		reqs := make([]capacity.Request, len(rs))
		for b.Loop() {
			for i := range rs {
				reqs[i] = request(&rs[i])
			}
			if _, err := capacity.Assess(150, reqs, ct, capacity.Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
