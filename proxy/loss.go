package proxy

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Why a call was dropped: the reason label of agentperf_record_drops_total
// and the keys of LossError.Reasons.
const (
	// DropQueueFull: the capture queue and the spill list were full.
	DropQueueFull = "queue_full"
	// DropSpoolWrite: the spool could not be written or fsynced (a full
	// disk, an I/O error).
	DropSpoolWrite = "spool_write"
	// DropAfterClose: the call ended after the recorder closed (past the
	// shutdown grace).
	DropAfterClose = "after_close"
	// DropCaptureError: decoding the call failed (a bug).
	DropCaptureError = "capture_error"
)

// DropReport says that captured calls were dropped: they are not in the
// trace set.
type DropReport struct {
	// Dropped is the number of calls dropped since the previous report;
	// Total since the recorder started.
	Dropped, Total int64
	// Reason is one of the Drop* constants, and Detail the error of the
	// latest drop reported ("" when there is none).
	Reason, Detail string
}

// String formats r as the line record prints on stderr.
func (r DropReport) String() string {
	s := fmt.Sprintf("%d call(s) DROPPED, not in the trace set (%s", r.Dropped, strings.ReplaceAll(r.Reason, "_", " "))
	if r.Detail != "" {
		s += ": " + r.Detail
	}
	return s + fmt.Sprintf("); %d dropped so far", r.Total)
}

// dropReportEvery is the least time between two DropReports.
const dropReportEvery = time.Second

// LossError is returned by Run and Recorder.Close when calls were dropped.
// The trace set was written and holds every call that was not dropped.
type LossError struct {
	// Dropped is the number of calls dropped; Reasons counts them by
	// reason (the Drop* constants).
	Dropped int64
	Reasons map[string]int64
}

func (e *LossError) Error() string {
	keys := make([]string, 0, len(e.Reasons))
	for k := range e.Reasons {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", strings.ReplaceAll(k, "_", " "), e.Reasons[k]))
	}
	return fmt.Sprintf("%d captured call(s) were dropped and are not in the trace set (%s)", e.Dropped, strings.Join(parts, ", "))
}

// lossReporter counts drops and hands them, rate-limited, to a callback on
// its own goroutine, so the forwarding path never waits for it.
type lossReporter struct {
	fn   func(DropReport)
	mu   sync.Mutex
	byR  map[string]int64
	tot  int64
	last DropReport // pending: Dropped since the last report
	wake chan struct{}
	stop chan struct{}
	done chan struct{}
}

func newLossReporter(fn func(DropReport)) *lossReporter {
	l := &lossReporter{fn: fn, byR: map[string]int64{}, wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	go l.run()
	return l
}

// add counts n drops for reason, with detail (an error text or "").
func (l *lossReporter) add(n int64, reason, detail string) {
	l.mu.Lock()
	l.byR[reason] += n
	l.tot += n
	l.last.Dropped += n
	l.last.Total = l.tot
	l.last.Reason, l.last.Detail = reason, detail
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *lossReporter) run() {
	defer close(l.done)
	var lastAt time.Time
	for {
		select {
		case <-l.wake:
		case <-l.stop:
			l.flush()
			return
		}
		if wait := dropReportEvery - time.Since(lastAt); wait > 0 {
			select {
			case <-time.After(wait):
			case <-l.stop:
				l.flush()
				return
			}
		}
		l.flush()
		lastAt = time.Now()
	}
}

// flush reports the drops not reported yet.
func (l *lossReporter) flush() {
	l.mu.Lock()
	r := l.last
	l.last.Dropped = 0
	l.mu.Unlock()
	if r.Dropped > 0 && l.fn != nil {
		l.fn(r)
	}
}

// close reports what is pending and stops the goroutine.
func (l *lossReporter) close() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	<-l.done
}

// err returns the LossError of all drops so far, or nil.
func (l *lossReporter) err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tot == 0 {
		return nil
	}
	e := &LossError{Dropped: l.tot, Reasons: map[string]int64{}}
	for k, v := range l.byR {
		e.Reasons[k] = v
	}
	return e
}
