package capacity

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"time"
)

// Defaults of Options.
const (
	// DefaultReplicates is the number of bootstrap replicates per level:
	// a 90 % interval's ends then move by about 0.15 % of the figure
	// between seeds (P25 speed, 2,000 requests), against a half-width of
	// about 4 % (docs/capacity.md gives the cost).
	DefaultReplicates = 1000
	// DefaultConfidence is the two-sided confidence of every interval.
	DefaultConfidence = 0.90
	// SmallSample is the session count from which the percentiles'
	// intervals are bootstrap-t; below it they are expanded percentile
	// intervals (standard errors from fewer clusters are unstable), and a
	// note says the sample is small.
	SmallSample = 20
)

// errorScale is the normaliser of the error-rate slack when the tier allows
// no error at all (MaxErrorRate 0): 1 %, the published limit.
const errorScale = 0.01

// Tier is the service level a level is judged against: the limits of
// analyze's pass rule, with every value explicit (the caller resolves
// defaults; the package adds none). From an analyze.Tier: Name, SpeedFloor,
// SpeedPercentile, TTFTCeiling and TTFTPercentile copy one to one from its
// Normalized(), and MaxErrorRate is max(its MaxErrorRate, 0).
type Tier struct {
	// Name labels the tier in reasons, e.g. "100 tok/s".
	Name string
	// SpeedFloor is the least output speed, tok/s, at SpeedPercentile; 0
	// means no speed limit.
	SpeedFloor float64
	// SpeedPercentile is the percentile of output speed judged, in (0, 100]
	// (25 for AA-AgentPerf); ignored without a SpeedFloor.
	SpeedPercentile float64
	// TTFTCeiling is the greatest time to first token at TTFTPercentile; 0
	// means no TTFT limit.
	TTFTCeiling time.Duration
	// TTFTPercentile is the percentile of TTFT judged, in (0, 100] (95 for
	// AA-AgentPerf); ignored without a TTFTCeiling.
	TTFTPercentile float64
	// MaxErrorRate is the highest error fraction allowed, in [0, 1] (0.01 =
	// 1 %); 0 allows no error.
	MaxErrorRate float64
}

// Validate reports a tier that cannot be judged.
func (t Tier) Validate() error {
	bad := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
	switch {
	case bad(t.SpeedFloor) || t.SpeedFloor < 0:
		return fmt.Errorf("tier %q: speed floor %v must be a finite number ≥ 0 tok/s", t.Name, t.SpeedFloor)
	case t.SpeedFloor > 0 && (bad(t.SpeedPercentile) || t.SpeedPercentile <= 0 || t.SpeedPercentile > 100):
		return fmt.Errorf("tier %q: speed percentile %v must be in (0, 100] (25 is AA's)", t.Name, t.SpeedPercentile)
	case t.TTFTCeiling < 0:
		return fmt.Errorf("tier %q: TTFT ceiling %v must be ≥ 0 (0 for none)", t.Name, t.TTFTCeiling)
	case t.TTFTCeiling > 0 && (bad(t.TTFTPercentile) || t.TTFTPercentile <= 0 || t.TTFTPercentile > 100):
		return fmt.Errorf("tier %q: TTFT percentile %v must be in (0, 100] (95 is AA's)", t.Name, t.TTFTPercentile)
	case bad(t.MaxErrorRate) || t.MaxErrorRate < 0 || t.MaxErrorRate > 1:
		return fmt.Errorf("tier %q: max error rate %v must be a fraction in [0, 1] (0.01 = 1 %%)", t.Name, t.MaxErrorRate)
	case t.SpeedFloor == 0 && t.TTFTCeiling == 0:
		return fmt.Errorf("tier %q: needs a speed floor or a TTFT ceiling", t.Name)
	}
	return nil
}

// Request is one steady-state request of a level, reduced to what the pass
// rule reads. Fill it with analyze's definitions: Speed = (output tokens −
// 1) ÷ (last token − first token) for a successful request with ≥ 2 output
// tokens and the last after the first, else NaN; TTFT = first content token
// − send for a successful request that got one, else −1.
type Request struct {
	// Session is the cluster the bootstrap resamples: requests with equal
	// keys are resampled together. Use one key per session replay by one
	// user (shard, user, session id) — the turns of a session share their
	// context and are correlated; a user's key also works.
	Session string
	// Speed is the output speed, tok/s: NaN when undefined.
	Speed float64
	// TTFT is the time to first token; negative when there was none.
	TTFT time.Duration
	// Failed marks an error (an error message or a non-2xx status). A
	// failed request counts in the error rate only: its Speed and TTFT are
	// ignored, as analyze ignores them.
	Failed bool
}

