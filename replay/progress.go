package replay

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"time"
)

// startProgress prints a status line every interval until stopped.
func (r *runner) startProgress(ctx context.Context) (stop func()) {
	w := r.cfg.Progress
	if w == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := r.clk.NewTicker(r.cfg.ProgressInterval)
		defer tick.Stop()
		lastT, lastTok := r.clk.Now(), r.outTok.Load()
		lastV := r.virtualNow()
		for {
			select {
			case <-done:
				if r.cfg.ProgressTTY {
					fmt.Fprint(w, "\n")
				}
				return
			case <-ctx.Done():
				if r.cfg.ProgressTTY {
					fmt.Fprint(w, "\n")
				}
				return
			case now := <-tick.C():
				tok := r.outTok.Load()
				rate := float64(tok-lastTok) / now.Sub(lastT).Seconds() * r.cfg.TimeScale
				if v := r.virtualNow(); r.virt != nil {
					// world tok/s on the virtual clock
					rate = float64(tok-lastTok) / max(float64(v-lastV)/1e9, 1e-9)
					lastV = v
				}
				lastT, lastTok = now, tok
				line := r.statusLine(now, rate)
				if r.cfg.ProgressTTY {
					fmt.Fprintf(w, "\r\033[K%s", line)
				} else {
					fmt.Fprintln(w, line)
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}

// statusLine renders the live status: level, users, requests, errors,
// token rate (world tok/s), client lag and the phase clock.
func (r *runner) statusLine(now time.Time, tokRate float64) string {
	var b strings.Builder
	lv := r.cur.Load()
	if lv != nil {
		if r.virt != nil {
			now = r.virt.at(r.virt.nowAtomic.Load()) // the virtual clock
		}
		lv.mu.Lock() // a virtual-time level moves windowEnd when it extends
		phase := lv.phase(now)
		var left time.Duration
		switch phase {
		case "warmup":
			left = lv.windowStart.Sub(now)
		case "steady":
			left = lv.windowEnd.Sub(now)
		}
		lv.mu.Unlock()
		fmt.Fprintf(&b, "level %d", lv.index)
		if lv.users > 0 {
			fmt.Fprintf(&b, " (%d users)", lv.users)
		}
		fmt.Fprintf(&b, " %s", phase)
		if left > 0 {
			fmt.Fprintf(&b, " %s left", time.Duration(float64(left)*r.cfg.TimeScale).Round(time.Second))
		}
		fmt.Fprintf(&b, " | lag p99 %s", lv.lag.percentile(99).Round(10*time.Microsecond))
	}
	fmt.Fprintf(&b, " | active %d | requests %d | errors %d | %.0f tok/s | goroutines %d",
		r.active.Load(), r.done.Load(), r.errs.Load(), tokRate, runtime.NumGoroutine())
	return b.String()
}
