package mooncakegen

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"testing"
	"time"
)

type line struct {
	Timestamp    int64   `json:"timestamp"`
	InputLength  int     `json:"input_length"`
	OutputLength int     `json:"output_length"`
	HashIDs      []int64 `json:"hash_ids"`
}

func parse(t *testing.T, data []byte) []line {
	t.Helper()
	var out []line
	for i, l := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		var x line
		if err := json.Unmarshal(l, &x); err != nil {
			t.Fatalf("line %d: %v: %s", i+1, err, l)
		}
		out = append(out, x)
	}
	return out
}

func quantile(v []int, q float64) int {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))]
}

// TestConversationShape generates the conversation-sized trace and checks
// its size and shape against the figures it stands for, and the format:
// Mooncake lines, timestamps in order and inside the duration, as many
// hash ids as blocks, new ids consecutive in order of appearance.
func TestConversationShape(t *testing.T) {
	var buf bytes.Buffer
	st, err := Write(&buf, Conversation)
	if err != nil {
		t.Fatal(err)
	}
	lines := parse(t, buf.Bytes())
	if len(lines) != 12031 || st.Requests != 12031 || st.Bytes != int64(buf.Len()) {
		t.Fatalf("%d lines, stats %+v, %d bytes written", len(lines), st, buf.Len())
	}
	var inputs, outputs []int
	next, reused, blocks := int64(0), 0, 0
	seen := map[int64]bool{}
	var total int64
	for i, l := range lines {
		if i > 0 && l.Timestamp < lines[i-1].Timestamp || l.Timestamp < 0 || l.Timestamp >= time.Hour.Milliseconds() {
			t.Fatalf("line %d: timestamp %d out of order or range", i+1, l.Timestamp)
		}
		if want := (l.InputLength + BlockSize - 1) / BlockSize; len(l.HashIDs) != want {
			t.Fatalf("line %d: %d hash ids for %d tokens", i+1, len(l.HashIDs), l.InputLength)
		}
		for _, id := range l.HashIDs {
			if seen[id] {
				reused++
				continue
			}
			if id != next {
				t.Fatalf("line %d: new id %d, want %d", i+1, id, next)
			}
			seen[id] = true
			next++
		}
		blocks += len(l.HashIDs)
		inputs = append(inputs, l.InputLength)
		outputs = append(outputs, l.OutputLength)
		total += int64(l.InputLength)
	}
	if reused != st.ReusedBlocks || blocks != st.Blocks || total != st.InputTokens {
		t.Errorf("stats %+v, counted %d reused of %d blocks, %d tokens", st, reused, blocks, total)
	}
	near := func(what string, got, want, tol float64) {
		t.Helper()
		if math.Abs(got-want) > tol*want {
			t.Errorf("%s = %.3g, want %.3g ± %.0f %%", what, got, want, tol*100)
		}
	}
	near("input p50", float64(quantile(inputs, 0.5)), 7000, 0.05)
	near("input p99", float64(quantile(inputs, 0.99)), 85000, 0.1)
	near("input tokens", float64(total), 145e6, 0.1)
	near("block reuse", st.BlockReuse(), 0.31, 0.1)
	near("output p50", float64(quantile(outputs, 0.5)), 250, 0.1)
	t.Logf("%d requests, %d M input tokens, input p50 %d p99 %d, output p50 %d, reuse %.3f, %.2f MB",
		st.Requests, total/1e6, quantile(inputs, 0.5), quantile(inputs, 0.99), quantile(outputs, 0.5), st.BlockReuse(), float64(st.Bytes)/1e6)

	var again bytes.Buffer
	Write(&again, Conversation)
	if !bytes.Equal(again.Bytes(), buf.Bytes()) {
		t.Error("two runs with the same shape differ")
	}
}

func TestBadShape(t *testing.T) {
	for _, s := range []Shape{{}, {Requests: 5, Sessions: 6, Duration: time.Hour, InputP50: 1, InputP99: 1, OutputP50: 1, OutputP99: 1}} {
		if _, err := Write(&bytes.Buffer{}, s); err == nil {
			t.Errorf("shape %+v accepted", s)
		}
	}
}
