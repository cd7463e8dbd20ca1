package capacity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	goldenfile "github.com/agentperf/agentperf/internal/testutil/golden" // golden is this file's fixture type
)

// fixedWindow returns a deterministic window: sessions × perSession requests
// with speeds around speed tok/s (±spread, a per-session offset of
// sessionSpread), TTFT ttft, and the first failures requests failed.
func fixedWindow(sessions, perSession int, speed, spread, sessionSpread float64, ttft time.Duration, failures int) []Request {
	var reqs []Request
	for s := range sessions {
		so := sessionSpread * (float64(s)/float64(max(sessions-1, 1)) - 0.5)
		for j := range perSession {
			q := Request{
				Session: fmt.Sprintf("s%d", s),
				Speed:   speed + so + spread*(float64(j)/float64(max(perSession-1, 1))-0.5),
				TTFT:    ttft + time.Duration(j)*time.Millisecond,
			}
			if len(reqs) < failures {
				q.Failed = true
			}
			reqs = append(reqs, q)
		}
	}
	return reqs
}

func TestAssessVerdicts(t *testing.T) {
	sec := time.Second
	for _, c := range []struct {
		name        string
		reqs        []Request
		want        Verdict
		wantReason  string // a substring of some reason ("" for none)
		wantNote    string // a substring of some note
		wantFailMsg bool
	}{
		{"clear pass", fixedWindow(60, 30, 200, 40, 40, 200*time.Millisecond, 0), Pass, "", "", false},
		{"clear fail on speed", fixedWindow(60, 30, 50, 10, 10, 200*time.Millisecond, 0), Fail, "misses the floor", "", false},
		{"at the floor", fixedWindow(60, 30, 110, 40, 40, 200*time.Millisecond, 0), Uncertain, "straddles the floor", "", false},
		{"TTFT over the ceiling", fixedWindow(60, 30, 200, 40, 40, 8*sec, 0), Fail, "misses the ceiling", "", false},
		{"errors over the limit", fixedWindow(60, 30, 200, 40, 40, 200*time.Millisecond, 180), Fail, "error rate", "", false},
		{"clean but few requests", fixedWindow(10, 3, 200, 40, 40, 200*time.Millisecond, 0), Uncertain, "error rate 0.00 %", "10 sessions", false},
		{"one session", fixedWindow(1, 50, 200, 40, 0, 200*time.Millisecond, 0), Uncertain, "", "1 session", false},
		{"no requests", nil, Fail, "no steady-state requests", "", false},
		{"all failed", fixedWindow(40, 10, 200, 40, 40, 200*time.Millisecond, 400), Fail, "no request with a measurable output speed", "", false},
	} {
		l, err := Assess(40, c.reqs, []Tier{aaTier}, Options{Replicates: 400, Seed: 1})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		tr := l.Tiers[0]
		if tr.Verdict != c.want {
			t.Errorf("%s: verdict %v, want %v (margin %+v, reasons %q)", c.name, tr.Verdict, c.want, tr.Margin, tr.Reasons)
		}
		if c.wantReason != "" && !slices.ContainsFunc(tr.Reasons, func(r string) bool { return strings.Contains(r, c.wantReason) }) {
			t.Errorf("%s: reasons %q, want one containing %q", c.name, tr.Reasons, c.wantReason)
		}
		if c.want == Pass && len(tr.Reasons) != 0 {
			t.Errorf("%s: a pass with reasons %q", c.name, tr.Reasons)
		}
		if c.wantNote != "" && !slices.ContainsFunc(l.Notes, func(r string) bool { return strings.Contains(r, c.wantNote) }) {
			t.Errorf("%s: notes %q, want one containing %q", c.name, l.Notes, c.wantNote)
		}
		m := tr.Margin
		if !(m.Lo <= m.Point && m.Point <= m.Hi) {
			t.Errorf("%s: margin %+v: want Lo ≤ Point ≤ Hi", c.name, m)
		}
		// the point verdict is analyze's rule
		if (m.Point >= 0) != (c.want == Pass || (c.want == Uncertain && m.Point >= 0)) {
			t.Errorf("%s: point margin %v disagrees with verdict %v", c.name, m.Point, tr.Verdict)
		}
	}
}

