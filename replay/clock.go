package replay

import "time"

// Clock maps wall time to world time. World time runs Scale times faster
// than the wall clock from a common origin, so a wall duration d is d·Scale
// in the world and a world duration w takes w/Scale on the wall. The zero
// Scale means 1.
type Clock struct {
	origin      time.Time // wall, with monotonic reading
	originWorld int64     // Unix ns
	Scale       float64
}

// NewClock returns a clock whose world time equals the wall time at origin.
func NewClock(origin time.Time, scale float64) *Clock {
	if scale <= 0 {
		scale = 1
	}
	return &Clock{origin: origin, originWorld: origin.UnixNano(), Scale: scale}
}

// World returns the world time of wall instant t, Unix ns.
func (c *Clock) World(t time.Time) int64 {
	return c.originWorld + int64(float64(t.Sub(c.origin))*c.Scale)
}

// WorldDur converts a wall duration to world ns.
func (c *Clock) WorldDur(d time.Duration) int64 { return int64(float64(d) * c.Scale) }

// Wall converts a world duration (ns) to a wall duration.
func (c *Clock) Wall(worldNS int64) time.Duration { return time.Duration(float64(worldNS) / c.Scale) }
