package replay

import (
	"math"
	"time"

	"github.com/agentperf/agentperf/internal/hist"
)

// lagRecorder records client lag from every user at once, lock-free, into
// the project's one histogram (µs units, snapshots in ms).
type lagRecorder struct{ r *hist.Recorder }

func newLagRecorder() lagRecorder { return lagRecorder{hist.NewRecorder(1000)} }

func (l lagRecorder) record(d time.Duration) { l.r.Record(d.Microseconds()) }

// percentile returns the p-th percentile (0–100) of the lag recorded so far
// (interpolated, as analyze's); 0 when none was.
func (l lagRecorder) percentile(p float64) time.Duration {
	v := l.r.Snapshot().Percentile(p)
	if math.IsNaN(v) {
		return 0
	}
	return time.Duration(math.Round(v * float64(time.Millisecond)))
}