// TestAssessPoint: the point figures are the full sample's, by
// Percentile's definition, with failed requests' figures ignored.
func TestAssessPoint(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	reqs := demoTruth.window(r, 40)
	reqs = append(reqs, Request{Session: "bad", Speed: 1, TTFT: time.Hour, Failed: true}) // ignored but for the error rate
	var speeds, ttfts []float64
	var failed int
	for _, q := range reqs {
		if q.Failed {
			failed++
			continue
		}
		speeds = append(speeds, q.Speed)
		ttfts = append(ttfts, float64(q.TTFT)/1e6)
	}
	slices.Sort(speeds)
	slices.Sort(ttfts)
	l, err := Assess(40, reqs, []Tier{aaTier}, Options{Replicates: 50})
	if err != nil {
		t.Fatal(err)
	}
	tr := l.Tiers[0]
	if want := Percentile(speeds, 25); tr.Speed.Point != want {
		t.Errorf("speed %v, want P25 %v", tr.Speed.Point, want)
	}
	if want := Percentile(ttfts, 95); tr.TTFT.Point != want {
		t.Errorf("TTFT %v ms, want P95 %v", tr.TTFT.Point, want)
	}
	if want := float64(failed) / float64(len(reqs)); tr.ErrorRate.Point != want {
		t.Errorf("error rate %v, want %v", tr.ErrorRate.Point, want)
	}
	if l.Requests != int64(len(reqs)) || l.Errors != int64(failed) {
		t.Errorf("requests %d errors %d, want %d %d", l.Requests, l.Errors, len(reqs), failed)
	}
}

// TestAssessDeterministic: the same input and seed give the same figures;
// another seed moves the interval ends, not the points.
func TestAssessDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	reqs := demoTruth.window(r, 50)
	a, _ := Assess(50, reqs, gptOSSTiers, Options{Seed: 3, Replicates: 300})
	b, _ := Assess(50, reqs, gptOSSTiers, Options{Seed: 3, Replicates: 300})
	if !reflect.DeepEqual(a, b) {
		t.Error("two Assess calls on the same input differ")
	}
	c, _ := Assess(50, reqs, gptOSSTiers, Options{Seed: 4, Replicates: 300})
	if c.Tiers[0].Speed.Point != a.Tiers[0].Speed.Point {
		t.Errorf("seed changed the point: %v vs %v", c.Tiers[0].Speed.Point, a.Tiers[0].Speed.Point)
	}
	if c.Tiers[0].Speed == a.Tiers[0].Speed {
		t.Error("seed 4 gave the same interval as seed 3")
	}
}

// TestAssessClusters: when a session's requests are correlated, resampling
// sessions gives a wider interval than pretending each request is its own
// session — the reason the bootstrap resamples sessions.
func TestAssessClusters(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	tr := demoTruth
	tr.SigmaS, tr.SigmaR = 0.25, 0.05 // strongly session-correlated
	reqs := tr.window(r, 40)
	own := slices.Clone(reqs)
	for i := range own {
		own[i].Session = fmt.Sprint(i)
	}
	a, _ := Assess(40, reqs, []Tier{aaTier}, Options{})
	b, _ := Assess(40, own, []Tier{aaTier}, Options{})
	wa := a.Tiers[0].Speed.Hi - a.Tiers[0].Speed.Lo
	wb := b.Tiers[0].Speed.Hi - b.Tiers[0].Speed.Lo
	if wa < 2*wb {
		t.Errorf("session resampling: P25 interval %.1f tok/s wide, request resampling %.1f; want ≥ 2× wider", wa, wb)
	}
}

// TestAssessSmallSample: few sessions widen the interval (expanded
// percentile) and say so.
func TestAssessSmallSample(t *testing.T) {
	few := fixedWindow(4, 40, 200, 40, 60, 200*time.Millisecond, 0)
	l, _ := Assess(4, few, []Tier{aaTier}, Options{})
	if !slices.ContainsFunc(l.Notes, func(s string) bool { return strings.Contains(s, "4 sessions: few to resample") }) {
		t.Errorf("notes %q, want the small-sample note", l.Notes)
	}
	// the plain percentile interval of the same replicates is narrower
	s, _ := prepare(few)
	reps := s.bootstrap([]Tier{aaTier}, Options{Replicates: 1000, Confidence: 0.9}, inputHash(4, few, 0), false)
	sp := sortedCopy(reps[0].speed)
	plain := quantileType7(sp, 0.95) - quantileType7(sp, 0.05)
	if got := l.Tiers[0].Speed.Hi - l.Tiers[0].Speed.Lo; got <= plain {
		t.Errorf("4 sessions: interval %.2f tok/s wide, want wider than the plain percentile interval %.2f", got, plain)
	}
}

