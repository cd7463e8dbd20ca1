package capacity

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// truth is a synthetic system with a known capacity: per-request output
// speed and TTFT are log-normal around curves of the users, with a shared
// per-session factor (session-correlated noise), and failures come in
// sessions.
type truth struct {
	// speed: median S1/(1+u/U0)^Gamma tok/s; log-sd SigmaS per session and
	// SigmaR per request.
	S1, U0, Gamma  float64
	SigmaS, SigmaR float64
	// ttft: median T0·(1+u/UT)² ms; log-sd SigmaT per session and per
	// request.
	T0, UT, SigmaT float64
	// failures: a session is faulty with probability min(1, E0·(u/UE)²);
	// a faulty session fails each request with probability 0.5.
	E0, UE float64
	// SessionsPerUser is the mean number of sessions a window sees per
	// user; ReqPerSession the mean requests per session (geometric).
	SessionsPerUser float64
	ReqPerSession   float64
	// Window is a whole window's common factor: every request's speed is
	// multiplied by exp(Window·Z) (0: none).
	Window float64
}

func (t truth) medianSpeed(u float64) float64 { return t.S1 / math.Pow(1+u/t.U0, t.Gamma) }
func (t truth) medianTTFT(u float64) float64  { return t.T0 * (1 + u/t.UT) * (1 + u/t.UT) }

// p returns the p-th percentile of the request-level distribution at u
// users: log-normal with the session and request variances added (request
// counts are independent of the session factor).
func (t truth) speedPct(u, p float64) float64 {
	return t.medianSpeed(u) * math.Exp(normalQuantile(p/100)*math.Hypot(t.SigmaS, t.SigmaR))
}

func (t truth) ttftPct(u, p float64) float64 {
	return t.medianTTFT(u) * math.Exp(normalQuantile(p/100)*math.Sqrt2*t.SigmaT)
}

func (t truth) errRate(u float64) float64 {
	return 0.5 * min(1, t.E0*(u/t.UE)*(u/t.UE))
}

// margin is the true margin of the tier at u users.
func (t truth) margin(tier Tier, u float64) float64 {
	return margin(tier, t.speedPct(u, tier.SpeedPercentile), t.ttftPct(u, tier.TTFTPercentile), t.errRate(u))
}

// maxUsers returns the true capacity: the u where the true margin crosses
// zero (bisection; the margin is decreasing in u).
func (t truth) maxUsers(tier Tier) float64 {
	lo, hi := 0.0, 1.0
	for t.margin(tier, hi) >= 0 {
		hi *= 2
	}
	for range 100 {
		mid := (lo + hi) / 2
		if t.margin(tier, mid) >= 0 {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// window draws one steady-state window at users.
func (t truth) window(r *rand.Rand, users int) []Request {
	u := float64(users)
	k := max(1, int(math.Round(u*t.SessionsPerUser*(0.8+0.4*r.Float64()))))
	wf := 1.0
	if t.Window > 0 {
		wf = math.Exp(t.Window * r.NormFloat64())
	}
	ms, mt := t.medianSpeed(u)*wf, t.medianTTFT(u)
	pFaulty := 2 * t.errRate(u)
	var reqs []Request
	for s := range k {
		key := fmt.Sprintf("s%d", s)
		zs, zt := r.NormFloat64(), r.NormFloat64()
		faulty := r.Float64() < pFaulty
		n := 1 + int(r.ExpFloat64()*(t.ReqPerSession-1))
		for range n {
			q := Request{Session: key}
			if faulty && r.Float64() < 0.5 {
				q.Failed, q.Speed, q.TTFT = true, math.NaN(), -1
			} else {
				q.Speed = ms * math.Exp(t.SigmaS*zs+t.SigmaR*r.NormFloat64())
				q.TTFT = time.Duration(mt * math.Exp(t.SigmaT*(zt+r.NormFloat64())) * 1e6)
			}
			reqs = append(reqs, q)
		}
	}
	return reqs
}

// demoTruth resembles the demo (8×H200, 100 tok/s tier): P25 speed near the
// floor around 40–60 users, TTFT far below its ceiling, rare errors.
var demoTruth = truth{
	S1: 220, U0: 50, Gamma: 1, SigmaS: 0.12, SigmaR: 0.1,
	T0: 60, UT: 40, SigmaT: 0.4,
	E0: 0.001, UE: 100,
	SessionsPerUser: 1.3, ReqPerSession: 25,
}

// aaTier is the gpt-oss-120b 100 tok/s tier with AA's rule.
var aaTier = Tier{Name: "100 tok/s", SpeedFloor: 100, SpeedPercentile: 25, TTFTCeiling: 5 * time.Second, TTFTPercentile: 95, MaxErrorRate: 0.01}

// randomTruth draws a truth around demoTruth with its capacity in a
// realistic range.
func randomTruth(r *rand.Rand) truth {
	t := demoTruth
	t.S1 = 160 + 120*r.Float64()
	t.U0 = 20 + 80*r.Float64()
	t.Gamma = 0.7 + 0.6*r.Float64()
	t.SigmaS = 0.05 + 0.15*r.Float64()
	t.SigmaR = 0.05 + 0.15*r.Float64()
	t.SessionsPerUser = 1 + r.Float64()
	t.ReqPerSession = 8 + 24*r.Float64()
	return t
}
