package convert

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/agentperf/agentperf/internal/mooncakegen"
	"github.com/agentperf/agentperf/schemas"
)

// conversation is the generated Mooncake trace of the conversation trace's
// size and shape (mooncakegen.Conversation) and its two imports: generated
// blocks stored as recipes (today) and as bytes (as before recipes).
type conversation struct {
	in             string
	gen            mooncakegen.Stats
	recipe, stored string
}

var conversationOnce struct {
	sync.Once
	c   conversation
	err error
}

// conversationSets generates the trace and imports it both ways, once per
// process, into $AGENTPERF_BENCH_DIR (kept, for runs of the binary such as
// replay --timestamps on it) or a temporary directory.
func conversationSets(b *testing.B) conversation {
	b.Helper()
	o := &conversationOnce
	o.Do(func() {
		root := os.Getenv("AGENTPERF_BENCH_DIR")
		if root == "" {
			dir, err := os.MkdirTemp("", "convert-conversation-")
			if err != nil {
				o.err = err
				return
			}
			sharedDirs = append(sharedDirs, dir)
			root = dir
		}
		dir := filepath.Join(root, "mooncake-conversation")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			o.err = err
			return
		}
		c := conversation{in: filepath.Join(dir, "conversation.jsonl"), recipe: filepath.Join(dir, "set"), stored: filepath.Join(dir, "set-stored")}
		c.gen = writeMooncake(b, c.in, mooncakegen.Conversation)
		for _, s := range []struct {
			dir    string
			stored bool
		}{{c.recipe, false}, {c.stored, true}} {
			if _, o.err = Import(context.Background(), c.in, s.dir, ImportOptions{Format: FormatMooncake, Overwrite: true, StoreGenerated: s.stored}); o.err != nil {
				return
			}
		}
		o.c = c
	})
	if o.err != nil {
		b.Fatal(o.err)
	}
	return o.c
}

func setBytes(b *testing.B, dir string) int64 {
	b.Helper()
	var n int64
	for _, f := range []string{schemas.SessionsFile, schemas.RequestsFile, schemas.BlobsFile} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			b.Fatal(err)
		}
		n += st.Size()
	}
	return n
}

// storage names the two ways a generated block is stored.
var storage = []struct {
	name   string
	stored bool
}{{"stored", true}, {"recipe", false}}

// BenchmarkImportMooncakeConversation imports a generated Mooncake trace of
// the conversation trace's size and shape (12,031 requests over an hour,
// ~151 M input tokens, 31 % block reuse, 3.1 MB), with filler blocks
// stored as bytes (as before recipes) and as recipes. MB/s is of input;
// set_MB is the trace set on disk and x_source its ratio to the JSONL.
func BenchmarkImportMooncakeConversation(b *testing.B) {
	c := conversationSets(b)
	st, err := os.Stat(c.in)
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range storage {
		b.Run(s.name, func(b *testing.B) {
			out := filepath.Join(b.TempDir(), "set")
			b.SetBytes(st.Size())
			var stats *ImportStats
			for i := 0; i < b.N; i++ {
				stats, err = Import(context.Background(), c.in, out, ImportOptions{Format: FormatMooncake, Overwrite: true, StoreGenerated: s.stored})
				if err != nil {
					b.Fatal(err)
				}
			}
			size := setBytes(b, out)
			b.ReportMetric(float64(stats.Requests*b.N)/b.Elapsed().Seconds(), "requests/s")
			b.ReportMetric(float64(size)/1e6, "set_MB")
			b.ReportMetric(float64(size)/float64(st.Size()), "x_source")
			b.ReportMetric(float64(stats.Sessions), "sessions")
		})
	}
}