// Options tune the bootstrap. The zero value means the defaults.
type Options struct {
	// Replicates is the number of bootstrap replicates (0: 1000).
	Replicates int
	// Confidence is the two-sided confidence of every interval, in (0, 1)
	// (0: 0.90).
	Confidence float64
	// Seed seeds the random draws. The draws also mix in a hash of the
	// input, so two windows given the same Seed are still resampled
	// independently, and the same input with the same Seed always gives
	// the same figures.
	Seed uint64
}

func (o Options) normalized() (Options, error) {
	if o.Replicates == 0 {
		o.Replicates = DefaultReplicates
	}
	if o.Confidence == 0 {
		o.Confidence = DefaultConfidence
	}
	if o.Replicates < 20 {
		return o, fmt.Errorf("%d bootstrap replicates are too few to place a %g %% interval; give at least 20 (1000 is the default)", o.Replicates, 100*o.Confidence)
	}
	if !(o.Confidence > 0 && o.Confidence < 1) {
		return o, fmt.Errorf("confidence %v must be a fraction in (0, 1), e.g. 0.9", o.Confidence)
	}
	return o, nil
}

// Estimate is a point figure with its confidence interval [Lo, Hi]. Lo ≤
// Point ≤ Hi always (the interval is widened to hold the point). An end is
// ±Inf when the data cannot bound it; all three are NaN when the figure is
// undefined (a level with no request that measured it).
type Estimate struct {
	Point float64 `json:"point"`
	Lo    float64 `json:"lo"`
	Hi    float64 `json:"hi"`
}

// WholeUsers returns a max-users estimate in whole users, each finite
// figure rounded down: a system sustains 62 users, not 62.6, so every
// printed max-users figure (analyze's formats, the search's stop reason)
// reads the same.
func (e Estimate) WholeUsers() Estimate {
	f := func(x float64) float64 {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return x
		}
		return math.Floor(x + 1e-9)
	}
	return Estimate{Point: f(e.Point), Lo: f(e.Lo), Hi: f(e.Hi)}
}

// MarshalJSON encodes the estimate as {"point", "lo", "hi"}, with null for
// a non-finite value (JSON has no NaN or ∞): a null end is unbounded, a
// null point undefined.
func (e Estimate) MarshalJSON() ([]byte, error) {
	num := func(f float64) string {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return "null"
		}
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return []byte(`{"point":` + num(e.Point) + `,"lo":` + num(e.Lo) + `,"hi":` + num(e.Hi) + `}`), nil
}

func nanEstimate() Estimate { return Estimate{math.NaN(), math.NaN(), math.NaN()} }

// Verdict is a level's judgement at a tier, given the uncertainty of its
// figures. The zero value is Uncertain.
type Verdict int8

// Verdicts.
const (
	// Uncertain: the interval of some figure straddles its limit and none
	// is clearly missed — more data would decide it.
	Uncertain Verdict = iota
	// Pass: every figure's interval is on the passing side of its limit.
	Pass
	// Fail: some figure's whole interval is on the failing side.
	Fail
)

// String returns "uncertain", "pass" or "fail".
func (v Verdict) String() string {
	switch v {
	case Pass:
		return "pass"
	case Fail:
		return "fail"
	}
	return "uncertain"
}

// MarshalText encodes the verdict as its String.
func (v Verdict) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// Level is a level's figures with their uncertainty, at every tier it was
// assessed at. Make it with Assess.
type Level struct {
	// Users is the level's concurrency.
	Users int `json:"users"`
	// Requests counts the steady-state requests, Errors the failed ones,
	// Sessions the distinct Session keys (the clusters resampled).
	Requests int64 `json:"requests"`
	Errors   int64 `json:"errors"`
	Sessions int   `json:"sessions"`
	// Replicates and Confidence are the bootstrap's settings.
	Replicates int     `json:"replicates"`
	Confidence float64 `json:"confidence"`
	// Tiers holds one result per tier, in the order given to Assess.
	Tiers []TierResult `json:"tiers"`
	// Sampled is the sessions bootstrapped when they were a sample of the
	// window's (AssessSample); 0 when every session was.
	Sampled int `json:"sampled_sessions,omitempty"`
	// Notes says what limits the figures (few sessions, …); empty when
	// nothing does.
	Notes []string `json:"notes,omitempty"`
}

