// Package golden compares what a test produced with a golden file under
// testdata/ and, when the test binary runs with -update, rewrites the file
// instead. Importing it defines the -update flag, so a package that
// imports it must not define its own.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ with what the tests produce")

// Check compares got with the golden file at path and reports whether
// they are equal. With -update it first writes got to path (creating its
// directory). A missing file or a difference fails t with the file's name,
// what the test produced and how to accept it.
func Check(t testing.TB, path string, got []byte) bool {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return true
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (review, then run go test -run %s -update if the change is intended):\n--- got ---\n%s", t.Name(), path, t.Name(), got)
		return false
	}
	return true
}
