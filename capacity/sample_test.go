package capacity

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// wholeOf returns the Whole of a window: its own figures.
func wholeOf(reqs []Request) Whole {
	var sp, tt []float64
	w := Whole{Requests: int64(len(reqs))}
	seen := map[string]bool{}
	for _, q := range reqs {
		if !seen[q.Session] {
			seen[q.Session] = true
			w.Sessions++
		}
		if q.Failed {
			w.Errors++
			continue
		}
		if !math.IsNaN(q.Speed) {
			sp = append(sp, q.Speed)
		}
		if q.TTFT >= 0 {
			tt = append(tt, float64(q.TTFT)/1e6)
		}
	}
	slices.Sort(sp)
	slices.Sort(tt)
	w.Speed = func(p float64) float64 { return Percentile(sp, p) }
	w.TTFT = func(p float64) float64 { return Percentile(tt, p) }
	return w
}

// sampleSessions keeps the requests of the sessions whose key hashes into
// the lowest fraction frac (FNV-1a, then the splitmix64 finalizer: FNV's
// high bits barely move between keys like "s12" and "s13").
func sampleSessions(reqs []Request, frac float64) []Request {
	var out []Request
	for _, q := range reqs {
		h := fnv.New64a()
		h.Write([]byte(q.Session))
		z := h.Sum64()
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		z ^= z >> 31
		if float64(z) < frac*math.MaxUint64 {
			out = append(out, q)
		}
	}
	return out
}

// TestAssessSample: a quarter of a large window's sessions, scaled to the
// whole window, gives the whole window's point figures exactly and
// intervals about as wide as bootstrapping every session; over 120 windows
// drawn from a known truth, its 90 % intervals of P25 speed cover the true
// value about as often as Assess's.
func TestAssessSample(t *testing.T) {
	tr := demoTruth
	tr.SessionsPerUser, tr.ReqPerSession = 4, 25
	tiers := []Tier{aaTier}
	const users = 50
	truthP25 := tr.speedPct(users, 25)
	r := rand.New(rand.NewPCG(7, 8))
	opt := Options{Replicates: 200}
	var coverFull, coverSample, windows int
	var widthRatio []float64
	for w := range 120 {
		reqs := tr.window(r, users)
		whole := wholeOf(reqs)
		sample := sampleSessions(reqs, 0.25)
		full, err := Assess(users, reqs, tiers, opt)
		if err != nil {
			t.Fatal(err)
		}
		got, err := AssessSample(users, sample, whole, tiers, opt)
		if err != nil {
			t.Fatal(err)
		}
		f, g := full.Tiers[0], got.Tiers[0]
		if g.Speed.Point != f.Speed.Point || g.TTFT.Point != f.TTFT.Point || g.ErrorRate.Point != f.ErrorRate.Point || g.Margin.Point != f.Margin.Point {
			t.Fatalf("window %d: sample points %v %v %v %v, whole %v %v %v %v", w, g.Speed.Point, g.TTFT.Point, g.ErrorRate.Point, g.Margin.Point,
				f.Speed.Point, f.TTFT.Point, f.ErrorRate.Point, f.Margin.Point)
		}
		if got.Requests != full.Requests || got.Sessions != full.Sessions || got.Sampled == 0 || got.Sampled >= got.Sessions || len(got.Notes) == 0 {
			t.Fatalf("window %d: counts %d requests %d sessions (%d sampled), notes %q; whole %d, %d", w, got.Requests, got.Sessions, got.Sampled, got.Notes, full.Requests, full.Sessions)
		}
		widthRatio = append(widthRatio, (g.Speed.Hi-g.Speed.Lo)/(f.Speed.Hi-f.Speed.Lo))
		if f.Speed.Lo <= truthP25 && truthP25 <= f.Speed.Hi {
			coverFull++
		}
		if g.Speed.Lo <= truthP25 && truthP25 <= g.Speed.Hi {
			coverSample++
		}
		windows++
	}
	slices.Sort(widthRatio)
	med := widthRatio[len(widthRatio)/2]
	t.Logf("%d windows: coverage full %d, sample %d; width ratio median %.2f (P10 %.2f, P90 %.2f)", windows, coverFull, coverSample, med,
		widthRatio[len(widthRatio)/10], widthRatio[len(widthRatio)*9/10])
	if med < 0.75 || med > 1.33 {
		t.Errorf("sampled intervals are %.2f× as wide as the whole window's (median)", med)
	}
	if coverSample < windows*80/100 || coverSample < coverFull-windows/10 {
		t.Errorf("sampled intervals cover %d of %d windows, the whole window's %d", coverSample, windows, coverFull)
	}
	// the fit takes sampled levels like any other
	lv, _ := AssessSample(users, sampleSessions(tr.window(r, users), 0.25), wholeOf(tr.window(r, users)), tiers, opt)
	if _, err := Fit([]*Level{lv}, 0, opt); err != nil {
		t.Error(err)
	}
}

func TestAssessSampleBadInput(t *testing.T) {
	reqs := []Request{{Session: "a", Speed: 100, TTFT: time.Millisecond}, {Session: "b", Speed: 120, TTFT: time.Millisecond}}
	w := wholeOf(reqs)
	for _, c := range []struct {
		name  string
		whole Whole
	}{
		{"no percentiles", Whole{Sessions: 2, Requests: 2}},
		{"fewer requests", Whole{Sessions: 2, Requests: 1, Speed: w.Speed, TTFT: w.TTFT}},
		{"fewer sessions", Whole{Sessions: 1, Requests: 2, Speed: w.Speed, TTFT: w.TTFT}},
		{"more errors than requests", Whole{Sessions: 2, Requests: 2, Errors: 3, Speed: w.Speed, TTFT: w.TTFT}},
	} {
		if _, err := AssessSample(2, reqs, c.whole, []Tier{aaTier}, Options{}); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}
