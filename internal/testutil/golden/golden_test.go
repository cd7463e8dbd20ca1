package golden

import (
	"os"
	"path/filepath"
	"testing"
)

// recorder is a testing.TB that records failures instead of stopping.
type recorder struct {
	testing.TB
	failed, fatal bool
}

func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Fatalf(string, ...any) { r.fatal = true; panic(r) }
func (r *recorder) Helper()               {}
func (r *recorder) Name() string          { return "TestX" }

func check(path string, got []byte) (equal bool, r *recorder) {
	r = &recorder{}
	defer func() {
		if p := recover(); p != nil && p != r {
			panic(p)
		}
	}()
	return Check(r, path, got), r
}

func TestCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "testdata", "x.golden")
	if eq, r := check(path, []byte("a")); eq || !r.fatal {
		t.Errorf("missing file: equal %v, fatal %v; want a fatal failure", eq, r.fatal)
	}
	*update = true
	eq, r := check(path, []byte("a"))
	*update = false
	if b, err := os.ReadFile(path); !eq || r.failed || r.fatal || err != nil || string(b) != "a" {
		t.Errorf("-update: equal %v, failed %v, file %q (%v); want it written", eq, r.failed || r.fatal, b, err)
	}
	if eq, r := check(path, []byte("a")); !eq || r.failed {
		t.Errorf("same bytes: equal %v, failed %v", eq, r.failed)
	}
	if eq, r := check(path, []byte("b")); eq || !r.failed || r.fatal {
		t.Errorf("other bytes: equal %v, failed %v, fatal %v; want a failure that lets the test go on", eq, r.failed, r.fatal)
	}
}
