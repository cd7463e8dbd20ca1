package capacity

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// obs is a window at users with a verdict, lasting 10 minutes.
func obs(users int, v Verdict) Observation {
	return Observation{Users: users, Verdict: v, Wall: 10 * time.Minute}
}

func TestNext(t *testing.T) {
	inf := math.Inf(1)
	above := &Capacity{Censored: Above, MaxUsers: Estimate{8, 6, inf}, FitPass: 8}
	for _, c := range []struct {
		name      string
		obs       []Observation
		c         *Capacity
		s         Search
		want      ActionKind
		wantUsers int
		wantStop  string
		wantWhy   string
	}{
		{"first window", nil, nil, Search{}, Run, 1, "", "start"},
		{"first window at Start", nil, nil, Search{Start: 8}, Run, 8, "", ""},
		{"Start above the cap", nil, nil, Search{Start: 8, MaxUsers: 5}, Run, 5, "", ""},

		{"ramp up", []Observation{obs(4, Pass), obs(8, Pass)}, above, Search{}, Run, 16, "", "ramp up"},
		{"ramp up to the cap", []Observation{obs(8, Pass)}, above, Search{MaxUsers: 12}, Run, 12, "", ""},
		{"at the cap, passing", []Observation{obs(8, Pass)}, above, Search{MaxUsers: 8}, Stop, 0, StopMaxUsers, "8 users still pass"},
		{"at the cap, uncertain", []Observation{obs(8, Uncertain)}, above, Search{MaxUsers: 8}, Repeat, 8, "", "the cap"},
		{"at the cap, uncertain, no repeats", []Observation{obs(8, Uncertain)}, above, Search{MaxUsers: 8, MaxRepeats: -1}, Stop, 0, StopMaxUsers, ""},
		{"unbounded above but the top fails for certain: bisect", []Observation{obs(8, Pass), obs(16, Fail)},
			&Capacity{MaxUsers: Estimate{12, 9, inf}, FitPass: 8, FitFail: 16}, Search{}, Run, 12, "", "bisect"},

		{"ramp down", []Observation{obs(8, Fail)}, &Capacity{Censored: Below, MaxUsers: Estimate{0, 0, 8}}, Search{Start: 8}, Run, 4, "", "ramp down"},
		{"fails at one user", []Observation{obs(2, Fail), obs(1, Fail)}, &Capacity{Censored: Below, MaxUsers: Estimate{0, 0, 1}}, Search{}, Stop, 0, StopNoPass, ""},
		{"uncertain at one user", []Observation{obs(1, Uncertain)}, &Capacity{Censored: Below, MaxUsers: Estimate{0, 0, 1}}, Search{}, Repeat, 1, "", ""},
		{"Lo 0 but a level passes for certain: no ramp down",
			[]Observation{obs(1, Uncertain), obs(8, Pass), obs(16, Fail), obs(12, Uncertain), obs(12, Pass), obs(16, Fail)},
			&Capacity{MaxUsers: Estimate{13, 0, 15}, FitPass: 12, FitFail: 16}, Search{Precision: 0.4}, Repeat, 12, "", "wider than 40 %"},

		{"bisect", []Observation{obs(32, Pass), obs(64, Fail)}, &Capacity{MaxUsers: Estimate{45, 40, 50}, FitPass: 32, FitFail: 64}, Search{}, Run, 48, "", "bisect between 32 and 64"},
		{"bisect at a finer precision", []Observation{obs(40, Pass), obs(48, Fail)}, &Capacity{MaxUsers: Estimate{44, 43, 45}, FitPass: 40, FitFail: 48}, Search{Precision: 0.1}, Run, 44, "", ""},
		{"gap of one user: no bisection", []Observation{obs(4, Pass), obs(5, Fail), obs(4, Pass), obs(5, Fail)}, &Capacity{MaxUsers: Estimate{4.5, 4.1, 4.9}, FitPass: 4, FitFail: 5}, Search{Precision: 0.01}, Repeat, 4, "", "window 3"},

		{"confirm the nearer bracket level", []Observation{obs(32, Pass), obs(48, Fail), obs(40, Pass)},
			&Capacity{MaxUsers: Estimate{45, 43, 47}, FitPass: 40, FitFail: 48}, Search{}, Repeat, 48, "", "confirm"},
		{"confirm the other", []Observation{obs(32, Pass), obs(48, Fail), obs(40, Pass), obs(48, Fail)},
			&Capacity{MaxUsers: Estimate{45, 43, 47}, FitPass: 40, FitFail: 48}, Search{}, Repeat, 40, "", "confirm"},
		{"precision reached", []Observation{obs(40, Pass), obs(48, Fail), obs(40, Pass), obs(48, Fail)},
			&Capacity{MaxUsers: Estimate{45, 43, 47}, FitPass: 40, FitFail: 48}, Search{}, Stop, 0, StopPrecision, "45 (43–47)"},
		{"too wide: repeat the undecided bracket level", []Observation{obs(40, Uncertain), obs(48, Fail), obs(40, Pass), obs(48, Fail)},
			&Capacity{MaxUsers: Estimate{45, 38, 50}, FitPass: 40, FitFail: 48}, Search{}, Repeat, 40, "", "window 3"},
		{"too wide, repeats used up", []Observation{obs(40, Uncertain), obs(48, Fail), obs(40, Pass), obs(48, Fail), obs(40, Pass), obs(48, Fail)},
			&Capacity{MaxUsers: Estimate{45, 38, 50}, FitPass: 40, FitFail: 48}, Search{}, Stop, 0, StopMaxRepeats, "3 windows"},
		{"too wide, no repeats allowed", []Observation{obs(40, Uncertain), obs(48, Fail)},
			&Capacity{MaxUsers: Estimate{45, 38, 50}, FitPass: 40, FitFail: 48}, Search{MaxRepeats: -1}, Stop, 0, StopMaxRepeats, ""},

		{"budget exhausted", []Observation{obs(32, Pass), obs(64, Fail), obs(48, Pass)},
			&Capacity{MaxUsers: Estimate{55, 50, 60}, FitPass: 48, FitFail: 64}, Search{Budget: 35 * time.Minute}, Stop, 0, StopBudget, "bisect between 48 and 64"},
		{"budget with room", []Observation{obs(32, Pass), obs(64, Fail), obs(48, Pass)},
			&Capacity{MaxUsers: Estimate{55, 50, 60}, FitPass: 48, FitFail: 64}, Search{Budget: 40 * time.Minute}, Run, 56, "", ""},
		{"precision is reported before the budget", []Observation{obs(40, Pass), obs(48, Fail), obs(40, Pass), obs(48, Fail)},
			&Capacity{MaxUsers: Estimate{45, 43, 47}, FitPass: 40, FitFail: 48}, Search{Budget: time.Minute}, Stop, 0, StopPrecision, ""},
	} {
		a := Next(c.obs, c.c, c.s)
		if a.Kind != c.want || a.Users != c.wantUsers || a.Stopped != c.wantStop {
			t.Errorf("%s: got %v %d %q (%s), want %v %d %q", c.name, a.Kind, a.Users, a.Stopped, a.Reason, c.want, c.wantUsers, c.wantStop)
		}
		if c.wantWhy != "" && !strings.Contains(a.Reason, c.wantWhy) {
			t.Errorf("%s: reason %q, want it to contain %q", c.name, a.Reason, c.wantWhy)
		}
		if a.Reason == "" {
			t.Errorf("%s: no reason given", c.name)
		}
	}
}

