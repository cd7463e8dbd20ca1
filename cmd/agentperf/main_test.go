package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestHelpTeaches checks that the top-level help and every subcommand's help
// carry usage text and at least one example.
func TestHelpTeaches(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"agentperf", "--help"}, &out, &out); code != 0 {
		t.Fatalf("--help exit %d: %s", code, out.String())
	}
	if !strings.Contains(out.String(), "Examples:") {
		t.Errorf("top-level help lacks examples:\n%s", out.String())
	}
	for _, c := range commands {
		out.Reset()
		if code := run([]string{"agentperf", c.Name, "--help"}, &out, &out); code != 0 {
			t.Errorf("%s --help exit %d", c.Name, code)
		}
		if c.Usage == "" || !strings.Contains(out.String(), "agentperf "+c.Name) {
			t.Errorf("%s --help has no usage line or no example invoking it:\n%s", c.Name, out.String())
		}
	}
}

func TestUnknownFlagIsUsageError(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"agentperf", "--no-such-flag"}, &out, &out); code != 2 {
		t.Errorf("exit %d, want 2; output %s", code, out.String())
	}
}

func TestFlagsFirst(t *testing.T) {
	app := newApp(nil, nil)
	tests := []struct {
		in, want string
	}{
		{"agentperf inspect DIR --json", "agentperf inspect --json -- DIR"},
		{"agentperf import IN --out DIR --format mooncake", "agentperf import --out DIR --format mooncake -- IN"},
		{"agentperf import --out=DIR IN --skip-bad", "agentperf import --out=DIR --skip-bad -- IN"},
		{"agentperf export DIR -o - -f aa-jsonl", "agentperf export -o - -f aa-jsonl -- DIR"},
		{"agentperf analyze a.parquet b.parquet --html r.html", "agentperf analyze --html r.html -- a.parquet b.parquet"},
		{"agentperf inspect --json DIR", "agentperf inspect --json -- DIR"},
		{"agentperf inspect DIR -- --odd-name", "agentperf inspect -- DIR --odd-name"},
		{"agentperf synth --sessions 3", "agentperf synth --sessions 3"},
		{"agentperf nosuch a --b", "agentperf nosuch a --b"},
	}
	for _, tt := range tests {
		got := strings.Join(flagsFirst(strings.Fields(tt.in), app.Commands), " ")
		if got != tt.want {
			t.Errorf("flagsFirst(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
