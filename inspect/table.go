package inspect

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/agentperf/agentperf/schemas"
)

// WriteJSON writes s as indented JSON with a trailing newline.
func WriteJSON(w io.Writer, s *Stats) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// WriteTable writes s as a human-readable report.
func WriteTable(w io.Writer, s *Stats) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format, args...) }
	p("trace set\t%s\n", s.Dir)
	p("sessions\t%s\t(%s; %s)\n", num(s.Sessions), counts("source", s.Sources), counts("agent", s.Agents))
	p("requests\t%s\t(%s; %s; %s failed)\n", num(s.Requests), counts("api", s.APIs), counts("model", s.Models), num(s.FailedRequests))
	p("blobs\t%s\tdistinct (%s)\n", num(s.Blobs), bytesByKind(s.BlobBytes))
	if s.GeneratedBlobs > 0 {
		p("generated\t%s\tblobs stored as a recipe (generated text, rebuilt on read)\n", num(s.GeneratedBlobs))
	}
	if s.FirstStartNS > 0 && s.LastEndNS > s.FirstStartNS {
		p("time span\t%s\t(%s to %s)\n", time.Duration(s.LastEndNS-s.FirstStartNS).Round(time.Second),
			time.Unix(0, s.FirstStartNS).UTC().Format(time.RFC3339), time.Unix(0, s.LastEndNS).UTC().Format(time.RFC3339))
	}
	p("\n\tcount\tmin\tmean\tp50\tp95\tp99\tmax\n")
	row := func(name string, d Dist, prec int) {
		f := func(v float64) string { return fmt.Sprintf("%.*f", prec, v) }
		if prec == 0 {
			f = func(v float64) string { return num(int64(v + 0.5)) }
		}
		p("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, num(d.Count), f(d.Min), f(d.Mean), f(d.P50), f(d.P95), f(d.P99), f(d.Max))
	}
	row("turns per session", s.TurnsPerSession, 0)
	row("input tokens", s.InputTokens, 0)
	row("output tokens", s.OutputTokens, 0)
	row("think time (s)", s.ThinkSeconds, 2)
	p("\n")
	p("total tokens\t%s input, %s output\n", num(s.TotalInputTokens), num(s.TotalOutputTokens))
	if s.MaterializedRequests > 0 || s.UnresolvedPreviousResponse > 0 {
		p("previous_response_id\t%s\trequests hold the full context capture rebuilt (%s unresolved: only the items sent)\n",
			num(s.MaterializedRequests), num(s.UnresolvedPreviousResponse))
	}
	if s.RequestMetadataRequests > 0 {
		p("request metadata\t%s\trequests carry per-request metadata blocks (kept; not counted as prompt)\n", num(s.RequestMetadataRequests))
	}
	if s.LinkedSubAgents > 0 {
		p("sub-agents\t%s\tsessions linked to the turn that spawned them\n", num(s.LinkedSubAgents))
	}
	p("prefix reuse\t%.1f %%\tof input tokens were sent by the session's previous request as a prefix (blob level)\n", 100*s.PrefixReuse)
	p("block reuse\t%.1f %%\tof input tokens lie in 512-token blocks whose hash_ids match the previous request's\n", 100*s.BlockReuse)
	p("on disk\t%s\t(%s)\n", size(s.DiskBytes), fileSizes(s.FileBytes))
	if s.JSONLBytes > 0 {
		p("one body per line\t%s\tas JSONL: the trace set is %.1f× smaller\n", size(s.JSONLBytes), s.JSONLRatio)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if s.Problems != nil {
		if len(s.Problems) == 0 {
			_, err := fmt.Fprintf(w, "\ncheck: OK (blob ids and JSON, turn order, token sums, hash_ids, times, session totals)\n")
			return err
		}
		fmt.Fprintf(w, "\ncheck: %d problem(s):\n", len(s.Problems)+s.ProblemsTruncated)
		for _, pr := range s.Problems {
			fmt.Fprintf(w, "  %s\n", pr)
		}
		if s.ProblemsTruncated > 0 {
			fmt.Fprintf(w, "  … and %d more\n", s.ProblemsTruncated)
		}
	}
	return nil
}

func counts(label string, m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			return int(m[b] - m[a])
		}
		return strings.Compare(a, b)
	})
	var parts []string
	for i, k := range keys {
		if i == 4 {
			parts = append(parts, fmt.Sprintf("%d more", len(keys)-4))
			break
		}
		name := k
		if name == "" {
			name = "(none)"
		}
		parts = append(parts, label+" "+name+" "+num(m[k]))
	}
	if len(parts) == 0 {
		return "no " + label
	}
	return strings.Join(parts, ", ")
}

func bytesByKind(m map[string]int64) string {
	var parts []string
	for _, k := range []string{schemas.KindMessage, schemas.KindSystem, schemas.KindTools, schemas.KindInstructions, schemas.KindInput, schemas.KindBody, schemas.KindRequestMeta} {
		if v, ok := m[k]; ok {
			parts = append(parts, k+" "+size(v))
		}
	}
	return strings.Join(parts, ", ") + " of JSON"
}

func fileSizes(m map[string]int64) string {
	var parts []string
	for _, k := range []string{schemas.BlobsFile, schemas.RequestsFile, schemas.SessionsFile} {
		parts = append(parts, k+" "+size(m[k]))
	}
	return strings.Join(parts, ", ")
}

// num formats n with thousands separators.
func num(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + num(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// size formats a byte count with a binary-free SI unit.
func size(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}
