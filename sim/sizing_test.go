package sim

import "testing"

// TestSizingHelpers: the per-request summaries of the cost model behave
// as their doc comments say.
func TestSizingHelpers(t *testing.T) {
	resolve := func(cfg Config) *Plan {
		t.Helper()
		p, err := Resolve(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	h200 := resolve(Config{Hardware: "h200", Model: "gpt-oss-120b"})
	tp2 := resolve(Config{Hardware: "h200", Model: "gpt-oss-120b", TP: 2, Accelerators: 2})
	small := resolve(Config{Hardware: "h200", Model: "gpt-oss-120b", MaxBatch: 8})

	if got := h200.PrefillSeconds(0, 0); got != 0 {
		t.Errorf("PrefillSeconds of nothing = %v, want 0", got)
	}
	short, long := h200.PrefillSeconds(0, 1000), h200.PrefillSeconds(0, 10000)
	if !(short > 0) || !(long > 10*short*0.99) {
		t.Errorf("PrefillSeconds 1k = %v, 10k = %v: want positive and at least ×10 (attention grows with position)", short, long)
	}
	if deep := h200.PrefillSeconds(50000, 1000); !(deep > short) {
		t.Errorf("PrefillSeconds of 1k tokens after 50k cached = %v, want more than from 0 (%v)", deep, short)
	}
	if got := tp2.PrefillSeconds(0, 10000); !(got < long) {
		t.Errorf("PrefillSeconds on TP 2 = %v, want less than on 1 (%v)", got, long)
	}

	for _, c := range []struct {
		name string
		p    *Plan
		ctx  int
		want int
	}{
		{"KV-bound", h200, 30000, h200.KVTokens / (30000 + h200.windowTokens())},
		{"batch-bound", h200, 10, DefaultMaxBatch},
		{"max batch 8", small, 1000, 8},
		{"larger than the cache", h200, 10 * h200.KVTokens, 1},
	} {
		if got := c.p.DecodeBatch(c.ctx); got != c.want {
			t.Errorf("%s: DecodeBatch(%d) = %d, want %d", c.name, c.ctx, got, c.want)
		}
	}

	alone, batched := h200.DecodeTokenSeconds(1, 4000), h200.DecodeTokenSeconds(64, 4000)
	if !(alone > 0) || !(batched < alone) {
		t.Errorf("DecodeTokenSeconds alone %v, at batch 64 %v: want the batch to amortise the weights", alone, batched)
	}
	// A lone stream on an H200 runs gpt-oss-120b at tens to hundreds of
	// tokens per second.
	if speed := 1 / alone; speed < 50 || speed > 1000 {
		t.Errorf("lone decode speed %.0f tok/s, want 50–1000", speed)
	}
}
