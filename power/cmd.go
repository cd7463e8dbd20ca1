package power

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// maxRetry caps the wait between runs of a failing command.
const maxRetry = 30 * time.Second

// cmdSource runs a command and reads watts from its output.
type cmdSource struct {
	src   Source
	grace time.Duration // SIGTERM → SIGKILL
	// started, when set, is called with each process's id (tests).
	started func(pid int)
}

// run runs the command until ctx ends: a command that exits 0 after
// printing readings is run again after Interval (polling); one that fails
// to start, fails, or prints none is a gap, retried after Interval,
// doubling up to maxRetry.
func (c cmdSource) run(ctx context.Context, t *tracker) {
	every := orDuration(c.src.Interval, DefaultInterval)
	wait := every
	for {
		n, err := c.once(ctx, t)
		if ctx.Err() != nil {
			return
		}
		if err == nil && n == 0 {
			err = errors.New("exited without printing a power reading")
		}
		if err != nil {
			t.fail(time.Now(), err)
		} else {
			wait = every
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if err != nil {
			wait = min(2*wait, max(maxRetry, every))
		}
	}
}

// once runs the command one time, reading samples into t until its output
// ends; it returns the number of samples read and why the run failed.
func (c cmdSource) once(ctx context.Context, t *tracker) (int, error) {
	cmd := exec.Command(c.src.Args[0], c.src.Args[1:]...)
	// amd-smi is a Python program: unbuffered, its lines come as printed.
	cmd.Env = append(os.Environ(), "PYTHONUNBUFFERED=1")
	stderr := &tail{max: 1024}
	cmd.Stderr = stderr
	// Our own pipe, not StdoutPipe: Wait may then run while the output is
	// read, and closing the read end unblocks a read held up by a process
	// that escaped the group with the pipe open.
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer pr.Close()
	cmd.Stdout = pw
	setGroup(cmd)
	// Children that keep stderr open after the command exits do not hold
	// Wait past the grace period.
	cmd.WaitDelay = c.grace
	err = cmd.Start()
	pw.Close()
	if err != nil {
		return 0, fmt.Errorf("starting %s: %v", c.src.Args[0], err)
	}
	if c.started != nil {
		c.started(cmd.Process.Pid)
	}
	var werr error
	exited := make(chan struct{})
	go func() {
		werr = cmd.Wait()
		killGroup(cmd) // what it left behind
		close(exited)
	}()
	readDone := make(chan struct{})
	go func() {
		select {
		case <-readDone:
		case <-ctx.Done():
			stopGroup(cmd, c.grace, exited)
			<-exited
			pr.Close()
		}
	}()
	n, rerr := c.read(pr, t)
	close(readDone)
	if rerr != nil {
		// Unreadable output (a line over 64 KiB): stop the command; it is
		// retried like one that failed.
		killGroup(cmd)
	}
	<-exited
	if rerr != nil {
		return n, rerr
	}
	if werr != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg != "" {
			return n, fmt.Errorf("%s: %v: %s", c.src.Args[0], werr, msg)
		}
		return n, fmt.Errorf("%s: %v", c.src.Args[0], werr)
	}
	return n, nil
}

// read parses the command's output until it ends and returns the number of
// samples taken, and an error when the output could not be read.
func (c cmdSource) read(out io.Reader, t *tracker) (int, error) {
	br := bufio.NewReaderSize(out, 64<<10)
	if looksLikeJSON(br) {
		return c.readJSON(br, t), nil
	}
	g := &grouper{gpus: c.src.GPUs, pause: orDuration(c.src.Pause, DefaultPause)}
	if c.src.Pause < 0 {
		g.pause = 0
	}
	tab := newTable()
	n := 0
	emit := func(done []group) {
		for _, gr := range done {
			if t.take(gr.at, gr.readings) {
				n++
			}
		}
	}
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		at := time.Now()
		kind, r := tab.parse(sc.Text())
		switch kind {
		case lineHeader:
			emit(g.flush(nil))
		case lineReading:
			emit(g.add(r, at))
		}
	}
	emit(g.flush(nil))
	if err := sc.Err(); err != nil {
		return n, fmt.Errorf("reading the output: %v", err)
	}
	return n, nil
}

func (c cmdSource) readJSON(br *bufio.Reader, t *tracker) int {
	dec := json.NewDecoder(br)
	n := 0
	for {
		var v any
		err := dec.Decode(&v)
		if err == io.EOF {
			return n
		}
		if err != nil {
			t.fail(time.Now(), fmt.Errorf("JSON output: %v", err))
			return n
		}
		if t.take(time.Now(), jsonReadings(v)) {
			n++
		}
	}
}

// looksLikeJSON peeks at the output's first bytes: an object, or an array
// of objects (not nvidia-smi's "[N/A]").
func looksLikeJSON(br *bufio.Reader) bool {
	for n := 1; n <= 256; n++ {
		b, err := br.Peek(n)
		if len(b) < n {
			return false
		}
		s := bytes.TrimLeft(b, " \t\r\n")
		switch {
		case len(s) == 0:
		case s[0] == '{':
			return true
		case s[0] != '[':
			return false
		case len(bytes.TrimLeft(s[1:], " \t\r\n")) > 0:
			return bytes.TrimLeft(s[1:], " \t\r\n")[0] == '{'
		}
		if err != nil {
			return false
		}
	}
	return false
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (w *tail) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b = append(w.b, p...)
	if len(w.b) > w.max {
		w.b = append(w.b[:0], w.b[len(w.b)-w.max:]...)
	}
	return len(p), nil
}

func (w *tail) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.b)
}
