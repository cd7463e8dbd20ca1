package convert

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/tokens"
)

// DefaultMooncakeEpoch is the wall-clock time given to Mooncake timestamp 0
// on import (Mooncake timestamps are milliseconds from the trace start,
// while a trace set stores Unix ns and reserves 0 for "unknown").
var DefaultMooncakeEpoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// mooncakeStream is the params field every imported Mooncake request has
// besides max_tokens: it streams. No model is named (Mooncake traces carry
// none; replay sets the target's).
const mooncakeStream = `"stream":true`

// mooncakeLine is one line of a Mooncake trace.
type mooncakeLine struct {
	Timestamp    *float64 `json:"timestamp"`
	InputLength  *int64   `json:"input_length"`
	OutputLength *int64   `json:"output_length"`
	HashIDs      *[]int64 `json:"hash_ids"`
}

// mooncakeRequest is a validated Mooncake line.
type mooncakeRequest struct {
	// TimestampMS is the arrival time, ms from the trace start.
	TimestampMS float64
	Input       int
	Output      int
	HashIDs     []int64
}

// parseMooncakeLine decodes and validates one Mooncake line: all four
// fields present, lengths in range, and as many hash ids as the input has
// 512-token blocks.
func parseMooncakeLine(line []byte) (mooncakeRequest, error) {
	var l mooncakeLine
	if err := decodeJSON(line, &l); err != nil {
		return mooncakeRequest{}, err
	}
	var missing []string
	if l.Timestamp == nil {
		missing = append(missing, "timestamp")
	}
	if l.InputLength == nil {
		missing = append(missing, "input_length")
	}
	if l.OutputLength == nil {
		missing = append(missing, "output_length")
	}
	if l.HashIDs == nil {
		missing = append(missing, "hash_ids")
	}
	if len(missing) > 0 {
		return mooncakeRequest{}, fmt.Errorf("not a Mooncake line: missing %s", strings.Join(missing, ", "))
	}
	r := mooncakeRequest{TimestampMS: *l.Timestamp, HashIDs: *l.HashIDs}
	switch {
	case math.IsNaN(r.TimestampMS) || r.TimestampMS < 0 || r.TimestampMS > 1e15:
		return r, fmt.Errorf("timestamp %v ms out of range", r.TimestampMS)
	case *l.InputLength < 1 || *l.InputLength > math.MaxInt32:
		return r, fmt.Errorf("input_length %d out of range (1..%d)", *l.InputLength, math.MaxInt32)
	case *l.OutputLength < 0 || *l.OutputLength > math.MaxInt32:
		return r, fmt.Errorf("output_length %d out of range (0..%d)", *l.OutputLength, math.MaxInt32)
	}
	r.Input, r.Output = int(*l.InputLength), int(*l.OutputLength)
	if want := (r.Input + tokens.BlockSize - 1) / tokens.BlockSize; len(r.HashIDs) != want {
		return r, fmt.Errorf("hash_ids has %d blocks but input_length %d needs %d (%d-token blocks)", len(r.HashIDs), r.Input, want, tokens.BlockSize)
	}
	return r, nil
}

// blockTokens returns the token count of block i of an input of n blocks
// and input tokens: BlockSize for all but the last block, the rest for it.
func blockTokens(i, n, input int) int {
	if i < n-1 {
		return tokens.BlockSize
	}
	return input - tokens.BlockSize*(n-1)
}

// mooncakeSessions groups Mooncake requests into sessions by prefix chain.
// A request continues a session when the full (512-token) blocks of the
// session's last request are a prefix of the request's hash_ids and the
// request's input is longer than that last request's; among several such
// sessions the one with the longest matching prefix (then the most recent)
// wins. Any other request starts a new session. Memory grows with the
// number of sessions (their last prefix is kept).
type mooncakeSessions struct {
	tails []mooncakeTail
	// byLast maps the last id of a session's tail to the session.
	byLast map[int64]int
}

type mooncakeTail struct {
	full    []int64 // full-block ids of the last request
	input   int     // input tokens of the last request
	startNS int64   // arrival of the last request
}

// assign returns the session index of r and the session's previous start
// (0 for a new session).
func (s *mooncakeSessions) assign(r mooncakeRequest, startNS int64) (idx int, prevStart int64, isNew bool) {
	if s.byLast == nil {
		s.byLast = map[int64]int{}
	}
	idx = -1
	for j := len(r.HashIDs) - 1; j >= 0 && idx < 0; j-- {
		cand, ok := s.byLast[r.HashIDs[j]]
		if !ok {
			continue
		}
		t := &s.tails[cand]
		if len(t.full) != j+1 || r.Input <= t.input || !equalIDs(t.full, r.HashIDs[:j+1]) {
			continue
		}
		idx = cand
	}
	full := len(r.HashIDs)
	if r.Input%tokens.BlockSize != 0 {
		full--
	}
	if idx < 0 {
		idx = len(s.tails)
		s.tails = append(s.tails, mooncakeTail{})
		isNew = true
	} else {
		t := &s.tails[idx]
		prevStart = t.startNS
		if n := len(t.full); n > 0 && s.byLast[t.full[n-1]] == idx {
			delete(s.byLast, t.full[n-1])
		}
	}
	t := &s.tails[idx]
	t.full = append(t.full[:0], r.HashIDs[:full]...)
	t.input = r.Input
	t.startNS = startNS
	if full > 0 {
		s.byLast[t.full[full-1]] = idx
	}
	return idx, prevStart, isNew
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// mooncakeBlock returns the part of block id of n tokens: a user message
// whose text is the first n tokens of the block's filler (seeded by the
// Mooncake hash id, so equal ids give equal text). The writer stores it as
// its recipe (schemas.FillerMessage), about 20 bytes instead of ~3.4 KB a
// full block, and readers rebuild the same bytes.
func mooncakeBlock(id int64, n int) schemas.Part {
	return schemas.Part{Kind: schemas.KindMessage, Recipe: schemas.FillerMessage(uint64(id), n), Tokens: n}
}

// mooncakeSessionID names the n-th (0-based) session of an import.
func mooncakeSessionID(n int) string { return fmt.Sprintf("mooncake-%06d", n+1) }

func (im *importer) importMooncake(files []string) error {
	epoch := im.opt.MooncakeEpoch
	if epoch.IsZero() {
		epoch = DefaultMooncakeEpoch
	}
	var groups mooncakeSessions
	var parts []schemas.Part
	for _, file := range files {
		err := im.eachLine(file, func(lr *lineReader, line []byte) error {
			r, err := parseMooncakeLine(line)
			if err != nil {
				return im.bad(im.lineErr(lr, err))
			}
			start := epoch.UnixNano() + int64(math.Round(r.TimestampMS*1e6))
			idx, prev, isNew := groups.assign(r, start)
			id := mooncakeSessionID(idx)
			if isNew {
				im.session(schemas.Session{ID: id, Agent: AgentMooncake})
			}
			parts = parts[:0]
			n := len(r.HashIDs)
			for i, h := range r.HashIDs {
				parts = append(parts, mooncakeBlock(h, blockTokens(i, n, r.Input)))
			}
			t := schemas.Turn{
				SessionID:    id,
				API:          schemas.APIOpenAIChat,
				Params:       []byte(`{"max_tokens":` + strconv.Itoa(r.Output) + `,` + mooncakeStream + `}`),
				Parts:        parts,
				StartNS:      start,
				OutputTokens: r.Output,
			}
			if !isNew {
				t.ThinkNS = max(0, start-prev)
			}
			return im.write(&t)
		})
		if err != nil {
			return err
		}
	}
	return nil
}
