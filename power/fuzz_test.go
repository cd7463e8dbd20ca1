package power

import (
	"bytes"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzParseSource: any spec parses to a usable source or an error, never a
// panic, and a source's label never carries the URL's password.
func FuzzParseSource(f *testing.F) {
	for _, s := range []string{
		"prom+http://node-a:9400/metrics",
		`prom+https://u:pw@h:1/m?match={gpu=~"0|1",x!="y"}&metric=a_b&scale=2&interval=1s&k=v`,
		"cmd:nvidia-smi --query-gpu=power.draw --format=csv,noheader,nounits -lms 200",
		`cmd(gpus=8,system=n,pause=0):sh -c 'echo "a b"; exit 3'`,
		"cmd(:x", `prom+http://h/m?match=a=~"(`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := ParseSource(spec)
		if err != nil {
			return
		}
		switch s.Kind {
		case KindProm:
			u, err := url.Parse(s.URL)
			if err != nil || u.Host == "" || s.Metric == "" {
				t.Fatalf("%q: prom source with URL %q (%v), metric %q", spec, s.URL, err, s.Metric)
			}
			if pw, ok := u.User.Password(); ok && len(pw) > 3 && strings.Contains(s.Label, pw) {
				t.Fatalf("%q: label %q carries the password", spec, s.Label)
			}
		case KindCmd:
			if len(s.Args) == 0 || s.GPUs < 0 {
				t.Fatalf("%q: cmd source %+v", spec, s)
			}
		default:
			t.Fatalf("%q: kind %q", spec, s.Kind)
		}
		if s.System == "" || s.Label == "" {
			t.Fatalf("%q: empty system or label: %+v", spec, s)
		}
	})
}

// FuzzParseExposition: any scrape body, metric and matcher list give
// readings or an error; readings are finite watts or flagged, in id order.
func FuzzParseExposition(f *testing.F) {
	f.Add(dcgmBody("n", []float64{300, 500.5}), DefaultMetric, `gpu=~"0|1"`)
	f.Add("# TYPE p gauge\np{gpu=\"1\"} 2\np{gpu=\"0\"} NaN\n", "p", "")
	f.Add("# TYPE h histogram\nh_bucket{le=\"1\"} 1\n", "h", "")
	f.Add("p{a=\"\\\"\"} 1e300\r\n", "p", `a!~".*"`)
	f.Fuzz(func(t *testing.T, body, metric, match string) {
		var ms []Matcher
		if match != "" {
			var err error
			if ms, err = ParseMatchers(match); err != nil {
				return
			}
		}
		rs, err := parseExposition([]byte(body), metric, ms, 0)
		if err != nil {
			return
		}
		if len(rs) == 0 {
			t.Fatal("no readings and no error")
		}
		for _, r := range rs {
			if r.Err == nil && (math.IsNaN(r.Watts) || math.IsInf(r.Watts, 0) || r.Watts < 0) {
				t.Fatalf("reading %+v accepted", r)
			}
		}
	})
}

// FuzzCommandOutput: any command output, read with or without a GPU
// count, gives samples whose sum is their GPUs' sum, of finite watts, and
// of the declared count.
func FuzzCommandOutput(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "outputs", "*.txt"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			_, out, _ := bytes.Cut(b, []byte("\n"))
			f.Add(out, uint8(0))
			f.Add(out, uint8(2))
		}
	}
	f.Add([]byte("[\n{\"gpu\": 1, \"power\": {\"socket_power\": \"12 W\"}}]{}"), uint8(1))
	f.Fuzz(func(t *testing.T, out []byte, gpus uint8) {
		src := Source{Kind: KindCmd, Label: "cmd:x", System: "s", Args: []string{"x"}, GPUs: int(gpus % 9)}
		tr := &tracker{src: src, opt: &Options{Clock: func(time.Time) int64 { return 0 }, Logger: discard()}}
		if _, err := (cmdSource{src: src}).read(bytes.NewReader(out), tr); err != nil {
			return
		}
		for _, s := range tr.samples {
			sum := 0.0
			for _, w := range s.GPUWatts {
				if math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
					t.Fatalf("sample %+v has a bad reading", s)
				}
				sum += w
			}
			if sum != s.Watts || len(s.GPUIDs) != len(s.GPUWatts) || src.GPUs > 0 && s.GPUs() != src.GPUs {
				t.Fatalf("sample %+v (gpus=%d)", s, src.GPUs)
			}
		}
	})
}
