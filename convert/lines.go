package convert

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// MaxLineBytes bounds one JSONL line. Real transcripts hold lines of many
// MB (a tool result with a whole file, an image); a line beyond this is
// reported as bad instead of exhausting memory.
const MaxLineBytes = 256 << 20

// LineError names the file and 1-based line of a bad input line.
type LineError struct {
	File string
	Line int
	Err  error
}

func (e *LineError) Error() string {
	if e.Line <= 0 {
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	}
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// errLineTooLong is returned for a line longer than MaxLineBytes.
var errLineTooLong = fmt.Errorf("line longer than %d MiB", MaxLineBytes>>20)

// lineReader reads a JSONL stream line by line with a reusable buffer, so
// memory stays bounded by the longest line (not the file), and lines of
// any length up to MaxLineBytes are accepted.
type lineReader struct {
	r    *bufio.Reader
	name string
	// n is the number of the line last returned (1-based).
	n   int
	buf []byte
	// complete reports whether the line last returned ended with a newline;
	// false only for a last line without one (possibly truncated).
	complete bool
	// max is the longest line accepted, in bytes.
	max int
}

func newLineReader(r io.Reader, name string) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 1<<20), name: name, max: MaxLineBytes}
}

// next returns the next non-blank line without its line ending, valid until
// the following call. At the end of input it returns io.EOF. A line too
// long is consumed and reported as a *LineError wrapping errLineTooLong.
func (l *lineReader) next() ([]byte, error) {
	for {
		l.buf = l.buf[:0]
		tooLong := false
		var err error
		for {
			var chunk []byte
			chunk, err = l.r.ReadSlice('\n')
			if !tooLong {
				if len(l.buf)+len(chunk) > l.max {
					tooLong = true
					l.buf = l.buf[:0]
				} else {
					l.buf = append(l.buf, chunk...)
				}
			}
			if err != bufio.ErrBufferFull {
				break
			}
		}
		if err != nil && err != io.EOF {
			return nil, &LineError{File: l.name, Line: l.n + 1, Err: err}
		}
		if err == io.EOF && len(l.buf) == 0 && !tooLong {
			return nil, io.EOF
		}
		l.n++
		l.complete = err == nil
		if tooLong {
			return nil, &LineError{File: l.name, Line: l.n, Err: errLineTooLong}
		}
		line := bytes.TrimRight(l.buf, "\r\n")
		if len(bytes.TrimSpace(line)) == 0 {
			if err == io.EOF {
				return nil, io.EOF
			}
			continue
		}
		return line, nil
	}
}

// lineErr wraps err as a *LineError for the line last returned, adding a
// hint when that line is the last one, lacks its newline and ends in the
// middle of a JSON value (a truncated file).
func (l *lineReader) lineErr(err error) *LineError {
	var se *jsonSyntax
	if !l.complete && errors.As(err, &se) && se.eof {
		err = fmt.Errorf("%w (the last line has no newline: truncated file?)", err)
	}
	return &LineError{File: l.name, Line: l.n, Err: err}
}