// TierResult is a level's judgement at one tier.
type TierResult struct {
	// Tier is the tier's Name.
	Tier string `json:"tier"`
	// Speed is the output speed at the tier's SpeedPercentile, tok/s (NaN
	// without a speed floor or a measurable request).
	Speed Estimate `json:"speed"`
	// TTFT is the time to first token at the tier's TTFTPercentile,
	// milliseconds (NaN without a TTFT ceiling or a first token).
	TTFT Estimate `json:"ttft_ms"`
	// ErrorRate is the failed fraction of requests, 0–1.
	ErrorRate Estimate `json:"error_rate"`
	// Margin is the worst normalised slack of the tier's limits, clamped
	// to [−1, 1]: (speed − floor) ÷ floor, (ceiling − TTFT) ÷ ceiling and
	// (max error rate − error rate) ÷ max error rate (÷ 1 % when no error
	// is allowed). The level passes the tier's rule when Margin.Point ≥ 0.
	// Its interval takes each limit's worst (and best) end: Lo is the
	// smallest of the slacks' lower ends, Hi the smallest of their upper
	// ends.
	Margin Estimate `json:"margin"`
	// Verdict is Pass when Margin.Lo ≥ 0, Fail when Margin.Hi < 0, else
	// Uncertain. A level without requests fails.
	Verdict Verdict `json:"verdict"`
	// Reasons says which limits are missed or undecided; empty on Pass.
	Reasons []string `json:"reasons,omitempty"`

	// margins are the replicate margins Fit resamples; marginVar is their
	// variance (1 when it is unknown), which Fit floors at minVar and
	// weighs the window by.
	margins   []float64
	marginVar float64
}

// Assess bootstraps one steady-state window of a level: the requests are
// grouped into sessions (Request.Session), and each replicate draws as many
// sessions with replacement, so the correlation of a session's requests is
// kept. Every tier is judged on the same replicates. The point figures are
// the full sample's (analyze's own figures: same percentile definition).
// Intervals are at opt.Confidence: for the percentiles, bootstrap-t
// intervals with Woodruff standard errors from SmallSample sessions up,
// and below that Hesterberg's expanded percentile intervals; for the error
// rate, the expanded percentile interval widened to hold the Wilson score
// interval, so a clean small sample does not claim a zero error rate. A
// level with one session gets unbounded intervals and Uncertain verdicts;
// one without requests fails.
//
// Intended caller: analyze, once per level and window, with the level's
// tiers; replay's search, once per window it runs.
func Assess(users int, reqs []Request, tiers []Tier, opt Options) (*Level, error) {
	return assess(users, reqs, nil, tiers, opt)
}

// Whole describes the whole steady-state window of a level when Assess is
// given only a sample of its sessions (AssessSample): its own point figures
// and counts, which the sample's replicates are re-centred on.
type Whole struct {
	// Sessions counts the window's sessions (the sample's clusters are a
	// subset); Requests and Errors its steady requests and failed ones.
	Sessions int
	Requests int64
	Errors   int64
	// Speed returns the window's output-speed percentile p (0–100), tok/s,
	// and TTFT its TTFT percentile p, ms: the figures of every request,
	// by PercentileOf's definition (NaN when none has one).
	Speed, TTFT func(p float64) float64
}

// AssessSample is Assess for a window too large to resample whole: reqs
// holds every request of a simple random sample of the window's sessions
// (each session in or out as a unit, e.g. by a hash of its key), and whole
// the window's own figures. The point figures are whole's. The intervals
// come from bootstrapping the sample, each replicate moved to whole's
// point and its deviation scaled by √(sample sessions ÷ whole sessions),
// the ratio of the two sample sizes' standard errors: a percentile's
// standard error falls as one over the square root of the sessions. The
// error rate's Wilson bound uses whole's counts. A whole with no more
// sessions than the sample is assessed like Assess (with whole's points).
//
// Intended caller: analyze, for levels with more requests than it
// bootstraps (the cost of Assess grows with the requests: 0.4 s for
// 200,000).
func AssessSample(users int, reqs []Request, whole Whole, tiers []Tier, opt Options) (*Level, error) {
	if whole.Speed == nil || whole.TTFT == nil {
		return nil, errors.New("the whole window's percentiles are missing; give Whole.Speed and Whole.TTFT")
	}
	if whole.Requests < int64(len(reqs)) || whole.Errors < 0 || whole.Errors > whole.Requests {
		return nil, fmt.Errorf("the whole window's %d requests (%d failed) cannot hold a sample of %d", whole.Requests, whole.Errors, len(reqs))
	}
	return assess(users, reqs, &whole, tiers, opt)
}

