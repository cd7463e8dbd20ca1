package power

import (
	"fmt"
	"strings"
	"testing"
)

// dcgmBody renders a dcgm-exporter-like scrape of one node with the given
// watts per GPU, with other metrics around the power one.
func dcgmBody(host string, watts []float64) string {
	var b strings.Builder
	labels := func(i int) string {
		return fmt.Sprintf(`gpu="%d",UUID="GPU-%08d",device="nvidia%d",modelName="NVIDIA H200",Hostname=%q,DCGM_FI_DRIVER_VERSION="570.86.15"`, i, i, i, host)
	}
	b.WriteString("# HELP DCGM_FI_DEV_SM_CLOCK SM clock frequency (in MHz).\n# TYPE DCGM_FI_DEV_SM_CLOCK gauge\n")
	for i := range watts {
		fmt.Fprintf(&b, "DCGM_FI_DEV_SM_CLOCK{%s} 1980\n", labels(i))
	}
	b.WriteString("# HELP DCGM_FI_DEV_POWER_USAGE Power draw (in W).\n# TYPE DCGM_FI_DEV_POWER_USAGE gauge\n")
	for i, w := range watts {
		fmt.Fprintf(&b, "DCGM_FI_DEV_POWER_USAGE{%s} %v\n", labels(i), w)
	}
	b.WriteString("# HELP DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION Total energy consumption since boot (in mJ).\n# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter\n")
	for i := range watts {
		fmt.Fprintf(&b, "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{%s} 123456789\n", labels(i))
	}
	return b.String()
}

func TestParseExposition(t *testing.T) {
	body := dcgmBody("node-a", []float64{310.5, 402.25, 99, 120})
	all := []Matcher(nil)
	two, _ := ParseMatchers(`gpu=~"0|1"`)
	none, _ := ParseMatchers(`Hostname="node-z"`)
	tests := []struct {
		name   string
		body   string
		metric string
		match  []Matcher
		scale  float64
		want   string // readings or the error's start
	}{
		{"all GPUs", body, DefaultMetric, all, 0, "0=310.5 1=402.25 2=99 3=120"},
		{"selected GPUs", body, DefaultMetric, two, 0, "0=310.5 1=402.25"},
		{"scaled counter", body, "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", two, 0.001, "0=123456.789 1=123456.789"},
		{"other family broken", "bad{ line\n" + body + "x_total{a=\"1\"} not-a-number\n", DefaultMetric, two, 0, "0=310.5 1=402.25"},
		{"CRLF and untyped", "p{gpu=\"10\"} 5\r\np{gpu=\"9\"} 4\r\n", "p", all, 0, "9=4 10=5"},
		{"no gpu label", `p{card="b"} 1` + "\n" + `p{card="a"} 2` + "\n", "p", all, 0, `{card="a"}=2 {card="b"}=1`},
		{"missing metric", body, "node_power_watts", all, 0, "error: no metric node_power_watts in the scrape; metrics about power: DCGM_FI_DEV_POWER_USAGE"},
		{"no series match", body, DefaultMetric, none, 0, "error: none of the 4 series of DCGM_FI_DEV_POWER_USAGE match"},
		{"histogram", "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n", "h", all, 0, "error: metric h is a histogram"},
		{"summary", "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 1\ns_count 1\n", "s", all, 0, "error: metric s is a summary"},
		{"malformed family", "p{gpu=\"0\" 5\n", "p", all, 0, "error: metric p:"},
	}
	for _, tt := range tests {
		rs, err := parseExposition([]byte(tt.body), tt.metric, tt.match, tt.scale)
		var got string
		if err != nil {
			got = "error: " + err.Error()
		} else {
			var parts []string
			for _, r := range rs {
				parts = append(parts, fmt.Sprintf("%s=%v", r.ID, r.Watts))
			}
			got = strings.Join(parts, " ")
		}
		if !strings.HasPrefix(got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
	// A NaN or negative reading is a failed reading, not a sample.
	rs, err := parseExposition([]byte("p{gpu=\"0\"} NaN\np{gpu=\"1\"} -3\n"), "p", nil, 0)
	if err != nil || len(rs) != 2 || rs[0].Err == nil || rs[1].Err == nil {
		t.Errorf("NaN and negative readings: %+v, %v", rs, err)
	}
}
