package catalog

import (
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// figureForms returns the ways a figure may be written in a source:
// as is, with one or two decimals, with thousands separators, or in the
// next unit up (÷ 1000: TFLOPS as PF, GB as TB).
func figureForms(v float64) []string {
	var out []string
	for _, x := range []float64{v, v / 1000} {
		s := strconv.FormatFloat(x, 'f', -1, 64)
		out = append(out, s, strconv.FormatFloat(x, 'f', 1, 64), strconv.FormatFloat(x, 'f', 2, 64))
		if i := strings.IndexByte(s, '.'); x >= 1000 {
			intPart, frac := s, ""
			if i >= 0 {
				intPart, frac = s[:i], s[i:]
			}
			var b strings.Builder
			for j, c := range intPart {
				if j > 0 && (len(intPart)-j)%3 == 0 {
					b.WriteByte(',')
				}
				b.WriteRune(c)
			}
			out = append(out, b.String()+frac)
		}
	}
	return out
}

// cited reports whether source writes v in one of its forms, not as part
// of a longer number.
func cited(source string, v float64) bool {
	for _, f := range figureForms(v) {
		re := regexp.MustCompile(`(^|[^0-9.,])` + regexp.QuoteMeta(f) + `($|[^0-9.,]|[.,]($|[^0-9]))`)
		if re.MatchString(source) {
			return true
		}
	}
	return false
}

// uncited lists the non-zero numeric fields of entry (a struct) whose
// value its source does not write.
func uncited(entry any, source string) []string {
	var miss []string
	v := reflect.ValueOf(entry)
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := v.Field(i)
		var x float64
		switch f.Kind() {
		case reflect.Float64:
			x = f.Float()
		case reflect.Int:
			x = float64(f.Int())
		default:
			continue
		}
		if x == 0 || cited(source, x) {
			continue
		}
		miss = append(miss, strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0])
	}
	return miss
}

// TestEveryFigureHasASource holds the embedded catalog to its contract:
// every entry cites a source, and every figure it gives appears in that
// source text (the datasheet value, or the derivation's result).
func TestEveryFigureHasASource(t *testing.T) {
	check := func(what string, entry any, source string) {
		t.Helper()
		if source == "" {
			t.Errorf("%s: no source", what)
		} else if miss := uncited(entry, source); len(miss) > 0 {
			t.Errorf("%s: source does not state %s", what, strings.Join(miss, ", "))
		}
	}
	c := Default()
	for _, h := range c.Hardware {
		check("hardware "+h.Name, h, h.Source)
	}
	for _, m := range c.Models {
		check("model "+m.Name, m, m.Source)
	}
	for _, e := range c.Engines {
		check("engine "+e.Name, e, e.Source)
		for _, h := range e.Hardware {
			check("engine "+e.Name+" on "+strings.Join(h.Hardware, ","), h, h.Source)
		}
	}
}

func TestCited(t *testing.T) {
	for _, tc := range []struct {
		src  string
		v    float64
		want bool
	}{
		{"1,979 TF FP8", 1979, true},
		{"1979 TF", 1979, true},
		{"4.5 PF dense", 4500, true},
		{"3.35 TB/s", 3.35, true},
		{"13.35 TB/s", 3.35, false},
		{"19790", 1979, false},
		{"80 GB.", 80, true},
		{"80.3 W", 80, false},
	} {
		if got := cited(tc.src, tc.v); got != tc.want {
			t.Errorf("cited(%q, %v) = %v, want %v", tc.src, tc.v, got, tc.want)
		}
	}
}
