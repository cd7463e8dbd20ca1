package power

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"
)

// SourceModelled is the Source (and System) of samples that a model
// computed instead of a meter: the embedded simulator's power model in a
// virtual-time replay (docs/sim.md, Power). Readers call such power
// modelled, not measured.
const SourceModelled = "sim"

// Sample is one reading of one source: the power of its GPUs at one time.
type Sample struct {
	// Source and System name the source (Source.Label, Source.System);
	// Shard is the replay process that sampled.
	Source, System string
	Shard          int
	// TimeNS is when the reading was taken, Unix ns in world time (through
	// Options.Clock); WallNS the same instant on the wall clock.
	TimeNS, WallNS int64
	// Watts is the sum of GPUWatts, W.
	Watts float64
	// GPUWatts is each GPU's power, W; GPUIDs names each GPU (the gpu
	// label, the index column, or "" when the source does not say).
	GPUWatts []float64
	GPUIDs   []string
}

// GPUs returns the number of GPUs summed.
func (s Sample) GPUs() int { return len(s.GPUWatts) }

// Gap is a span in which a source gave no readings: it failed to start,
// its scrapes or output failed, or its command died. It begins at the
// first failure and ends at the next reading, or when sampling stopped
// (Open).
type Gap struct {
	Source, System string
	Shard          int
	// StartNS and EndNS bound the gap, Unix ns in world time;
	// StartWallNS is StartNS on the wall clock.
	StartNS, EndNS, StartWallNS int64
	// Err is the first failure; Failures counts the failures in the gap.
	Err      string
	Failures int
	// Open is true when the source had not recovered when sampling
	// stopped.
	Open bool
}

// String describes the gap for a log or a report.
func (g Gap) String() string {
	d := time.Duration(g.EndNS - g.StartNS).Round(time.Millisecond)
	state := "recovered"
	if g.Open {
		state = "never recovered"
	}
	return fmt.Sprintf("%s (%s): no readings for %s, %d failure(s), %s: %s", g.Source, g.System, d, g.Failures, state, g.Err)
}

// Record is what a Sampler measured: samples and gaps of every source,
// each ordered by time.
type Record struct {
	// RunID names the run (Options.RunID; the file's run_id).
	RunID   string
	Samples []Sample
	Gaps    []Gap
}

// Options configures Start.
type Options struct {
	// RunID and Shard are stored with every sample (the results file's
	// run_id and shard).
	RunID string
	Shard int
	// Clock maps a wall instant to the run's world time, Unix ns; nil is
	// the wall clock itself. Replay passes its clock's World method, so
	// samples share the results' time base (docs/replay.md, time scale).
	Clock func(time.Time) int64
	// Logger, when set, gets a warning when a source fails and a note when
	// it recovers; nil is silent.
	Logger *slog.Logger
	// Client scrapes prom sources; nil is a client without a timeout of
	// its own (each scrape has one).
	Client *http.Client
	// StopGrace is how long a command has to exit after SIGTERM before it
	// is killed; 0 means 2 s.
	StopGrace time.Duration
}

// Sampler reads several sources concurrently for the life of a context.
// A source that fails never stops the others or the run: its failures
// become gaps in the Record.
type Sampler struct {
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	trackers []*tracker
	opt      Options
	once     sync.Once
	rec      Record
}