func TestAssessBadInput(t *testing.T) {
	ok := fixedWindow(5, 5, 100, 1, 1, time.Second, 0)
	for _, c := range []struct {
		name  string
		users int
		reqs  []Request
		tiers []Tier
		opt   Options
		want  string
	}{
		{"no tier", 1, ok, nil, Options{}, "no tier"},
		{"negative users", -1, ok, []Tier{aaTier}, Options{}, "users -1"},
		{"few replicates", 1, ok, []Tier{aaTier}, Options{Replicates: 5}, "too few"},
		{"confidence 1", 1, ok, []Tier{aaTier}, Options{Confidence: 1}, "confidence"},
		{"negative speed", 1, []Request{{Session: "a", Speed: -3}}, []Tier{aaTier}, Options{}, "negative or infinite"},
		{"infinite speed", 1, []Request{{Session: "a", Speed: math.Inf(1)}}, []Tier{aaTier}, Options{}, "negative or infinite"},
		{"tier without limits", 1, ok, []Tier{{Name: "x", MaxErrorRate: 0.01}}, Options{}, "needs a speed floor or a TTFT ceiling"},
		{"tier percentile 0", 1, ok, []Tier{{Name: "x", SpeedFloor: 10}}, Options{}, "speed percentile"},
		{"tier TTFT percentile", 1, ok, []Tier{{Name: "x", TTFTCeiling: time.Second, TTFTPercentile: 101}}, Options{}, "TTFT percentile"},
		{"tier error rate", 1, ok, []Tier{{Name: "x", SpeedFloor: 10, SpeedPercentile: 25, MaxErrorRate: 2}}, Options{}, "max error rate"},
		{"tier negative ceiling", 1, ok, []Tier{{Name: "x", TTFTCeiling: -1, SpeedFloor: 1, SpeedPercentile: 25}}, Options{}, "TTFT ceiling"},
		{"tier NaN floor", 1, ok, []Tier{{Name: "x", SpeedFloor: math.NaN()}}, Options{}, "speed floor"},
	} {
		_, err := Assess(c.users, c.reqs, c.tiers, c.opt)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

// TestAssessTiers: a TTFT-only tier ignores speed, a tier that allows no
// error fails on one, and each tier's verdict matches judging it alone.
func TestAssessTiers(t *testing.T) {
	reqs := fixedWindow(40, 20, 60, 10, 10, 300*time.Millisecond, 1)
	ttftOnly := Tier{Name: "ttft", TTFTCeiling: time.Second, TTFTPercentile: 95, MaxErrorRate: 0.01}
	strict := Tier{Name: "strict", SpeedFloor: 10, SpeedPercentile: 25, MaxErrorRate: 0}
	l, err := Assess(40, reqs, []Tier{aaTier, ttftOnly, strict}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Verdict{Fail, Pass, Fail}
	for i, tr := range l.Tiers {
		if tr.Verdict != want[i] {
			t.Errorf("tier %s: %v, want %v (%q)", tr.Tier, tr.Verdict, want[i], tr.Reasons)
		}
	}
	if !math.IsNaN(l.Tiers[1].Speed.Point) {
		t.Errorf("TTFT-only tier has a speed %v, want NaN", l.Tiers[1].Speed.Point)
	}
	alone, _ := Assess(40, reqs, []Tier{ttftOnly}, Options{})
	if alone.Tiers[0].Verdict != l.Tiers[1].Verdict || alone.Tiers[0].TTFT.Point != l.Tiers[1].TTFT.Point {
		t.Errorf("judged alone: %+v, with others: %+v", alone.Tiers[0], l.Tiers[1])
	}
}

// goldenJSON encodes v as indented JSON with every number rounded to six
// significant digits, so the golden file does not depend on the last bits
// a platform's floating point (fused multiply-add) produces.
func goldenJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var tree any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		t.Fatal(err)
	}
	var round func(any) any
	round = func(x any) any {
		switch x := x.(type) {
		case json.Number:
			f, _ := x.Float64()
			return json.Number(strconv.FormatFloat(f, 'g', 6, 64))
		case []any:
			for i := range x {
				x[i] = round(x[i])
			}
		case map[string]any:
			for k := range x {
				x[k] = round(x[k])
			}
		}
		return x
	}
	out, err := json.MarshalIndent(round(tree), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

// TestGolden pins the figures of a fixed run (seeded draws, fixed
// arithmetic): a change in them must be deliberate. Rewrite with -update.
func TestGolden(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	var levels []*Level
	for _, u := range []int{8, 16, 32, 48, 64} {
		l, err := Assess(u, demoTruth.window(r, u), gptOSSTiers[:2], Options{Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		levels = append(levels, l)
	}
	c, err := Fit(levels, 0, Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	type golden struct {
		Levels   []*Level
		Capacity *Capacity
	}
	got := goldenJSON(t, golden{levels, c})
	goldenfile.Check(t, filepath.Join("testdata", "run.golden.json"), got)
}

// TestWholeUsers: every finite figure rounds down (62.6 users serve 62),
// float noise just below a whole number does not lose a user, and
// unbounded or undefined ends stay as they are.
func TestWholeUsers(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	for _, tc := range []struct{ in, want Estimate }{
		{Estimate{62.6, 61.2, 64.9}, Estimate{62, 61, 64}},
		{Estimate{63 - 1e-12, 62, 64}, Estimate{63, 62, 64}},
		{Estimate{10, 0.4, inf}, Estimate{10, 0, inf}},
	} {
		if got := tc.in.WholeUsers(); got != tc.want {
			t.Errorf("%+v.WholeUsers() = %+v, want %+v", tc.in, got, tc.want)
		}
	}
	if got := (Estimate{nan, nan, nan}).WholeUsers(); !math.IsNaN(got.Point) || !math.IsNaN(got.Lo) || !math.IsNaN(got.Hi) {
		t.Errorf("undefined estimate became %+v", got)
	}
}