func assess(users int, reqs []Request, whole *Whole, tiers []Tier, opt Options) (*Level, error) {
	opt, err := opt.normalized()
	if err != nil {
		return nil, err
	}
	if len(tiers) == 0 {
		return nil, errors.New("no tier to judge the level at; give at least one")
	}
	for _, t := range tiers {
		if err := t.Validate(); err != nil {
			return nil, err
		}
	}
	if users < 0 {
		return nil, fmt.Errorf("users %d must be ≥ 0", users)
	}
	s, err := prepare(reqs)
	if err != nil {
		return nil, err
	}
	lv := &Level{
		Users: users, Requests: int64(len(reqs)), Errors: s.totalFailed, Sessions: s.k,
		Replicates: opt.Replicates, Confidence: opt.Confidence,
	}
	if whole != nil {
		if whole.Sessions < s.k {
			return nil, fmt.Errorf("the whole window's %d sessions cannot hold a sample of %d", whole.Sessions, s.k)
		}
		s.whole = whole
		lv.Requests, lv.Errors, lv.Sessions = whole.Requests, whole.Errors, whole.Sessions
		if whole.Sessions > s.k {
			lv.Sampled = s.k
			lv.Notes = append(lv.Notes, fmt.Sprintf("intervals from a sample of %d of the %d sessions (%d of %d requests), scaled to the whole window", s.k, whole.Sessions, len(reqs), whole.Requests))
		}
	}
	if len(reqs) == 0 { // fails, as in analyze, and is fitted as failing
		fail := make([]float64, opt.Replicates)
		for i := range fail {
			fail[i] = -1
		}
		for _, t := range tiers {
			lv.Tiers = append(lv.Tiers, TierResult{
				Tier: t.Name, Speed: nanEstimate(), TTFT: nanEstimate(), ErrorRate: nanEstimate(),
				Margin: Estimate{-1, -1, -1}, Verdict: Fail, Reasons: []string{"no steady-state requests"},
				margins: fail, marginVar: minVar,
			})
		}
		return lv, nil
	}
	switch {
	case s.k == 1:
		lv.Notes = append(lv.Notes, "1 session: nothing to resample, so the intervals are unbounded and every verdict is uncertain")
	case s.k < SmallSample:
		lv.Notes = append(lv.Notes, fmt.Sprintf("%d sessions: few to resample; the intervals are widened for the small sample", s.k))
	}
	student := s.k >= SmallSample
	reps := s.bootstrap(tiers, opt, inputHash(users, reqs, opt.Seed), student)
	if whole != nil {
		s.rescale(tiers, reps)
	}
	for ti, t := range tiers {
		lv.Tiers = append(lv.Tiers, s.judge(t, reps[ti], opt.Confidence, student))
	}
	return lv, nil
}

// sample is a level's requests grouped for resampling.
type sample struct {
	k                     int     // sessions
	n, failed             []int32 // per session: requests, failed requests
	nSpeed, nTTFT         []int32 // per session: requests with a speed, a TTFT
	speed, ttft           weighted
	totalFailed           int64
	speedSorted, ttftSort []float64 // the full sample, ascending (ttft in ms)
	// whole, when set, is the window the sample was drawn from: its points
	// and counts replace the sample's (AssessSample).
	whole *Whole
}

// points returns the point figures a tier is judged on: the sample's, or
// the whole window's (speed and TTFT NaN without the tier's limit), and
// the request and failure counts behind the error rate.
func (s *sample) points(t Tier) (speed, ttft float64, n, failed int64) {
	speed, ttft = math.NaN(), math.NaN()
	if s.whole != nil {
		if t.SpeedFloor > 0 {
			speed = s.whole.Speed(t.SpeedPercentile)
		}
		if t.TTFTCeiling > 0 {
			ttft = s.whole.TTFT(t.TTFTPercentile)
		}
		return speed, ttft, s.whole.Requests, s.whole.Errors
	}
	for _, c := range s.n {
		n += int64(c)
	}
	if t.SpeedFloor > 0 {
		speed = Percentile(s.speedSorted, t.SpeedPercentile)
	}
	if t.TTFTCeiling > 0 {
		ttft = Percentile(s.ttftSort, t.TTFTPercentile)
	}
	return speed, ttft, n, s.totalFailed
}

