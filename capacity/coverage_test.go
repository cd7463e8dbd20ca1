package capacity

import (
	"flag"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

var (
	coverageN     = flag.Int("coverage.experiments", 200, "simulated experiments in TestCoverage")
	coverageB     = flag.Int("coverage.replicates", 100, "bootstrap replicates per window in TestCoverage")
	coverageWin   = flag.Float64("coverage.window", 0, "log-sd of a common per-window speed factor in TestCoverage (0: none)")
	coverageRep   = flag.Int("coverage.maxrepeats", 0, "Search.MaxRepeats in TestCoverage (0: default)")
	coveragePrec  = flag.Float64("coverage.precision", 0, "Search.Precision in TestCoverage (0: default)")
	coverageSmall = flag.Bool("coverage.small", false, "TestCoverage on smaller systems (capacities 7–50 users, fewer than 30 sessions per window near the crossing)")
)

// experiment is one simulated capacity search against a known truth.
type experiment struct {
	truth    float64 // true max users
	c        *Capacity
	windows  int
	stopped  string
	covered  bool
	relWidth float64
}

// runSearch drives Next against the truth until it stops (at most 40
// windows), as replay's search loop would, and fits the final estimate.
func runSearch(tr truth, tier Tier, s Search, opt Options, seed uint64) experiment {
	r := rand.New(rand.NewPCG(seed, 7))
	var levels []*Level
	var obs []Observation
	var c *Capacity
	e := experiment{truth: tr.maxUsers(tier)}
	for len(obs) < 40 {
		a := Next(obs, c, s)
		if a.Kind == Stop {
			e.stopped = a.Stopped
			break
		}
		reqs := tr.window(r, a.Users)
		o := opt
		o.Seed = seed
		l, err := Assess(a.Users, reqs, []Tier{tier}, o)
		if err != nil {
			panic(err)
		}
		levels = append(levels, l)
		obs = append(obs, Observe(l, 0, time.Minute))
		if c, err = Fit(levels, 0, o); err != nil {
			panic(err)
		}
	}
	e.c, e.windows = c, len(obs)
	e.covered = c.MaxUsers.Lo <= e.truth && e.truth <= c.MaxUsers.Hi
	e.relWidth = (c.MaxUsers.Hi - c.MaxUsers.Lo) / c.MaxUsers.Point
	return e
}

// runExperiments runs n experiments on two goroutines.
func runExperiments(n int, s Search, opt Options, window float64) []experiment {
	small := *coverageSmall
	out := make([]experiment, n)
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := w; i < n; i += 2 {
				r := rand.New(rand.NewPCG(uint64(i), 99))
				tr := randomTruth(r)
				tr.Window = window
				if small { // capacities 7–50 users (median 21) instead of 18–128 (53)
					tr.U0 *= 0.4
				}
				out[i] = runSearch(tr, aaTier, s, opt, uint64(i))
			}
		})
	}
	wg.Wait()
	return out
}

// TestCoverage is the coverage requirement: over ≥ 200 simulated
// capacity searches on truths drawn around the demo's shape (session-
// correlated speed noise, rare clustered errors), the nominal 90 % interval
// on max users covers the true value in ≥ 85 % of them.
func TestCoverage(t *testing.T) {
	n := *coverageN
	s := Search{Start: 1, MaxUsers: 1024, MaxRepeats: *coverageRep, Precision: *coveragePrec}
	exps := runExperiments(n, s, Options{Replicates: *coverageB}, *coverageWin)
	covered, stops := 0, map[string]int{}
	var widths, windows []float64
	var below, above int
	for _, e := range exps {
		if e.covered {
			covered++
		} else if e.truth < e.c.MaxUsers.Lo {
			below++
		} else {
			above++
		}
		stops[e.stopped]++
		widths = append(widths, e.relWidth)
		windows = append(windows, float64(e.windows))
	}
	slices.Sort(widths)
	slices.Sort(windows)
	cov := float64(covered) / float64(n)
	t.Logf("coverage %d/%d = %.1f %% (truth below the interval %d, above %d); relative width median %.3f (P10 %.3f, P90 %.3f); windows median %.0f (max %.0f); stops %v",
		covered, n, 100*cov, below, above, Percentile(widths, 50), Percentile(widths, 10), Percentile(widths, 90),
		Percentile(windows, 50), windows[len(windows)-1], stops)
	if n >= 200 && *coverageWin == 0 && cov < 0.85 {
		t.Errorf("coverage %.1f %% of %d experiments, want ≥ 85 %%", 100*cov, n)
	}
	if math.IsNaN(cov) {
		t.Fatal("no experiment ran")
	}
}
