package power

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseSource(t *testing.T) {
	tests := []struct {
		spec string
		want Source // Match compared by String
		err  string
	}{
		{spec: "prom+http://node-a:9400/metrics",
			want: Source{Kind: KindProm, Label: "prom+http://node-a:9400/metrics", System: "node-a", URL: "http://node-a:9400/metrics", Metric: DefaultMetric}},
		{spec: `prom+https://u:secret@node-a:9400/metrics?match=gpu=~"0|1"&system=rack-1&interval=250ms&token=t0k&metric=my_power_mw&scale=0.001`,
			want: Source{Kind: KindProm, Label: `prom+https://node-a:9400/metrics?match=gpu=~"0|1"&system=rack-1&interval=250ms&metric=my_power_mw&scale=0.001`,
				System: "rack-1", URL: "https://u:secret@node-a:9400/metrics?token=t0k", Metric: "my_power_mw", Scale: 0.001,
				Interval: 250 * time.Millisecond, Match: []Matcher{{Name: "gpu", Op: "=~", Value: "0|1"}}}},
		{spec: `prom+http://h/m?match={gpu!="3",%20Hostname="a"}&match=UUID=~"GPU-.%2B"`,
			want: Source{Kind: KindProm, Label: `prom+http://h/m?match={gpu!="3",%20Hostname="a"}&match=UUID=~"GPU-.%2B"`, System: "h", URL: "http://h/m", Metric: DefaultMetric,
				Match: []Matcher{{Name: "gpu", Op: "!=", Value: "3"}, {Name: "Hostname", Op: "=", Value: "a"}, {Name: "UUID", Op: "=~", Value: "GPU-.+"}}}},
		{spec: "cmd:nvidia-smi --query-gpu=power.draw --format=csv,noheader,nounits -lms 200",
			want: Source{Kind: KindCmd, Label: "cmd:nvidia-smi --query-gpu=power.draw --format=csv,noheader,nounits -lms 200", System: "local",
				Args: []string{"nvidia-smi", "--query-gpu=power.draw", "--format=csv,noheader,nounits", "-lms", "200"}}},
		{spec: `cmd(gpus=8, system=node-b,interval=2s,pause=0):ssh node-b 'amd-smi monitor -p --csv -w 1'`,
			want: Source{Kind: KindCmd, Label: `cmd(gpus=8, system=node-b,interval=2s,pause=0):ssh node-b 'amd-smi monitor -p --csv -w 1'`, System: "node-b",
				GPUs: 8, Interval: 2 * time.Second, Pause: -1, Args: []string{"ssh", "node-b", "amd-smi monitor -p --csv -w 1"}}},
		{spec: "http://node-a:9400/metrics", err: "unknown kind"},
		{spec: "prom+http:///metrics", err: "no host"},
		{spec: "prom+http://h/m?match=gpu~0", err: "want =, !=, =~ or !~"},
		{spec: `prom+http://h/m?match=gpu=~"(0"`, err: "regular expression"},
		{spec: "prom+http://h/m?interval=0s", err: "positive duration"},
		{spec: "prom+http://h/m?metric=a-b", err: "not a metric name"},
		{spec: "prom+http://h/m?scale=-1", err: "scale"},
		{spec: "cmd:", err: "no command"},
		{spec: "cmd(gpus=0):x", err: "gpus=0"},
		{spec: "cmd(gpus=2:x", err: "not closed"},
		{spec: "cmd(color=red):x", err: `unknown option "color"`},
		{spec: `cmd:sh -c 'unclosed`, err: "unclosed '"},
	}
	for _, tt := range tests {
		got, err := ParseSource(tt.spec)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseSource(%q) error = %v, want one containing %q", tt.spec, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseSource(%q): %v", tt.spec, err)
			continue
		}
		if fmt.Sprint(got.Match) != fmt.Sprint(tt.want.Match) {
			t.Errorf("ParseSource(%q).Match = %v, want %v", tt.spec, got.Match, tt.want.Match)
		}
		got.Match, tt.want.Match = nil, nil
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tt.want) {
			t.Errorf("ParseSource(%q)\n got %+v\nwant %+v", tt.spec, got, tt.want)
		}
		if strings.Contains(got.Label, "secret") || strings.Contains(got.Label, "t0k") {
			t.Errorf("label %q carries a credential", got.Label)
		}
	}
}

func TestMatchers(t *testing.T) {
	ms, err := ParseMatchers(`{gpu=~"0|1", Hostname!="b", UUID!~"MIG-.*", zone=}`)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		labels map[string]string
		want   bool
	}{
		{map[string]string{"gpu": "0", "Hostname": "a", "UUID": "GPU-1"}, true},
		{map[string]string{"gpu": "1"}, true},
		{map[string]string{"gpu": "10"}, false}, // anchored
		{map[string]string{"gpu": "0", "Hostname": "b"}, false},
		{map[string]string{"gpu": "0", "UUID": "MIG-x"}, false},
		{map[string]string{"gpu": "0", "zone": "z"}, false}, // zone="" only
	} {
		if got := matchAll(ms, tt.labels); got != tt.want {
			t.Errorf("%v against %v = %v, want %v", ms, tt.labels, got, tt.want)
		}
	}
	for _, bad := range []string{"", "{}", "{gpu=1", `gpu="1" x`, `gpu="1`, "=1", "gpu"} {
		if _, err := ParseMatchers(bad); err == nil {
			t.Errorf("ParseMatchers(%q) accepted", bad)
		}
	}
}

func TestSplitCommand(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"a b\tc", []string{"a", "b", "c"}},
		{`sh -c 'echo "x y"; exit 3'`, []string{"sh", "-c", `echo "x y"; exit 3`}},
		{`a "b \"c\" \\ d" e\ f ''`, []string{"a", `b "c" \ d`, "e f", ""}},
		{"  ", nil},
	} {
		got, err := SplitCommand(tt.in)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("SplitCommand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := SplitCommand(`a "b`); err == nil {
		t.Error(`SplitCommand("a \"b") accepted`)
	}
}
