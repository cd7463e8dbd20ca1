package schemas_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/synth"
)

// benchSet is the default synthetic workload (20 sessions, seed 1): the
// generated calls and the set written from them, made once per process.
var benchSet = sync.OnceValues(func() (*benchData, error) {
	dir, err := os.MkdirTemp("", "trace-bench-")
	if err != nil {
		return nil, err
	}
	d := &benchData{dir: filepath.Join(dir, "set")}
	err = synth.Generate(context.Background(), synth.Options{Seed: 1}, func(c *synth.Call) error {
		d.calls = append(d.calls, c)
		d.jsonBytes += int64(len(schemas.Rebuild(nil, c.Turn.API, c.Turn.Params, c.Turn.Parts)))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return d, writeSet(d.dir, d.calls)
})

type benchData struct {
	dir       string
	calls     []*synth.Call
	jsonBytes int64 // rebuilt request bodies, summed
}

func writeSet(dir string, calls []*synth.Call) error {
	w, err := schemas.CreateTraceSet(dir, schemas.TraceWriterOptions{Overwrite: true})
	if err != nil {
		return err
	}
	last := ""
	for _, c := range calls {
		if c.Turn.SessionID != last {
			last = c.Turn.SessionID
			w.SetSession(schemas.Session{ID: last, Source: schemas.SourceSynth, Agent: "synth"})
		}
		if _, _, err := w.PutBlob(schemas.KindMessage, c.Turn.Response[0], c.ResponseTokens); err != nil {
			w.Abort()
			return err
		}
		if _, err := w.WriteTurn(&c.Turn); err != nil {
			w.Abort()
			return err
		}
	}
	return w.Close()
}

func loadBench(b *testing.B) *benchData {
	b.Helper()
	d, err := benchSet()
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkTraceSetWrite writes the default synthetic set (1.5K requests,
// 43M input tokens) from parts with known token counts. MB/s is of the
// request JSON those rows stand for (the rebuilt bodies).
func BenchmarkTraceSetWrite(b *testing.B) {
	d := loadBench(b)
	dir := b.TempDir()
	b.SetBytes(d.jsonBytes)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := writeSet(filepath.Join(dir, "set"), d.calls); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(d.calls))*float64(b.N)/b.Elapsed().Seconds(), "requests/s")
}

// BenchmarkTraceSetRead opens the default synthetic set and rebuilds every
// request body in file order. MB/s is of rebuilt request JSON.
func BenchmarkTraceSetRead(b *testing.B) {
	d := loadBench(b)
	b.SetBytes(d.jsonBytes)
	b.ReportAllocs()
	b.ResetTimer()
	var buf []byte
	for i := 0; i < b.N; i++ {
		ts, err := schemas.OpenTraceSet(d.dir, schemas.TraceSetOptions{})
		if err != nil {
			b.Fatal(err)
		}
		var n int64
		err = ts.Requests(func(r *schemas.Request) error {
			buf, err = ts.Body(buf[:0], r)
			n += int64(len(buf))
			return err
		})
		ts.Close()
		if err != nil {
			b.Fatal(err)
		}
		if n != d.jsonBytes {
			b.Fatalf("rebuilt %d bytes, want %d", n, d.jsonBytes)
		}
	}
	b.ReportMetric(float64(len(d.calls))*float64(b.N)/b.Elapsed().Seconds(), "requests/s")
}

// BenchmarkTraceSetReadParallel rebuilds every body from one open set with
// GOMAXPROCS goroutines taking requests in turn, as replay's users do.
func BenchmarkTraceSetReadParallel(b *testing.B) {
	d := loadBench(b)
	ts, err := schemas.OpenTraceSet(d.dir, schemas.TraceSetOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer ts.Close()
	var reqs []schemas.Request
	ts.Requests(func(r *schemas.Request) error {
		c := *r
		c.Prompt = append([]int64(nil), r.Prompt...)
		reqs = append(reqs, c)
		return nil
	})
	b.SetBytes(d.jsonBytes)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var wg sync.WaitGroup
		workers := 4
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				var buf []byte
				for j := w; j < len(reqs); j += workers {
					var err error
					if buf, err = ts.Body(buf[:0], &reqs[j]); err != nil {
						b.Error(err)
						return
					}
				}
			}(w)
		}
		wg.Wait()
	}
}