// Start begins sampling sources until ctx ends or Stop is called. It never
// fails: a source that cannot start is a gap from the start.
func Start(ctx context.Context, sources []Source, opt Options) *Sampler {
	if opt.Clock == nil {
		opt.Clock = func(t time.Time) int64 { return t.UnixNano() }
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opt.Client == nil {
		opt.Client = &http.Client{}
	}
	if opt.StopGrace <= 0 {
		opt.StopGrace = 2 * time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &Sampler{cancel: cancel, opt: opt}
	for _, src := range sources {
		t := &tracker{src: src, opt: &s.opt}
		s.trackers = append(s.trackers, t)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			switch src.Kind {
			case KindProm:
				promSource{src: src, client: opt.Client}.run(ctx, t)
			case KindCmd:
				cmdSource{src: src, grace: opt.StopGrace}.run(ctx, t)
			default:
				t.fail(time.Now(), fmt.Errorf("unknown source kind %q", src.Kind))
			}
		}()
	}
	return s
}

// Stop ends sampling, waits for every source to stop (commands get
// SIGTERM, then SIGKILL after Options.StopGrace) and returns what was
// measured. Gaps still open end at the stop. Later calls return the same
// Record.
func (s *Sampler) Stop() Record {
	s.once.Do(func() {
		s.cancel()
		s.wg.Wait()
		now := time.Now()
		s.rec.RunID = s.opt.RunID
		for _, t := range s.trackers {
			t.finish(now)
			s.rec.Samples = append(s.rec.Samples, t.samples...)
			s.rec.Gaps = append(s.rec.Gaps, t.gaps...)
		}
		slices.SortStableFunc(s.rec.Samples, func(a, b Sample) int { return cmp.Compare(a.TimeNS, b.TimeNS) })
		slices.SortStableFunc(s.rec.Gaps, func(a, b Gap) int { return cmp.Compare(a.StartNS, b.StartNS) })
	})
	return s.rec
}

// tracker holds one source's samples and gaps; only its source's goroutine
// touches it until Stop.
type tracker struct {
	src     Source
	opt     *Options
	samples []Sample
	gaps    []Gap
	open    *Gap
	gpus    int // GPUs in the first sample
}

// take records readings taken at at as a sample, or as a failure when one
// of them failed or their count is not the source's: its gpus option, or
// else the GPUs of its first sample (a GPU that drops out of an exporter's
// scrape is a gap, not a silent fall in power). It reports whether they
// were kept.
func (t *tracker) take(at time.Time, rs []reading) bool {
	for _, r := range rs {
		if r.Err != nil {
			t.fail(at, r.Err)
			return false
		}
	}
	want := t.src.GPUs
	if want == 0 {
		want = t.gpus
	}
	if want > 0 && len(rs) != want {
		hint := "a GPU left the scrape, or the match selects a changing set"
		if t.src.Kind == KindCmd {
			hint = "one line per GPU; set gpus=N if the count is right"
		}
		t.fail(at, fmt.Errorf("%d GPU readings in a sample, want %d (%s)", len(rs), want, hint))
		return false
	}
	t.sample(at, rs)
	return true
}

// sample records readings taken at at.
func (t *tracker) sample(at time.Time, rs []reading) {
	s := Sample{Source: t.src.Label, System: t.src.System, Shard: t.opt.Shard,
		TimeNS: t.opt.Clock(at), WallNS: at.UnixNano(),
		GPUWatts: make([]float64, len(rs)), GPUIDs: make([]string, len(rs))}
	for i, r := range rs {
		s.GPUWatts[i], s.GPUIDs[i] = r.Watts, r.ID
		s.Watts += r.Watts
	}
	if t.open != nil {
		t.open.EndNS = s.TimeNS
		t.opt.Logger.Info("power source recovered", "source", t.src.Label, "system", t.src.System,
			"gap", time.Duration(t.open.EndNS-t.open.StartNS).Round(time.Millisecond), "failures", t.open.Failures)
		t.gaps = append(t.gaps, *t.open)
		t.open = nil
	}
	if t.gpus == 0 {
		t.gpus = len(rs)
	}
	t.samples = append(t.samples, s)
}

// fail records a failure at at: it opens a gap, or counts toward the open
// one.
func (t *tracker) fail(at time.Time, err error) {
	if t.open != nil {
		t.open.Failures++
		return
	}
	t.opt.Logger.Warn("power source failed; sampling it again", "source", t.src.Label, "system", t.src.System, "err", err)
	t.open = &Gap{Source: t.src.Label, System: t.src.System, Shard: t.opt.Shard,
		StartNS: t.opt.Clock(at), StartWallNS: at.UnixNano(), Err: err.Error(), Failures: 1}
}

// finish closes an open gap at the end of sampling.
func (t *tracker) finish(at time.Time) {
	if t.open != nil {
		t.open.EndNS = max(t.opt.Clock(at), t.open.StartNS)
		t.open.Open = true
		t.gaps = append(t.gaps, *t.open)
		t.open = nil
	}
}
