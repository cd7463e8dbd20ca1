package replay

import "time"

// Clock is the wall clock a run reads, sleeps and sets timers on: every
// send time, schedule, timeout and level boundary comes from it. Config's
// nil Clock is the system clock; tests inject delays through it, and a
// virtual-time run can drive a whole run through it.
type Clock interface {
	// Now returns the current time (with a monotonic reading for the
	// system clock).
	Now() time.Time
	// NewTimer returns a timer that fires once after d.
	NewTimer(d time.Duration) Timer
	// NewTicker returns a ticker that fires every d (d > 0).
	NewTicker(d time.Duration) Ticker
	// AfterFunc calls f in its own goroutine after d.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a Clock's one-shot timer (time.Timer's contract).
type Timer interface {
	C() <-chan time.Time
	Stop() bool
	Reset(d time.Duration) bool
}

// Ticker is a Clock's periodic ticker (time.Ticker's contract).
type Ticker interface {
	C() <-chan time.Time
	Stop()
}

// SystemClock is the Clock of the time package.
type SystemClock struct{}

var _ Clock = SystemClock{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// NewTimer returns a time.Timer.
func (SystemClock) NewTimer(d time.Duration) Timer { return sysTimer{time.NewTimer(d)} }

// NewTicker returns a time.Ticker.
func (SystemClock) NewTicker(d time.Duration) Ticker { return sysTicker{time.NewTicker(d)} }

// AfterFunc returns time.AfterFunc(d, f).
func (SystemClock) AfterFunc(d time.Duration, f func()) Timer { return sysTimer{time.AfterFunc(d, f)} }

type sysTimer struct{ t *time.Timer }

func (t sysTimer) C() <-chan time.Time        { return t.t.C }
func (t sysTimer) Stop() bool                 { return t.t.Stop() }
func (t sysTimer) Reset(d time.Duration) bool { return t.t.Reset(d) }

type sysTicker struct{ t *time.Ticker }

func (t sysTicker) C() <-chan time.Time { return t.t.C }
func (t sysTicker) Stop()               { t.t.Stop() }

// worldClock maps wall time to world time. World time runs scale times
// faster than the wall clock from a common origin, so a wall duration d is
// d·scale in the world and a world duration w takes w/scale on the wall.
type worldClock struct {
	origin      time.Time // wall, with monotonic reading
	originWorld int64     // Unix ns
	scale       float64
}

// newWorldClock returns a clock whose world time equals the wall time at
// origin; scale ≤ 0 means 1.
func newWorldClock(origin time.Time, scale float64) *worldClock {
	if scale <= 0 {
		scale = 1
	}
	return &worldClock{origin: origin, originWorld: origin.UnixNano(), scale: scale}
}

// World returns the world time of wall instant t, Unix ns.
func (c *worldClock) World(t time.Time) int64 {
	return c.originWorld + int64(float64(t.Sub(c.origin))*c.scale)
}

// WorldDur converts a wall duration to world ns.
func (c *worldClock) WorldDur(d time.Duration) int64 { return int64(float64(d) * c.scale) }

// Wall converts a world duration (ns) to a wall duration.
func (c *worldClock) Wall(worldNS int64) time.Duration {
	return time.Duration(float64(worldNS) / c.scale)
}