// rescale moves every tier's replicates from the sample's point figures
// to the whole window's and scales their deviations by √(k ÷ K), k
// sessions sampled of K (see AssessSample), then recomputes the margins.
func (s *sample) rescale(tiers []Tier, reps []replicates) {
	f := 1.0
	if s.whole.Sessions > 0 {
		f = math.Sqrt(float64(s.k) / float64(s.whole.Sessions))
	}
	var n int64
	for _, c := range s.n {
		n += int64(c)
	}
	move := func(xs []float64, from, to, lo, hi float64) {
		for i, x := range xs {
			if math.IsNaN(x) {
				continue
			}
			if math.IsNaN(from) || math.IsNaN(to) {
				xs[i] = to
				continue
			}
			xs[i] = min(max(to+f*(x-from), lo), hi)
		}
	}
	for i, t := range tiers {
		r := &reps[i]
		if t.SpeedFloor > 0 {
			move(r.speed, Percentile(s.speedSorted, t.SpeedPercentile), s.whole.Speed(t.SpeedPercentile), 0, math.Inf(1))
		}
		if t.TTFTCeiling > 0 {
			move(r.ttft, Percentile(s.ttftSort, t.TTFTPercentile), s.whole.TTFT(t.TTFTPercentile), 0, math.Inf(1))
		}
		rate := math.NaN()
		if n > 0 {
			rate = float64(s.totalFailed) / float64(n)
		}
		wholeRate := 0.0
		if s.whole.Requests > 0 {
			wholeRate = float64(s.whole.Errors) / float64(s.whole.Requests)
		}
		move(r.errRate, rate, wholeRate, 0, 1)
		for b := range r.margin {
			r.margin[b] = margin(t, r.speed[b], r.ttft[b], r.errRate[b])
		}
	}
}

// metricSample is one metric's values and per-session counts.
type metricSample struct {
	w    *weighted
	nPer []int32
}

func (s *sample) metric(ttft bool) metricSample {
	if ttft {
		return metricSample{&s.ttft, s.nTTFT}
	}
	return metricSample{&s.speed, s.nSpeed}
}

func prepare(reqs []Request) (*sample, error) {
	s := &sample{}
	index := map[string]int32{}
	type vc struct {
		v float64
		c int32
	}
	var sp, tt []vc
	for i, r := range reqs {
		c, ok := index[r.Session]
		if !ok {
			c = int32(len(s.n))
			index[r.Session] = c
			s.n = append(s.n, 0)
			s.failed = append(s.failed, 0)
			s.nSpeed = append(s.nSpeed, 0)
			s.nTTFT = append(s.nTTFT, 0)
		}
		s.n[c]++
		if r.Failed {
			s.failed[c]++
			s.totalFailed++
			continue
		}
		if !math.IsNaN(r.Speed) {
			if r.Speed < 0 || math.IsInf(r.Speed, 0) {
				return nil, fmt.Errorf("request %d (session %q): output speed %v tok/s is negative or infinite; give NaN for a request without a measurable speed", i, r.Session, r.Speed)
			}
			sp = append(sp, vc{r.Speed, c})
			s.nSpeed[c]++
		}
		if r.TTFT >= 0 {
			tt = append(tt, vc{float64(r.TTFT) / 1e6, c}) // ms, as analyze
			s.nTTFT[c]++
		}
	}
	s.k = len(s.n)
	byValue := func(a, b vc) int {
		switch {
		case a.v < b.v:
			return -1
		case a.v > b.v:
			return 1
		}
		return int(a.c - b.c)
	}
	slices.SortFunc(sp, byValue)
	slices.SortFunc(tt, byValue)
	split := func(x []vc) (weighted, []float64) {
		w := weighted{vals: make([]float64, len(x)), cl: make([]int32, len(x))}
		for i, e := range x {
			w.vals[i], w.cl[i] = e.v, e.c
		}
		return w, w.vals
	}
	s.speed, s.speedSorted = split(sp)
	s.ttft, s.ttftSort = split(tt)
	return s, nil
}

// inputHash mixes the input into the seed, so distinct windows draw
// distinct replicates while the same input stays reproducible.
func inputHash(users int, reqs []Request, seed uint64) uint64 {
	h := fnv.New64a()
	var b [8]byte
	put := func(x uint64) {
		binary.LittleEndian.PutUint64(b[:], x)
		h.Write(b[:])
	}
	put(seed)
	put(uint64(users))
	put(uint64(len(reqs)))
	for _, r := range reqs {
		h.Write([]byte(r.Session))
		put(math.Float64bits(r.Speed))
		put(uint64(r.TTFT))
		if r.Failed {
			put(1)
		}
	}
	return h.Sum64()
}

// replicates holds one tier's bootstrap figures, one entry per replicate:
// speed and ttft are studentized pseudo-replicates (see bootstrap), errRate
// the replicates' own error rates, margin the tier's margin on those.
type replicates struct {
	speed, ttft, errRate, margin []float64
}

// pct is one percentile of one metric, computed once per replicate for
// every tier that judges it.
type pct struct {
	p    float64
	ttft bool // else output speed
	// point and se are the full sample's percentile and its Woodruff
	// standard error.
	point, se float64
}