// script runs the search against a margin curve (margin(u) with replicate
// spread sd) and returns its actions as "run 8", "repeat 48", "stop …".
func script(margin func(u int) float64, sd float64, s Search) []string {
	var levels []*Level
	var os []Observation
	var c *Capacity
	var out []string
	for len(out) < 40 {
		a := Next(os, c, s)
		if a.Kind == Stop {
			return append(out, "stop "+a.Stopped)
		}
		out = append(out, fmt.Sprintf("%v %d", a.Kind, a.Users))
		l := marginLevel(a.Users, margin(a.Users), sd, uint64(len(levels)))
		levels = append(levels, l)
		os = append(os, Observe(l, 0, 10*time.Minute))
		var err error
		if c, err = Fit(levels, 0, Options{}); err != nil {
			panic(err)
		}
	}
	return out
}

// TestNextScripts runs whole searches on scripted margin curves.
func TestNextScripts(t *testing.T) {
	line := func(cross float64) func(int) float64 {
		return func(u int) float64 { return (cross - float64(u)) / 100 }
	}
	for _, c := range []struct {
		name   string
		margin func(int) float64
		sd     float64
		s      Search
		want   []string
	}{
		{"ramp, bisect, confirm, precise", line(45), 0.005, Search{},
			[]string{"run 1", "run 2", "run 4", "run 8", "run 16", "run 32", "run 64", "run 48", "run 40", "repeat 48", "repeat 40", "stop precision reached"}},
		{"everything passes up to the cap", line(1000), 0.005, Search{MaxUsers: 100},
			[]string{"run 1", "run 2", "run 4", "run 8", "run 16", "run 32", "run 64", "run 100", "stop max users reached"}},
		{"nothing passes", line(-10), 0.005, Search{Start: 4},
			[]string{"run 4", "run 2", "run 1", "stop no level passes"}},
		{"the budget ends it", line(45), 0.005, Search{Budget: 55 * time.Minute},
			[]string{"run 1", "run 2", "run 4", "run 8", "run 16", "stop budget exhausted"}},
		{"noisy levels get repeats", line(45), 0.05, Search{Precision: 0.1},
			[]string{"run 1", "run 2", "run 4", "run 8", "run 16", "run 32", "run 64", "run 48", "run 40", "run 44", "repeat 44", "repeat 48",
				"repeat 44", "repeat 48", "repeat 40", "repeat 40", "stop max repeats reached"}},
	} {
		got := script(c.margin, c.sd, c.s)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}
