package target

import (
	"reflect"
	"testing"
)

func TestFitContext(t *testing.T) {
	s := func(prompts ...int) []TurnTokens {
		out := make([]TurnTokens, len(prompts))
		for i, p := range prompts {
			out[i] = TurnTokens{Prompt: p, Output: 100}
		}
		return out
	}
	sessions := [][]TurnTokens{
		s(1000, 5000, 9000),        // fits
		s(1000, 9950, 20000, 3000), // second turn 9950+100 > 10000: keep 1
		s(12000, 500),              // first turn too long: skipped
		s(),                        // empty
		s(9900),                    // exactly 10000: fits
	}
	tests := []struct {
		name   string
		limit  int
		policy ContextPolicy
		want   ContextFit
	}{
		{"truncate", 10000, ContextTruncate, ContextFit{Keep: []int{3, 1, 0, 0, 1}, Truncated: 1, Skipped: 1, Sessions: 5,
			DroppedTurns: 5, KeptTurns: 5, Longest: 20100}},
		{"skip", 10000, ContextSkip, ContextFit{Keep: []int{3, 0, 0, 0, 1}, Skipped: 2, Sessions: 5,
			DroppedTurns: 6, KeptTurns: 4, Longest: 20100}},
		{"no limit", 0, ContextTruncate, ContextFit{Keep: []int{3, 4, 2, 0, 1}, Sessions: 5, KeptTurns: 10, Longest: 20100}},
	}
	for _, tt := range tests {
		got := FitContext(sessions, tt.limit, tt.policy)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.name, got, tt.want)
		}
	}
}