// bootstrap draws opt.Replicates session resamples and returns every
// tier's figures on each. With student, the percentiles are studentized
// (bootstrap-t): replicate b gives t_b = (θ*_b − θ̂) ÷ se*_b with Woodruff
// standard errors, and the pseudo-replicate θ̂ − t_b·se(θ̂) (≥ 0), whose
// percentile interval is the bootstrap-t interval. Percentile intervals of
// a quantile undercovered in docs/capacity.md's tests: a window that draws
// few slow sessions both overestimates P25 and shows a narrow bootstrap
// spread, and studentizing corrects that. Without student (few sessions,
// where standard errors from a handful of clusters are unstable), the
// replicates are the plain θ*_b.
func (s *sample) bootstrap(tiers []Tier, opt Options, seed uint64, student bool) []replicates {
	B := opt.Replicates
	out := make([]replicates, len(tiers))
	for i := range out {
		out[i] = replicates{make([]float64, B), make([]float64, B), make([]float64, B), make([]float64, B)}
	}
	var pcts []pct
	pIndex := func(p float64, ttft bool) int {
		if i := slices.IndexFunc(pcts, func(x pct) bool { return x.p == p && x.ttft == ttft }); i >= 0 {
			return i
		}
		pcts = append(pcts, pct{p: p, ttft: ttft})
		return len(pcts) - 1
	}
	spIdx := make([]int, len(tiers))
	ttIdx := make([]int, len(tiers))
	for i, t := range tiers {
		spIdx[i], ttIdx[i] = -1, -1
		if t.SpeedFloor > 0 {
			spIdx[i] = pIndex(t.SpeedPercentile, false)
		}
		if t.TTFTCeiling > 0 {
			ttIdx[i] = pIndex(t.TTFTPercentile, true)
		}
	}
	w := make([]int32, s.k)
	acc := make([]float64, s.k)
	var touched []int32
	var wk walker
	// per replicate: requests, failures, values with a speed and a TTFT,
	// Σ over draws of the squared per-session value counts, and per
	// percentile its pivot's skipped weight and Woodruff sums
	var n, f, ns, nt int64
	var ns2, nt2 float64
	base := make([]int64, len(pcts))
	bw := make([]float64, len(pcts))
	bn := make([]float64, len(pcts))
	pivots := make([]*pivot, len(pcts))
	pivN := make([][]int32, len(pcts)) // each percentile's per-session value counts
	for i := range pcts {
		pivN[i] = s.metric(pcts[i].ttft).nPer
	}
	draw := func(c int) {
		w[c]++
		n += int64(s.n[c])
		f += int64(s.failed[c])
		ns += int64(s.nSpeed[c])
		nt += int64(s.nTTFT[c])
		ns2 += float64(s.nSpeed[c]) * float64(s.nSpeed[c])
		nt2 += float64(s.nTTFT[c]) * float64(s.nTTFT[c])
		for i, pv := range pivots {
			if pv == nil {
				continue
			}
			b := pv.below[c]
			base[i] += int64(b)
			bw[i] += float64(b) * float64(b)
			bn[i] += float64(b) * float64(pivN[i][c])
		}
	}
	stat := func(i int) (theta, se, sep float64) {
		p := &pcts[i]
		m := s.metric(p.ttft)
		tot, sum2 := ns, ns2
		if p.ttft {
			tot, sum2 = nt, nt2
		}
		theta = wk.percentile(m.w, w, tot, p.p, pivots[i], base[i], bw[i], bn[i])
		if !student {
			return theta, 0, 0
		}
		se, sep = wk.woodruffSE(m.nPer, s.k, sum2, p.p, theta, acc, &touched)
		return theta, se, sep
	}
	for c := range s.k {
		draw(c)
	}
	for i := range pcts {
		var sep float64
		pcts[i].point, pcts[i].se, sep = stat(i)
		// every replicate's percentile lies within a few se_p of the full
		// sample's: skip the values beyond 4 of them
		if student {
			pv := newPivot(s.metric(pcts[i].ttft).w, s.k, pcts[i].p, 4*sep)
			pivots[i] = &pv
		}
	}
	vals := make([]float64, len(pcts))
	r := newRNG(seed, 0x9e3779b97f4a7c15)
	for b := range B {
		clear(w)
		n, f, ns, nt, ns2, nt2 = 0, 0, 0, 0, 0, 0
		clear(base)
		clear(bw)
		clear(bn)
		for range s.k {
			draw(r.intn(s.k))
		}
		for i := range pcts {
			th, se, _ := stat(i)
			if student {
				th = max(studentized(pcts[i].point, pcts[i].se, th, se), 0)
			}
			vals[i] = th
		}
		rate := float64(f) / float64(n)
		for i, t := range tiers {
			o := &out[i]
			o.speed[b], o.ttft[b] = math.NaN(), math.NaN()
			if spIdx[i] >= 0 {
				o.speed[b] = vals[spIdx[i]]
			}
			if ttIdx[i] >= 0 {
				o.ttft[b] = vals[ttIdx[i]]
			}
			o.errRate[b] = rate
			o.margin[b] = margin(t, o.speed[b], o.ttft[b], rate)
		}
	}
	return out
}

