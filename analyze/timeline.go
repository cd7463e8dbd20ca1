package analyze

// timeline counts tokens by when they arrived: bucket i holds the tokens
// that arrived in [(lo+i)·2^shift, (lo+i+1)·2^shift) ns (Unix, world).
// Buckets start at about a millisecond and double in width whenever the
// span would need more than timelineBuckets of them, so a timeline never
// takes more than 64 KiB: a level of 12 minutes ends up with buckets of
// 134 ms, and the share of a 10-minute window's tokens that fall in its
// two edge buckets is about 0.04 %, counted pro rata (see sum). The zero
// value is empty.
type timeline struct {
	shift uint8
	lo    int64
	b     []float64
}

const (
	// timelineMinShift is the finest bucket: 2^20 ns ≈ 1 ms.
	timelineMinShift = 20
	// timelineBuckets bounds a timeline's buckets (8 B each).
	timelineBuckets = 1 << 13
)

// add counts w tokens at Unix ns t; t ≤ 0 (unknown) is ignored.
func (tl *timeline) add(t int64, w float64) {
	i := (t >> tl.shift) - tl.lo
	if uint64(i) < uint64(len(tl.b)) {
		tl.b[i] += w
		return
	}
	tl.addSlow(t, w)
}

func (tl *timeline) addSlow(t int64, w float64) {
	if t <= 0 || w == 0 {
		return
	}
	if len(tl.b) == 0 {
		if tl.shift < timelineMinShift {
			tl.shift = timelineMinShift
		}
		tl.lo = t >> tl.shift
		tl.b = append(tl.b[:0], w)
		return
	}
	tl.cover(t>>tl.shift, t>>tl.shift)
	tl.b[(t>>tl.shift)-tl.lo] += w
}

// cover grows (and if needed coarsens) the timeline so that the bucket
// indexes from..to at the current shift exist.
func (tl *timeline) cover(from, to int64) {
	lo, hi := min(tl.lo, from), max(tl.lo+int64(len(tl.b))-1, to)
	for hi-lo+1 > timelineBuckets {
		tl.coarsen()
		lo, hi = lo>>1, hi>>1
	}
	if lo < tl.lo {
		n := make([]float64, int(tl.lo-lo)+len(tl.b), max(int(hi-lo+1), 2*len(tl.b)))
		copy(n[tl.lo-lo:], tl.b)
		tl.b, tl.lo = n, lo
	}
	for int64(len(tl.b)) < hi-tl.lo+1 {
		tl.b = append(tl.b, 0)
	}
}

// coarsen doubles the bucket width.
func (tl *timeline) coarsen() {
	lo := tl.lo >> 1
	hi := (tl.lo + int64(len(tl.b)) - 1) >> 1
	n := make([]float64, hi-lo+1)
	for i, w := range tl.b {
		n[((tl.lo+int64(i))>>1)-lo] += w
	}
	tl.b, tl.lo, tl.shift = n, lo, tl.shift+1
}

// merge adds o's tokens to tl.
func (tl *timeline) merge(o *timeline) {
	if len(o.b) == 0 {
		return
	}
	if len(tl.b) == 0 {
		tl.shift, tl.lo, tl.b = o.shift, o.lo, append([]float64(nil), o.b...)
		return
	}
	src := *o
	src.b = append([]float64(nil), o.b...)
	for {
		for src.shift < tl.shift {
			src.coarsen()
		}
		for tl.shift < src.shift {
			tl.coarsen()
		}
		lo := min(tl.lo, src.lo)
		hi := max(tl.lo+int64(len(tl.b)), src.lo+int64(len(src.b))) - 1
		if hi-lo+1 <= timelineBuckets {
			break
		}
		tl.coarsen()
	}
	tl.cover(src.lo, src.lo+int64(len(src.b))-1)
	for i, w := range src.b {
		tl.b[src.lo+int64(i)-tl.lo] += w
	}
}

// sum returns the tokens that arrived in [from, to) ns, taking a bucket
// cut by an end pro rata (tokens spread evenly over a bucket).
func (tl *timeline) sum(from, to int64) float64 {
	if to <= from || len(tl.b) == 0 {
		return 0
	}
	width := int64(1) << tl.shift
	var s float64
	first := max(from>>tl.shift, tl.lo)
	last := min((to-1)>>tl.shift, tl.lo+int64(len(tl.b))-1)
	for k := first; k <= last; k++ {
		w := tl.b[k-tl.lo]
		if w == 0 {
			continue
		}
		a, b := k<<tl.shift, (k+1)<<tl.shift
		in := min(b, to) - max(a, from)
		if in >= width {
			s += w
		} else if in > 0 {
			s += w * float64(in) / float64(width)
		}
	}
	return s
}

// total returns every token counted.
func (tl *timeline) total() float64 {
	var s float64
	for _, w := range tl.b {
		s += w
	}
	return s
}
