package jsonlex

import "testing"

func TestNumber(t *testing.T) {
	for _, c := range []struct {
		in  string
		end int
		ok  bool
	}{
		{"0", 1, true}, {"-0", 2, true}, {"12", 2, true}, {"012", 1, true}, {"1.5", 3, true},
		{"1e10", 4, true}, {"-2.5E-3,", 7, true}, {"1}", 1, true},
		{"-", 0, false}, {"1.", 0, false}, {"1e", 0, false}, {"1e+", 0, false}, {".5", 0, false}, {"-x", 0, false},
	} {
		if end, ok := Number([]byte(c.in), 0); end != c.end || ok != c.ok {
			t.Errorf("Number(%q) = %d, %v; want %d, %v", c.in, end, ok, c.end, c.ok)
		}
	}
}

func TestLiteralAndSpace(t *testing.T) {
	b := []byte(" \t\r\ntrue,nul")
	i := SkipSpace(b, 0)
	if i != 4 {
		t.Fatalf("SkipSpace = %d, want 4", i)
	}
	if end, ok := Literal(b, i, "true"); !ok || end != 8 {
		t.Errorf("Literal(true) = %d, %v", end, ok)
	}
	if end, ok := Literal(b, 9, "null"); ok || end != 9 {
		t.Errorf("Literal(null) on a cut literal = %d, %v; want 9, false", end, ok)
	}
	if SkipSpace(b[:4], 0) != 4 || IsSpace('x') {
		t.Error("SkipSpace to the end, or IsSpace of a letter")
	}
}