// studentized returns the bootstrap-t pseudo-replicate θ̂ − t·se of a
// replicate th with standard error seStar: NaN when th is (no value in the
// replicate), θ̂ when the full sample's se is 0 (nothing to scale). The
// replicate's standard error is floored at half the full sample's: ties
// can make it 0, and dividing by it then blows the interval up (a window
// whose TTFTs were all 300–319 ms got a P95 interval reaching 30 s); in
// the coverage test the floor left coverage unchanged (89.8 % against
// 89.6 %, 1000 searches).
func studentized(point, se, th, seStar float64) float64 {
	switch {
	case math.IsNaN(th):
		return math.NaN()
	case se == 0 || th == point:
		return point
	}
	return point - (th-point)/max(seStar, se/2)*se
}

// slacks returns a tier's normalised slack of each limit, each clamped to
// [−1, 1]; +1 (never binding) for a limit the tier does not have. An
// undefined speed counts as 0 tok/s and an undefined TTFT as infinite:
// both fail, as in analyze's rule.
func slacks(t Tier, speed, ttftMS, rate float64) (sp, tt, er float64) {
	sp, tt = 1, 1
	if t.SpeedFloor > 0 {
		if math.IsNaN(speed) {
			speed = 0
		}
		sp = clamp1((speed - t.SpeedFloor) / t.SpeedFloor)
	}
	if t.TTFTCeiling > 0 {
		c := float64(t.TTFTCeiling) / 1e6
		if math.IsNaN(ttftMS) {
			ttftMS = math.Inf(1)
		}
		// to whole nanoseconds first, as analyze compares durations
		tt = clamp1((c - math.Round(ttftMS*1e6)/1e6) / c)
	}
	scale := t.MaxErrorRate
	if scale == 0 {
		scale = errorScale
	}
	er = clamp1((t.MaxErrorRate - rate) / scale)
	return sp, tt, er
}

func margin(t Tier, speed, ttftMS, rate float64) float64 {
	sp, tt, er := slacks(t, speed, ttftMS, rate)
	return min(sp, tt, er)
}

func clamp1(x float64) float64 {
	if math.IsNaN(x) {
		return -1
	}
	return min(max(x, -1), 1)
}

// interval returns the [tail, 1−tail] percentile interval of replicate
// values xs (NaNs replaced by undef, the failing stand-in), widened to hold
// point; with tail 0 (one session) it is [lo, hi], the variable's range.
func interval(point float64, xs []float64, undef, tail, lo, hi float64) Estimate {
	if math.IsNaN(point) {
		return nanEstimate()
	}
	if tail == 0 {
		return Estimate{point, lo, hi}
	}
	s := make([]float64, len(xs))
	for i, x := range xs {
		if math.IsNaN(x) {
			x = undef
		}
		s[i] = x
	}
	slices.Sort(s)
	return Estimate{point, min(quantileType7(s, tail), point), max(quantileType7(s, 1-tail), point)}
}

