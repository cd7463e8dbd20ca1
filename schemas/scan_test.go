package schemas

import (
	"context"
	"reflect"
	"slices"
	"testing"
)

// TestScanRowGroup decodes the schema 1.1 fixture column-wise, in windows
// smaller than its row groups, and compares every field with the row API.
func TestScanRowGroup(t *testing.T) {
	rf, err := OpenResults(oldResults())
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	var want []Result
	rf.Each(func(r *Result) error {
		c := *r
		c.ChunkOffsetsUS = slices.Clone(r.ChunkOffsetsUS)
		want = append(want, c)
		return nil
	})
	var got []Result
	var chunks [][]int32
	var cols ResultColumns
	for g := range rf.NumRowGroups() {
		base := 0
		err := rf.ScanRowGroup(context.Background(), g, &cols, ResultScan{
			Window:  7,
			Scalars: func(b *ResultColumns) { base = len(chunks); chunks = append(chunks, make([][]int32, b.N)...) },
			Chunks: func(row int, offs []int32, _ int32, _ bool) {
				chunks[base+row] = append(chunks[base+row], offs...)
			},
			Rows: func(b *ResultColumns) error {
				for i := range b.N {
					got = append(got, Result{
						RunID: b.RunIDs[b.RunID[i]], Shard: b.Shard[i], Level: b.Level[i], Users: b.Users[i],
						Phase: b.Phases[b.Phase[i]], User: b.User[i], SessionID: b.SessionIDs[b.SessionID[i]], Turn: b.Turn[i],
						ScheduledNS: b.ScheduledNS[i], SentNS: b.SentNS[i], FirstTokenNS: b.FirstTokenNS[i], EndNS: b.EndNS[i],
						InputTokens: b.InputTokens[i], CachedTokens: b.CachedTokens[i], OutputTokens: b.OutputTokens[i],
						ExpectedInputTokens: b.ExpectedInputTokens[i], Status: b.Status[i], Error: b.Errors[b.Error[i]],
					})
					if n := b.Chunks[i]; n > 0 && (b.FirstChunk[i] != chunks[len(got)-1][0] || b.LastChunk[i] != chunks[len(got)-1][n-1]) {
						t.Fatalf("row %d: first/last chunk %d/%d", len(got)-1, b.FirstChunk[i], b.LastChunk[i])
					}
				}
				return nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != len(want) || len(got) == 0 {
		t.Fatalf("%d rows scanned, %d read", len(got), len(want))
	}
	for i := range want {
		w := want[i]
		if !slices.Equal(chunks[i], w.ChunkOffsetsUS) {
			t.Fatalf("row %d chunks %v, want %v", i, chunks[i], w.ChunkOffsetsUS)
		}
		w.ChunkOffsetsUS, w.API, w.ReasoningTokens, w.ExpectedOutputTokens = nil, "", 0, 0
		if !reflect.DeepEqual(got[i], w) {
			t.Fatalf("row %d:\n got %+v\nwant %+v", i, got[i], w)
		}
	}
	if rf.ChunkOffsets() == 0 {
		t.Error("no chunk offsets counted")
	}
}
