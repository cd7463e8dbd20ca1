package analyze

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/agentperf/agentperf/capacity"
)

// bootBudget is the most steady requests of a level kept for the session
// bootstrap. capacity.Assess costs about 8 ms at 2,000 requests and 0.4 s
// at 200,000; up to this many every request is resampled (and the point
// figures are analyze's exact ones: the distributions are exact up to
// hist.ExactValues, the same count), beyond it a hash sample of whole
// sessions holding at most this many (see bootSample). A variable so tests
// can shrink it.
var bootBudget = 1 << 15

// bootRecord is one steady request as the bootstrap reads it.
type bootRecord struct {
	session uint64  // sessionHash of (shard, user, session id)
	speed   float64 // output speed, tok/s; NaN when undefined
	ttft    int64   // ns; -1 without a first token, bootFailed when failed
}

const bootFailed = -2

// bootSample keeps the steady requests of the sessions whose hash is ≤
// thr. thr starts at the maximum (every session) and halves whenever more
// than bootBudget requests are kept, so the sessions kept are the same
// however the rows are split between readers and merged: the largest
// threshold of the form 2^64−1 >> j under which the level's sessions hold
// no more than the budget.
type bootSample struct {
	thr  uint64
	recs []bootRecord
}

func newBootSample() bootSample { return bootSample{thr: math.MaxUint64} }

func (b *bootSample) add(r bootRecord) {
	if r.session > b.thr {
		return
	}
	b.recs = append(b.recs, r)
	if len(b.recs) > bootBudget {
		b.shrink()
	}
}

// shrink halves thr until the budget holds.
func (b *bootSample) shrink() {
	for len(b.recs) > bootBudget {
		b.thr >>= 1
		b.recs = slices.DeleteFunc(b.recs, func(r bootRecord) bool { return r.session > b.thr })
	}
}

func (b *bootSample) merge(o *bootSample) {
	if o.thr < b.thr {
		b.thr = o.thr
		b.recs = slices.DeleteFunc(b.recs, func(r bootRecord) bool { return r.session > b.thr })
	}
	for _, r := range o.recs {
		if r.session <= b.thr {
			b.recs = append(b.recs, r)
		}
	}
	b.shrink()
}

// sampled reports whether some sessions were left out.
func (b *bootSample) sampled() bool { return b.thr != math.MaxUint64 }

// sessionHash hashes a session key (FNV-1a, then the splitmix64
// finalizer, so that keys differing in a digit spread over all 64 bits).
func sessionHash(shard, user int32, session string) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	for _, x := range [2]uint32{uint32(shard), uint32(user)} {
		for range 4 {
			h = (h ^ uint64(x&0xff)) * prime
			x >>= 8
		}
	}
	for i := 0; i < len(session); i++ {
		h = (h ^ uint64(session[i])) * prime
	}
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9
	h = (h ^ (h >> 27)) * 0x94d049bb133111eb
	return h ^ (h >> 31)
}

// CapacityTier returns the tier as package capacity judges it: the same
// limits with every default filled in (capacity.Tier's contract).
func (t Tier) CapacityTier() capacity.Tier {
	t = t.Normalized()
	return capacity.Tier{Name: t.Name, SpeedFloor: t.SpeedFloor, SpeedPercentile: t.SpeedPercentile,
		TTFTCeiling: t.TTFTCeiling, TTFTPercentile: t.TTFTPercentile, MaxErrorRate: max(t.MaxErrorRate, 0)}
}

// referenceTier is judged beside a set's tiers only for its intervals: P25
// output speed, P95 TTFT and the error rate, the figures the level tables
// show with their uncertainty whatever percentiles the tiers use.
var referenceTier = capacity.Tier{Name: "reference", SpeedFloor: math.SmallestNonzeroFloat64, SpeedPercentile: DefaultSpeedPercentile,
	TTFTCeiling: math.MaxInt64, TTFTPercentile: DefaultTTFTPercentile, MaxErrorRate: DefaultMaxErrorRate}

// ErrNoSample is returned by Assess for a level whose steady requests were
// not kept for the bootstrap (a LevelStats not made by a LevelAccumulator).
var ErrNoSample = errors.New("the level's requests were not kept for the bootstrap")

// Assess puts confidence intervals on the level's figures at tiers with
// capacity's session bootstrap (docs/capacity.md): P-th output speed, TTFT
// and error rate per tier, their margin and a verdict of pass, fail or
// uncertain. Requests are grouped by (shard, user, session id); the point
// figures are analyze's own. A level with more than 32,768 steady requests
// is bootstrapped from a hash sample of its sessions and the intervals are
// scaled to the whole level (capacity.AssessSample): the cost stays about
// 0.1 s a level whatever its size.
//
// The tiers' results are Level.Tiers[0:len(tiers)] in order.
func (s *LevelStats) Assess(tiers []Tier, opt capacity.Options) (*capacity.Level, error) {
	ct := make([]capacity.Tier, len(tiers))
	for i, t := range tiers {
		ct[i] = t.CapacityTier()
	}
	return s.assess(ct, opt)
}

func (s *LevelStats) assess(ct []capacity.Tier, opt capacity.Options) (*capacity.Level, error) {
	if s.boot == nil {
		return nil, ErrNoSample
	}
	recs := s.boot.recs
	reqs := make([]capacity.Request, len(recs))
	keys := map[uint64]string{}
	for i, r := range recs {
		k, ok := keys[r.session]
		if !ok {
			k = strconv.FormatUint(r.session, 36)
			keys[r.session] = k
		}
		q := capacity.Request{Session: k, Speed: r.speed, TTFT: time.Duration(r.ttft)}
		if r.ttft == bootFailed {
			q.Failed, q.TTFT = true, -1
		}
		reqs[i] = q
	}
	users := max(s.Users, 0)
	if !s.boot.sampled() {
		return capacity.Assess(users, reqs, ct, opt)
	}
	whole := capacity.Whole{Sessions: s.SteadySessions, Requests: s.Requests, Errors: s.Errors,
		Speed: func(p float64) float64 { return pct(s.OutputSpeed, p) },
		TTFT:  func(p float64) float64 { return pct(s.TTFT, p) },
	}
	return capacity.AssessSample(users, reqs, whole, ct, opt)
}
