package sim

import (
	"flag"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The engine-profile fit of docs/sim.md (Calibration), reproducible:
//
//	go test ./sim -run TestFitEngineProfile -timeout 2h -fit testdata/calibration/inferencemax-gpt-oss-120b-vllm.csv \
//	    -fit.hardware h200 -fit.start CE=0.12,ME=0.72,LAYER=64,COLL=10.7,STEP=300,SEQ=5.5,REQ=27.4 -fit.free CE,ME,LAYER,COLL,REQ
//
// It prints each Nelder–Mead iteration's best point to stderr and the
// summary of the best fit; the figures go into catalog.yaml by hand.
var (
	fitFile  = flag.String("fit", "", "calibration `FILE` to fit an engine profile on (TestFitEngineProfile)")
	fitHW    = flag.String("fit.hardware", "", "fit on the rows of this hardware only")
	fitStart = flag.String("fit.start", "CE=0.15,ME=0.65,LAYER=60,COLL=12,STEP=300,SEQ=5.5,REQ=30", "starting point: CE, ME (efficiencies), LAYER, COLL, STEP, SEQ (µs), REQ (ms)")
	fitFree  = flag.String("fit.free", "CE,ME,LAYER,COLL,REQ", "parameters to fit; the others stay at their start")
	fitIters = flag.Int("fit.iters", 30, "Nelder–Mead iterations")
	fitMaxME = flag.Float64("fit.max-memory-efficiency", 0.9, "upper bound of the memory efficiency")
)

// fitConfig turns fit parameters into the Config overrides they stand for.
func fitConfig(v map[string]float64) Config {
	us := func(x float64) time.Duration { return time.Duration(x * 1e3) }
	return Config{
		ComputeEfficiency: math.Min(v["CE"], 1), MemoryEfficiency: math.Min(v["ME"], *fitMaxME),
		LayerOverhead: us(v["LAYER"]), CollectiveLatency: us(v["COLL"]), IterationOverhead: us(v["STEP"]),
		SequenceOverhead: us(v["SEQ"]), RequestLatency: time.Duration(v["REQ"] * 1e6),
	}
}

// fitObjective is the mean over rows of (log ratio)² of throughput and
// per-user speed plus 0.3 × (log ratio)² of TTFT.
func fitObjective(rows []CalibrationRow, v map[string]float64) (float64, []CalibrationResult) {
	base := fitConfig(v)
	res := make([]CalibrationResult, len(rows))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				res[i], _ = Calibrate(rows[i], base, 1)
			}
		}()
	}
	for i := range rows {
		next <- i
	}
	close(next)
	wg.Wait()
	var obj float64
	for _, r := range res {
		tp, sp, tt := r.Ratios()
		obj += math.Pow(math.Log(tp), 2) + math.Pow(math.Log(sp), 2) + 0.3*math.Pow(math.Log(tt), 2)
	}
	return obj / float64(len(rows)), res
}

func TestFitEngineProfile(t *testing.T) {
	if *fitFile == "" {
		t.Skip("a fitting tool, not a test: give -fit FILE (see the comment above)")
	}
	f, err := os.Open(*fitFile)
	if err != nil {
		t.Fatal(err)
	}
	all, err := ReadCalibrationCSV(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var rows []CalibrationRow
	for _, r := range all {
		if *fitHW == "" || r.Hardware == *fitHW {
			rows = append(rows, r)
		}
	}
	start := map[string]float64{}
	for _, kv := range strings.Split(*fitStart, ",") {
		k, v, _ := strings.Cut(kv, "=")
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || x <= 0 {
			t.Fatalf("-fit.start %q: want NAME=positive number", kv)
		}
		start[k] = x
	}
	free := strings.Split(*fitFree, ",")
	point := func(x []float64) map[string]float64 {
		v := map[string]float64{}
		for k, s := range start {
			v[k] = s
		}
		for j, k := range free {
			v[k] = math.Exp(x[j])
		}
		return v
	}
	eval := func(x []float64) float64 {
		o, _ := fitObjective(rows, point(x))
		return o
	}
	n := len(free)
	simplex := make([][]float64, n+1)
	vals := make([]float64, n+1)
	for k := range simplex {
		x := make([]float64, n)
		for j, name := range free {
			x[j] = math.Log(start[name])
			if k == j+1 {
				x[j] += 0.25
			}
		}
		simplex[k], vals[k] = x, eval(x)
	}
	order := func() {
		idx := make([]int, n+1)
		for i := range idx {
			idx[i] = i
		}
		sort.Slice(idx, func(a, b int) bool { return vals[idx[a]] < vals[idx[b]] })
		s2, v2 := make([][]float64, n+1), make([]float64, n+1)
		for i, j := range idx {
			s2[i], v2[i] = simplex[j], vals[j]
		}
		simplex, vals = s2, v2
	}
	for it := 0; it < *fitIters; it++ {
		order()
		c := make([]float64, n)
		for k := 0; k < n; k++ {
			for j := range c {
				c[j] += simplex[k][j] / float64(n)
			}
		}
		at := func(a float64) []float64 {
			x := make([]float64, n)
			for j := range x {
				x[j] = c[j] + a*(simplex[n][j]-c[j])
			}
			return x
		}
		xr := at(-1)
		fr := eval(xr)
		switch {
		case fr < vals[0]:
			if xe := at(-2); eval(xe) < fr {
				simplex[n], vals[n] = xe, eval(xe)
			} else {
				simplex[n], vals[n] = xr, fr
			}
		case fr < vals[n-1]:
			simplex[n], vals[n] = xr, fr
		default:
			if xc := at(0.5); eval(xc) < vals[n] {
				simplex[n], vals[n] = xc, eval(xc)
			} else {
				for k := 1; k <= n; k++ {
					for j := range simplex[k] {
						simplex[k][j] = simplex[0][j] + 0.5*(simplex[k][j]-simplex[0][j])
					}
					vals[k] = eval(simplex[k])
				}
			}
		}
		fmt.Fprintf(os.Stderr, "iteration %d: objective %.5f at %v\n", it, vals[0], point(simplex[0]))
	}
	order()
	best := point(simplex[0])
	_, res := fitObjective(rows, best)
	WriteCalibrationSummary(os.Stdout, Summarize(res))
	fmt.Printf("best: %v (memory efficiency bounded at %v)\n", best, *fitMaxME)
}
