package replay

import "github.com/agentperf/agentperf/schemas"

// Sink receives a run's result rows and metadata; *schemas.ResultsWriter
// is the one replay writes files with.
type Sink interface {
	// Write takes one row; the row is not used after Write returns.
	Write(*schemas.Result) error
	// Flush ends a level (a row group of a results file).
	Flush() error
	// SetRunMeta hands over the run metadata, which the run keeps
	// completing until it returns; the sink stores it when closed.
	SetRunMeta(*schemas.RunMeta)
}

var _ Sink = (*schemas.ResultsWriter)(nil)

// writer owns the sink on its own goroutine, so users never wait on the
// disk: rows queue in a buffered channel. A synchronous writer (a
// virtual-time run, whose one goroutine sends every row) writes each row
// to the sink as it comes, without the goroutine and its wake-ups.
type writer struct {
	sink     Sink // set for a synchronous writer
	rows     chan *schemas.Result
	flushReq chan chan error
	done     chan error
	closed   bool
	err      error
}

// startWriter starts the goroutine writing rows to sink.
func startWriter(sink Sink) *writer {
	w := &writer{rows: make(chan *schemas.Result, 16384), flushReq: make(chan chan error), done: make(chan error, 1)}
	go w.loop(sink)
	return w
}

// startSyncWriter returns a synchronous writer to sink: its methods must
// be called from one goroutine.
func startSyncWriter(sink Sink) *writer { return &writer{sink: sink} }

// write queues one row.
func (w *writer) write(r *schemas.Result) {
	if w.sink != nil {
		if w.err == nil {
			w.err = w.sink.Write(r)
		}
		return
	}
	w.rows <- r
}

// flush writes the queued rows and ends the level.
func (w *writer) flush() error {
	if w.sink != nil {
		if w.err == nil {
			w.err = w.sink.Flush()
		}
		return w.err
	}
	done := make(chan error, 1)
	w.flushReq <- done
	return <-done
}

// close writes the queued rows, flushes and stops the goroutine; it
// returns the first error met. Calling it again returns the same error.
func (w *writer) close() error {
	if w.sink != nil && !w.closed {
		w.closed = true
		return w.flush()
	}
	if !w.closed {
		w.closed = true
		close(w.rows)
		w.err = <-w.done
	}
	return w.err
}

func (w *writer) loop(sink Sink) {
	var err error
	for {
		select {
		case res, ok := <-w.rows:
			if !ok {
				if err == nil {
					err = sink.Flush()
				}
				w.done <- err
				return
			}
			if err == nil {
				err = sink.Write(res)
			}
		case done := <-w.flushReq:
			// Drain what is queued, then end the row group.
			for n := len(w.rows); n > 0 && err == nil; n-- {
				err = sink.Write(<-w.rows)
			}
			if err == nil {
				err = sink.Flush()
			}
			done <- err
		}
	}
}
