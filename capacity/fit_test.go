package capacity

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// marginLevel returns a level whose tier-0 margin replicates are normal
// around point with standard deviation sd (clamped to [−1, 1]), judged as
// Assess would judge a margin interval.
func marginLevel(users int, point, sd float64, seed uint64) *Level {
	r := rand.New(rand.NewPCG(seed, uint64(users)))
	ms := make([]float64, 1000)
	for i := range ms {
		ms[i] = clamp1(point + sd*r.NormFloat64())
	}
	s := sortedCopy(ms)
	m := Estimate{point, min(quantileType7(s, 0.05), point), max(quantileType7(s, 0.95), point)}
	v := Uncertain
	switch {
	case m.Lo >= 0:
		v = Pass
	case m.Hi < 0:
		v = Fail
	}
	return &Level{Users: users, Confidence: 0.9, Replicates: len(ms), Tiers: []TierResult{{
		Tier: "t", Margin: m, Verdict: v, margins: ms, marginVar: max(variance(ms), minVar),
	}}}
}

func TestFitBounded(t *testing.T) {
	// a margin falling 0.01 per user, crossing zero at 45 users
	var levels []*Level
	for _, u := range []int{10, 20, 30, 40, 50, 60} {
		levels = append(levels, marginLevel(u, 0.45-0.01*float64(u), 0.01, 1))
	}
	c, err := Fit(levels, 0, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Censored != Bounded || c.FitPass != 40 || c.FitFail != 50 {
		t.Errorf("censored %v, bracket %d–%d; want bounded, 40–50", c.Censored, c.FitPass, c.FitFail)
	}
	// geometric interpolation between 40 (+0.05) and 50 (−0.05)
	if want := 40 * math.Sqrt(50.0/40); math.Abs(c.MaxUsers.Point-want) > 1e-9 {
		t.Errorf("max users %v, want %v", c.MaxUsers.Point, want)
	}
	if !(c.MaxUsers.Lo < c.MaxUsers.Point && c.MaxUsers.Point < c.MaxUsers.Hi) {
		t.Errorf("interval %+v, want a bounded interval around the point", c.MaxUsers)
	}
	if c.HighestPassing != 40 || c.Windows != 6 || !slices.Equal(c.Users, []int{10, 20, 30, 40, 50, 60}) {
		t.Errorf("highest passing %d, windows %d, users %v", c.HighestPassing, c.Windows, c.Users)
	}
	// Three windows near the crossing leave one degree of freedom for the
	// windows' scatter around a line in log users, and that scatter's
	// uncertainty widens the interval; the search's confirming repeats of
	// the bracket (40 and 50 users) narrow it to inside the bracket.
	confirmed := append(slices.Clone(levels), marginLevel(40, 0.05, 0.01, 2), marginLevel(50, -0.05, 0.01, 2))
	cc, err := Fit(confirmed, 0, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !(cc.MaxUsers.Lo > 40 && cc.MaxUsers.Hi < 50) || cc.MaxUsers.Hi-cc.MaxUsers.Lo >= c.MaxUsers.Hi-c.MaxUsers.Lo {
		t.Errorf("with the bracket repeated: interval %+v, want inside 40–50 and narrower than %+v", cc.MaxUsers, c.MaxUsers)
	}
	// noisier margins, wider interval
	var noisy []*Level
	for _, u := range []int{10, 20, 30, 40, 50, 60} {
		noisy = append(noisy, marginLevel(u, 0.45-0.01*float64(u), 0.04, 1))
	}
	cn, _ := Fit(noisy, 0, Options{})
	if cn.MaxUsers.Hi-cn.MaxUsers.Lo <= c.MaxUsers.Hi-c.MaxUsers.Lo {
		t.Errorf("noisier margins: interval %+v, want wider than %+v", cn.MaxUsers, c.MaxUsers)
	}
}

func TestFitCensored(t *testing.T) {
	var pass, fail []*Level
	for _, u := range []int{1, 2, 4, 8} {
		pass = append(pass, marginLevel(u, 0.5, 0.02, 2))
		fail = append(fail, marginLevel(u, -0.3, 0.02, 2))
	}
	c, _ := Fit(pass, 0, Options{})
	if c.Censored != Above || c.MaxUsers.Point != 8 || !math.IsInf(c.MaxUsers.Hi, 1) || c.MaxUsers.Lo > 8 {
		t.Errorf("all pass: %v %+v, want above, point 8, Hi +Inf", c.Censored, c.MaxUsers)
	}
	if !slices.ContainsFunc(c.Notes, func(s string) bool { return strings.Contains(s, "at least 8 users") }) {
		t.Errorf("all pass: notes %q", c.Notes)
	}
	c, _ = Fit(fail, 0, Options{})
	if c.Censored != Below || c.MaxUsers.Point != 0 || c.MaxUsers.Lo != 0 || c.MaxUsers.Hi < 1 || c.HighestPassing != 0 {
		t.Errorf("none passes: %v %+v (highest passing %d), want below, 0–≥1", c.Censored, c.MaxUsers, c.HighestPassing)
	}
	if !slices.ContainsFunc(c.Notes, func(s string) bool { return strings.Contains(s, "below 1 users") }) {
		t.Errorf("none passes: notes %q", c.Notes)
	}
}

// TestFitMonotone: a level that passes above a failing one (noise) is
// pooled with it, not taken as the capacity; HighestPassing still reports
// it, as analyze does.
func TestFitMonotone(t *testing.T) {
	levels := []*Level{
		marginLevel(10, 0.3, 0.01, 3),
		marginLevel(20, -0.02, 0.01, 3),
		marginLevel(30, 0.01, 0.01, 3),
		marginLevel(40, -0.3, 0.01, 3),
	}
	c, _ := Fit(levels, 0, Options{})
	if c.HighestPassing != 30 {
		t.Errorf("highest passing %d, want 30", c.HighestPassing)
	}
	if c.Fitted[1] != c.Fitted[2] || math.Abs(c.Fitted[1]+0.005) > 1e-9 {
		t.Errorf("fitted %v: want 20 and 30 pooled at −0.005", c.Fitted)
	}
	if c.FitPass != 10 || c.FitFail != 20 || c.MaxUsers.Point >= 20 {
		t.Errorf("bracket %d–%d, max users %v; want 10–20 and below 20", c.FitPass, c.FitFail, c.MaxUsers.Point)
	}
}

// TestFitRepeats: repeated windows that agree are pooled and narrow the
// interval; repeats that disagree beyond their errors add heterogeneity and
// widen it.
func TestFitRepeats(t *testing.T) {
	base := []*Level{marginLevel(20, 0.2, 0.02, 4), marginLevel(30, 0.05, 0.03, 4), marginLevel(40, -0.1, 0.02, 4)}
	c1, _ := Fit(base, 0, Options{})
	agree := append(slices.Clone(base), marginLevel(30, 0.05, 0.03, 5), marginLevel(30, 0.05, 0.03, 6))
	c2, _ := Fit(agree, 0, Options{})
	if c2.Heterogeneity != 0 {
		t.Errorf("agreeing repeats: heterogeneity %v, want 0", c2.Heterogeneity)
	}
	if w1, w2 := c1.MaxUsers.Hi-c1.MaxUsers.Lo, c2.MaxUsers.Hi-c2.MaxUsers.Lo; w2 >= w1 {
		t.Errorf("three windows at 30 users: width %v, want narrower than one window's %v", w2, w1)
	}
	disagree := append(slices.Clone(base), marginLevel(30, 0.25, 0.01, 5), marginLevel(30, -0.15, 0.01, 6))
	c3, _ := Fit(disagree, 0, Options{})
	if c3.Heterogeneity < 0.1 {
		t.Errorf("disagreeing repeats: heterogeneity %v, want ≥ 0.1", c3.Heterogeneity)
	}
	if !slices.ContainsFunc(c3.Notes, func(s string) bool { return strings.Contains(s, "scatter beyond") }) {
		t.Errorf("notes %q, want the heterogeneity note", c3.Notes)
	}
	if w3, w2 := c3.MaxUsers.Hi-c3.MaxUsers.Lo, c2.MaxUsers.Hi-c2.MaxUsers.Lo; w3 <= w2 {
		t.Errorf("disagreeing repeats: width %v, want wider than agreeing repeats' %v", w3, w2)
	}
}

func TestFitBadInput(t *testing.T) {
	l := marginLevel(10, 0.1, 0.01, 1)
	other := marginLevel(20, 0.1, 0.01, 1)
	other.Tiers[0].Tier = "other"
	bare := &Level{Users: 5, Tiers: []TierResult{{Tier: "t"}}}
	for _, c := range []struct {
		name   string
		levels []*Level
		tier   int
		want   string
	}{
		{"none", nil, 0, "no level"},
		{"tier out of range", []*Level{l}, 1, "no tier 1"},
		{"nil level", []*Level{l, nil}, 0, "level 1 has no tier"},
		{"tiers differ", []*Level{l, other}, 0, "assess every level with the same tiers"},
		{"not from Assess", []*Level{bare}, 0, "make levels with Assess"},
	} {
		if _, err := Fit(c.levels, c.tier, Options{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

// TestFitFromAssess: windows drawn from a known truth give an interval
// holding the true capacity (a single deterministic case; TestCoverage
// measures the rate).
func TestFitFromAssess(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	truth := demoTruth.maxUsers(aaTier)
	var levels []*Level
	for _, u := range []int{1, 2, 4, 8, 16, 32, 64, 48, 40, 56} {
		l, err := Assess(u, demoTruth.window(r, u), []Tier{aaTier}, Options{Seed: 2})
		if err != nil {
			t.Fatal(err)
		}
		levels = append(levels, l)
	}
	c, err := Fit(levels, 0, Options{Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxUsers.Lo > truth || c.MaxUsers.Hi < truth || c.Censored != Bounded {
		t.Errorf("max users %+v (%v), want a bounded interval holding the truth %.1f", c.MaxUsers, c.Censored, truth)
	}
}

func TestLackOfFit(t *testing.T) {
	line := func(u int) float64 { return 0.3 - 0.2*math.Log(float64(u)/10) }
	mk := func(us []int, jitter []float64, v float64) []window {
		var ws []window
		for i, u := range us {
			ws = append(ws, window{users: u, point: line(u) + jitter[i], v: v})
		}
		return ws
	}
	us := []int{32, 40, 44, 48, 56}
	if ts, ok := lackOfFit(mk(us, []float64{0, 0, 0, 0, 0}, 1e-4), 30, 60); !ok || ts.tau2() != 0 {
		t.Errorf("windows on a line: τ² %v (%v), want 0", ts.tau2(), ok)
	}
	// scatter of ±0.05 against errors of 0.01: τ well above 0.01
	ts, ok := lackOfFit(mk(us, []float64{0.05, -0.05, 0.05, -0.05, 0.05}, 1e-4), 30, 60)
	if !ok || math.Sqrt(ts.tau2()) < 0.03 {
		t.Errorf("scattered windows: τ %v (%v), want ≥ 0.03", math.Sqrt(ts.tau2()), ok)
	}
	// the same scatter within the windows' own errors: no extra variance
	if ts, _ := lackOfFit(mk(us, []float64{0.05, -0.05, 0.05, -0.05, 0.05}, 0.01), 30, 60); ts.tau2() != 0 {
		t.Errorf("scatter within errors: τ² %v, want 0", ts.tau2())
	}
	if _, ok := lackOfFit(mk(us, make([]float64, 5), 1e-4), 39, 45); ok {
		t.Error("two windows in range: want no estimate")
	}
	if _, ok := lackOfFit(mk([]int{40, 40, 40}, make([]float64, 3), 1e-4), 30, 60); ok {
		t.Error("one user count: want no estimate")
	}
}

// TestFitWindowScatter: without any repeat, levels near the crossing that
// scatter beyond their errors give a heterogeneity and a wider interval.
func TestFitWindowScatter(t *testing.T) {
	mk := func(jitter float64) *Capacity {
		var levels []*Level
		for i, u := range []int{16, 32, 40, 44, 48, 56, 64} {
			j := jitter
			if i%2 == 1 {
				j = -jitter
			}
			levels = append(levels, marginLevel(u, 0.45-0.01*float64(u)+j, 0.005, 7))
		}
		c, err := Fit(levels, 0, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	calm, rough := mk(0), mk(0.03)
	if calm.Heterogeneity != 0 {
		t.Errorf("levels on a line: heterogeneity %v, want 0", calm.Heterogeneity)
	}
	if rough.Heterogeneity < 0.01 {
		t.Errorf("levels scattered by ±0.03: heterogeneity %v, want ≥ 0.01", rough.Heterogeneity)
	}
	if w1, w2 := calm.MaxUsers.Hi-calm.MaxUsers.Lo, rough.MaxUsers.Hi-rough.MaxUsers.Lo; w2 <= w1 {
		t.Errorf("scattered levels: interval width %v, want wider than %v", w2, w1)
	}
}
