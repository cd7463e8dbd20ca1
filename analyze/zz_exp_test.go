package analyze

import (
	"context"
	"testing"
	"time"

	"github.com/agentperf/agentperf/schemas"
)

func TestExpRead(t *testing.T) {
	f, _ := schemas.OpenResults("/tmp/apx/r.parquet")
	for _, w := range []int{1, 2} {
		start := time.Now()
		ls, err := readFiles(context.Background(), []*schemas.ResultsFile{f}, w, 0.1)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("workers %d: %d rows in %v", w, ls.rows, time.Since(start))
	}
}