// judge turns one tier's replicates into its TierResult. student says the
// percentile replicates are studentized (see bootstrap): their interval
// takes the plain tails; otherwise, and always for the error rate, the
// tails of the expanded percentile interval.
func (s *sample) judge(t Tier, r replicates, conf float64, student bool) TierResult {
	tr := TierResult{Tier: t.Name, Speed: nanEstimate(), TTFT: nanEstimate()}
	inf := math.Inf(1)
	pointSpeed, pointTTFT, n, failed := s.points(t)
	expanded := expandedTail(conf, s.k, int(math.Round(keff(s.n)))-1)
	tail := expanded
	if student {
		tail = (1 - conf) / 2
	}
	pointRate := float64(failed) / float64(n)
	tr.ErrorRate = interval(pointRate, r.errRate, 0, expanded, 0, 1)
	wlo, whi := wilson(failed, n, conf)
	tr.ErrorRate.Lo = min(tr.ErrorRate.Lo, wlo)
	tr.ErrorRate.Hi = max(tr.ErrorRate.Hi, whi)
	if failed > 0 {
		// an observed error proves the rate is above zero: a tier that
		// allows none is failed for certain
		tr.ErrorRate.Lo = max(tr.ErrorRate.Lo, math.SmallestNonzeroFloat64)
	}
	if t.SpeedFloor > 0 {
		tr.Speed = interval(pointSpeed, r.speed, 0, tail, 0, inf)
	}
	if t.TTFTCeiling > 0 {
		tr.TTFT = interval(pointTTFT, r.ttft, inf, tail, 0, inf)
	}

	// slack bounds: the interval end that is worse for the limit gives Lo
	spP, ttP, erP := slacks(t, pointSpeed, pointTTFT, pointRate)
	spL, ttL, erL := slacks(t, tr.Speed.Lo, tr.TTFT.Hi, tr.ErrorRate.Hi)
	spH, ttH, erH := slacks(t, tr.Speed.Hi, tr.TTFT.Lo, tr.ErrorRate.Lo)
	tr.Margin = Estimate{min(spP, ttP, erP), min(spL, ttL, erL), min(spH, ttH, erH)}
	switch {
	case tr.Margin.Lo >= 0:
		tr.Verdict = Pass
	case tr.Margin.Hi < 0:
		tr.Verdict = Fail
	default:
		tr.Verdict = Uncertain
	}
	tr.Reasons = reasons(t, tr, conf, [3][2]float64{{spL, spH}, {ttL, ttH}, {erL, erH}}, pointRate)

	// the replicates Fit resamples, and their variance: the point alone
	// for one session; spread like the expanded interval when not
	// studentized
	switch {
	case expanded == 0:
		tr.margins = make([]float64, len(r.margin))
		for i := range tr.margins {
			tr.margins[i] = tr.Margin.Point
		}
		tr.marginVar = 1
		return tr
	case student:
		tr.margins = r.margin
	default:
		tr.margins = expand(r.margin, normalQuantile(expanded)/normalQuantile((1-conf)/2))
	}
	tr.marginVar = variance(tr.margins)
	return tr
}

// reasons says which of a tier's limits are missed or undecided; sl holds
// each limit's slack interval (speed, TTFT, error rate).
func reasons(t Tier, tr TierResult, conf float64, sl [3][2]float64, rate float64) []string {
	var out []string
	pc := strconv.FormatFloat(100*conf, 'f', -1, 64) + " %"
	state := func(i int) string {
		switch {
		case sl[i][0] >= 0:
			return ""
		case sl[i][1] < 0:
			return "misses"
		}
		return "straddles"
	}
	if st := state(0); t.SpeedFloor > 0 && st != "" {
		if math.IsNaN(tr.Speed.Point) {
			out = append(out, "no request with a measurable output speed")
		} else {
			out = append(out, fmt.Sprintf("P%s output speed %.1f tok/s (%s CI %s–%s) %s the floor %s tok/s",
				fmtNum(t.SpeedPercentile), tr.Speed.Point, pc, fmtEnd(tr.Speed.Lo, 1), fmtEnd(tr.Speed.Hi, 1), st, fmtNum(t.SpeedFloor)))
		}
	}
	if st := state(1); t.TTFTCeiling > 0 && st != "" {
		if math.IsNaN(tr.TTFT.Point) {
			out = append(out, "no request received a first token")
		} else {
			out = append(out, fmt.Sprintf("P%s TTFT %.0f ms (%s CI %s–%s ms) %s the ceiling %s",
				fmtNum(t.TTFTPercentile), tr.TTFT.Point, pc, fmtEnd(tr.TTFT.Lo, 0), fmtEnd(tr.TTFT.Hi, 0), st, t.TTFTCeiling))
		}
	}
	if st := state(2); st != "" {
		out = append(out, fmt.Sprintf("error rate %.2f %% (%s CI %.2f–%.2f %%) %s the limit %s %%",
			100*rate, pc, 100*tr.ErrorRate.Lo, 100*tr.ErrorRate.Hi, st, fmtNum(100*t.MaxErrorRate)))
	}
	return out
}

// expand maps replicates xs through their own quantile function so that
// their p-quantile becomes their old Φ(f·Φ⁻¹(p))-quantile: with f the ratio
// of the expanded to the plain normal quantile, the plain percentile
// interval of the result is the expanded percentile interval of xs, and the
// values stay within xs's range. Replicate i keeps its position.
func expand(xs []float64, f float64) []float64 {
	n := len(xs)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmpFloat(xs[a], xs[b]) })
	sorted := make([]float64, n)
	for r, i := range idx {
		sorted[r] = xs[i]
	}
	out := make([]float64, n)
	for r, i := range idx {
		p := (float64(r) + 0.5) / float64(n)
		out[i] = quantileType7(sorted, normalCDF(f*normalQuantile(p)))
	}
	return out
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// fmtEnd prints an interval end with prec decimals, "∞" when unbounded.
func fmtEnd(f float64, prec int) string {
	switch {
	case math.IsInf(f, 1):
		return "∞"
	case math.IsInf(f, -1):
		return "−∞"
	}
	return strconv.FormatFloat(f, 'f', prec, 64)
}