// BenchmarkReadMooncakeConversation opens each import of the generated
// conversation trace and rebuilds every request body in file order
// (TraceSet.Body), as BenchmarkTraceSetRead does for a synthetic set.
// MB/s is of rebuilt request JSON: from stored blocks (the figure of
// sets before recipes) and from recipes, generated on read.
func BenchmarkReadMooncakeConversation(b *testing.B) {
	c := conversationSets(b)
	for _, s := range storage {
		dir := c.recipe
		if s.stored {
			dir = c.stored
		}
		b.Run(s.name, func(b *testing.B) {
			var body []byte
			var total int64
			for i := 0; i < b.N; i++ {
				ts, err := schemas.OpenTraceSet(dir, schemas.TraceSetOptions{})
				if err != nil {
					b.Fatal(err)
				}
				total = 0
				err = ts.Requests(func(r *schemas.Request) error {
					body, err = ts.Body(body[:0], r)
					total += int64(len(body))
					return err
				})
				ts.Close()
				if err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(total)
			b.ReportMetric(float64(c.gen.Requests*b.N)/b.Elapsed().Seconds(), "requests/s")
		})
	}
}

// BenchmarkBodiesMemoryMooncakeConversation builds every request body of
// the generated conversation trace one after another and reports the heap
// it took: peak_MB is the most heap in use (live and not yet collected)
// over the heap before, sampled every 50 requests; live_MB what stays
// after a GC with the set still open. "preload" holds every prompt blob in
// memory first, as replay's plan does today (replay/plan.go, preload);
// "on-demand" calls TraceSet.Parts and schemas.Rebuild per request with
// the default 256 MiB blob cache, as replay would after switching to it.
func BenchmarkBodiesMemoryMooncakeConversation(b *testing.B) {
	c := conversationSets(b)
	b.Run("preload", func(b *testing.B) {
		var peak, live int64
		for i := 0; i < b.N; i++ {
			peak, live = preloadScan(b, c.recipe, 50)
		}
		b.ReportMetric(float64(peak)/1e6, "peak_MB")
		b.ReportMetric(float64(live)/1e6, "live_MB")
	})
	b.Run("on-demand", func(b *testing.B) {
		var sc bodyScan
		for i := 0; i < b.N; i++ {
			sc = scanBodies(b, c.recipe, 0, 50)
		}
		b.SetBytes(sc.bodyBytes)
		b.ReportMetric(float64(sc.peakGrowth)/1e6, "peak_MB")
		b.ReportMetric(float64(sc.liveGrowth)/1e6, "live_MB")
	})
}

// preloadScan does what replay's LoadPlan does with a set whose blobs fit
// its 8 GiB preload budget: every blob body into a map, then each body
// rebuilt from it. It returns the peak and the after-GC heap growth.
func preloadScan(b *testing.B, set string, sample int) (peak, live int64) {
	b.Helper()
	runtime.GC()
	runtime.GC()
	base := heapInUse()
	ts, err := schemas.OpenTraceSet(set, schemas.TraceSetOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer ts.Close()
	type piece struct {
		kind string
		body []byte
		tok  int
	}
	blobs := map[int64]piece{}
	err = ts.Blobs(func(bl *schemas.Blob) error {
		body := strings.Clone(bl.Body)
		blobs[bl.ID] = piece{kind: bl.Kind, body: unsafe.Slice(unsafe.StringData(body), len(body)), tok: int(bl.Tokens)}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	var parts []schemas.Part
	var body []byte
	n := 0
	err = ts.Requests(func(r *schemas.Request) error {
		parts = parts[:0]
		for _, id := range r.Prompt {
			p, ok := blobs[id]
			if !ok {
				return fmt.Errorf("blob %d missing", id)
			}
			parts = append(parts, schemas.Part{Kind: p.kind, Body: p.body, Tokens: p.tok})
		}
		body = schemas.Rebuild(body[:0], r.API, []byte(r.Params), parts)
		if n++; n%sample == 0 {
			peak = max(peak, heapInUse()-base)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	live = heapInUse() - base
	runtime.KeepAlive(blobs)
	return peak, live
}
