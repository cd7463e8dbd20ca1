package convert

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/agentperf/agentperf/schemas"
)

// ExportOptions configures Export.
type ExportOptions struct {
	// Format is one of ExportFormats.
	Format string
	// Overwrite replaces an existing output file.
	Overwrite bool
	// Logger receives one warning per request left out; nil discards.
	Logger *slog.Logger
}

// ExportStats summarizes an export.
type ExportStats struct {
	// Sessions and Requests count what was written.
	Sessions int
	Requests int
	// Skipped counts requests left out (bodies that cannot be translated,
	// empty prompts), with the first few reasons in SkippedExamples.
	Skipped         int
	SkippedExamples []string
	// Translated counts requests whose body was translated from another
	// API into chat messages (aa-jsonl).
	Translated int
	// Bytes is the size of the output.
	Bytes int64
	// Elapsed is the wall time of the export.
	Elapsed time.Duration
}

// Export writes the trace set in dir as the given format to out, a file
// path, or "-" for stdout. A file is written to a temporary sibling and
// renamed into place when complete, so a failed export leaves nothing.
func Export(ctx context.Context, dir, out string, stdout io.Writer, opt ExportOptions) (*ExportStats, error) {
	start := time.Now()
	var run func(*exporter, io.Writer) error
	switch opt.Format {
	case FormatAAJSONL:
		run = (*exporter).exportAA
	case FormatMooncake:
		run = (*exporter).exportMooncake
	default:
		return nil, fmt.Errorf("unknown export format %q (want one of %s)", opt.Format, strings.Join(ExportFormats, ", "))
	}
	ts, err := schemas.OpenTraceSet(dir, schemas.TraceSetOptions{})
	if err != nil {
		return nil, err
	}
	defer ts.Close()
	ex := &exporter{ctx: ctx, ts: ts, opt: opt, log: opt.Logger, stats: &ExportStats{}}
	if ex.log == nil {
		ex.log = slog.New(slog.DiscardHandler)
	}
	if out == "-" {
		cw := &countingWriter{w: stdout}
		bw := bufio.NewWriterSize(cw, 1<<20)
		if err := run(ex, bw); err != nil {
			bw.Flush()
			return ex.stats, err
		}
		if err := bw.Flush(); err != nil {
			return ex.stats, err
		}
		ex.stats.Bytes = cw.n
		ex.stats.Elapsed = time.Since(start)
		return ex.stats, nil
	}
	if !opt.Overwrite {
		if _, err := os.Stat(out); err == nil {
			return nil, fmt.Errorf("%w: %s exists (choose another --out, or pass --overwrite)", schemas.ErrExists, out)
		}
	}
	f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".partial-")
	if err != nil {
		return nil, err
	}
	tmp := f.Name()
	fail := func(err error) (*ExportStats, error) {
		f.Close()
		os.Remove(tmp)
		return ex.stats, err
	}
	cw := &countingWriter{w: f}
	bw := bufio.NewWriterSize(cw, 1<<20)
	if err := run(ex, bw); err != nil {
		return fail(err)
	}
	if err := bw.Flush(); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return ex.stats, err
	}
	if err := os.Rename(tmp, out); err != nil {
		os.Remove(tmp)
		return ex.stats, err
	}
	ex.stats.Bytes = cw.n
	ex.stats.Elapsed = time.Since(start)
	return ex.stats, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

type exporter struct {
	ctx   context.Context
	ts    *schemas.TraceSet
	opt   ExportOptions
	log   *slog.Logger
	stats *ExportStats
}

func (ex *exporter) skip(r *schemas.Request, reason error) {
	ex.stats.Skipped++
	msg := fmt.Sprintf("session %s turn %d: %v", r.SessionID, r.Turn, reason)
	if len(ex.stats.SkippedExamples) < maxSkippedExamples {
		ex.stats.SkippedExamples = append(ex.stats.SkippedExamples, msg)
	}
	ex.log.Warn("request left out", "session", r.SessionID, "turn", r.Turn, "err", reason)
}

// sessionTurn keys a request by session and turn.
type sessionTurn struct {
	session string
	turn    int32
}

// AAExportFormat is the source.format written to exported AA lines.
const AAExportFormat = "agentperf-export"

// exportAA writes one AA replay line per request. A first pass over the
// request rows (no bodies) collects think times, since a line carries the
// delay after it, i.e. the next turn's think time. OpenAI chat requests
// are written from their blobs as stored (canonical JSON); other APIs are
// rebuilt and translated by toChat.
func (ex *exporter) exportAA(w io.Writer) error {
	think := map[sessionTurn]int64{}
	turns := map[sessionTurn]bool{}
	agents := map[string]string{}
	if err := ex.ts.Sessions(func(s *schemas.Session) error {
		agents[s.ID] = s.Agent
		return nil
	}); err != nil {
		return err
	}
	if err := ex.ts.Requests(func(r *schemas.Request) error {
		if r.ThinkNS > 0 {
			think[sessionTurn{r.SessionID, r.Turn}] = r.ThinkNS
		}
		turns[sessionTurn{r.SessionID, r.Turn}] = true
		return nil
	}); err != nil {
		return err
	}
	sessions := map[string]bool{}
	var body, line []byte
	n := 0
	return ex.ts.Requests(func(r *schemas.Request) error {
		if n++; n&255 == 0 {
			if err := ex.ctx.Err(); err != nil {
				return err
			}
		}
		var msgs, tools [][]byte
		var maxTok int
		translated := false
		if r.API == schemas.APIOpenAIChat {
			var err error
			msgs, tools, maxTok, err = ex.chatFromBlobs(r)
			if err != nil {
				return err
			}
		} else {
			var err error
			body, err = ex.ts.Body(body[:0], r)
			if err != nil {
				return err
			}
			// Per-request metadata (Claude Code's billing block) is not
			// prompt: a replay of the line must not send it.
			stripped, _ := schemas.StripRequestMetadata(r.API, body)
			chat, err := toChat(r.API, stripped)
			if err != nil {
				ex.skip(r, err)
				return nil
			}
			for _, m := range chat.Messages {
				msgs = append(msgs, m)
			}
			for _, t := range chat.Tools {
				tools = append(tools, t)
			}
			maxTok, translated = chat.MaxTokens, chat.Translated
		}
		if len(msgs) == 0 {
			ex.skip(r, errors.New("request has no messages"))
			return nil
		}
		if translated {
			ex.stats.Translated++
		}
		next := sessionTurn{r.SessionID, r.Turn + 1}
		if aa := aaExtrasOf(r.Extras); aa != nil {
			// Imported from AA JSONL: write the line back as it was read.
			line = appendAAOriginal(line[:0], r, aa, msgs, tools, maxTok, think[next], turns[next])
		} else {
			line = appendAALine(line[:0], r, msgs, tools, maxTok, think[next], agents[r.SessionID], translated)
		}
		if _, err := w.Write(line); err != nil {
			return err
		}
		sessions[r.SessionID] = true
		ex.stats.Sessions = len(sessions)
		ex.stats.Requests++
		return nil
	})
}

// chatFromBlobs returns an OpenAI chat request's messages and tools as
// stored, and its output cap from params.
func (ex *exporter) chatFromBlobs(r *schemas.Request) (msgs, tools [][]byte, maxTok int, err error) {
	for _, id := range r.Prompt {
		b, err := ex.ts.Blob(id)
		if err != nil {
			return nil, nil, 0, err
		}
		switch b.Kind {
		case schemas.KindMessage:
			msgs = append(msgs, []byte(b.Body))
		case schemas.KindTools:
			var list []json.RawMessage
			if json.Unmarshal([]byte(b.Body), &list) == nil {
				for _, t := range list {
					tools = append(tools, t)
				}
			}
		}
	}
	var params map[string]json.RawMessage
	if json.Unmarshal([]byte(r.Params), &params) == nil {
		maxTok = maxTokens(params)
	}
	return msgs, tools, maxTok, nil
}

// appendAALine appends one AA replay line (fields in aa-agentperf-local's
// order) for request r, whose next turn's think time is nextThinkNS.
func appendAALine(b []byte, r *schemas.Request, msgs, tools [][]byte, maxTok int, nextThinkNS int64, family string, translated bool) []byte {
	str := func(s string) {
		q, _ := json.Marshal(s)
		b = append(b, q...)
	}
	num := func(key string, v int64) {
		b = append(b, ',', '"')
		b = append(b, key...)
		b = append(b, '"', ':')
		b = strconv.AppendInt(b, v, 10)
	}
	b = append(b, `{"version":1,"turn_id":`...)
	str(fmt.Sprintf("%s:%04d", r.SessionID, r.Turn))
	b = append(b, `,"task_id":`...)
	str(r.SessionID)
	b = append(b, `,"conversation_id":`...)
	str(r.SessionID)
	num("conversation_idx", int64(r.Turn))
	b = append(b, `,"messages":[`...)
	b = append(b, bytes.Join(msgs, []byte(","))...)
	b = append(b, `],"tools":[`...)
	b = append(b, bytes.Join(tools, []byte(","))...)
	b = append(b, `],"simulated_tool_delay_ms_after":`...)
	b = strconv.AppendFloat(b, float64(nextThinkNS)/1e6, 'f', -1, 64)
	b = append(b, `,"recorded_tool_calls_after":[]`...)
	num("target_output_tokens", int64(r.OutputTokens))
	if maxTok > 0 {
		num("max_output_tokens", int64(maxTok))
	}
	if r.UsageInput != nil {
		num("recorded_prompt_tokens", *r.UsageInput)
	}
	if r.UsageOutput != nil {
		num("recorded_completion_tokens", *r.UsageOutput)
	}
	if r.UsageInput != nil && r.UsageOutput != nil {
		num("recorded_total_tokens", *r.UsageInput+*r.UsageOutput)
	}
	if r.StartNS > 0 && r.EndNS >= r.StartNS {
		b = append(b, `,"recorded_model_duration_ms":`...)
		b = strconv.AppendFloat(b, float64(r.EndNS-r.StartNS)/1e6, 'f', -1, 64)
	}
	b = append(b, `,"source":{"format":`...)
	str(AAExportFormat)
	b = append(b, `,"recording":`...)
	str(r.SessionID)
	if family != "" {
		b = append(b, `,"family":`...)
		str(family)
	}
	b = append(b, `,"adapter":`...)
	str(r.API)
	num("model_call_index", int64(r.Turn))
	if translated {
		b = append(b, `,"message_source":"request-messages"}}`...)
	} else {
		b = append(b, `,"message_source":"provider-request"}}`...)
	}
	return append(b, '\n')
}

// mooncakeRecord is what the Mooncake export keeps of a request.
type mooncakeRecord struct {
	session     int32
	turn        int32
	start, end  int64
	think       int64
	input, out  int32
	hash        []int64
	timestampMS int64
}

// exportMooncake writes one Mooncake line per request, sorted by arrival:
// timestamps are ms after the earliest request when every request has a
// start time, else each session's turns are laid out from 0 by cumulative
// think time plus recorded duration. Block hash ids are renumbered densely
// in order of first appearance. The requests' hash ids are held in memory
// (8 bytes per 512-token block) to sort them.
func (ex *exporter) exportMooncake(w io.Writer) error {
	var recs []mooncakeRecord
	sessionIdx := map[string]int32{}
	allTimed := true
	minStart := int64(math.MaxInt64)
	err := ex.ts.Requests(func(r *schemas.Request) error {
		if r.InputTokens <= 0 {
			ex.skip(r, fmt.Errorf("empty prompt"))
			return nil
		}
		si, ok := sessionIdx[r.SessionID]
		if !ok {
			si = int32(len(sessionIdx))
			sessionIdx[r.SessionID] = si
		}
		recs = append(recs, mooncakeRecord{session: si, turn: r.Turn, start: r.StartNS, end: r.EndNS, think: r.ThinkNS,
			input: r.InputTokens, out: r.OutputTokens, hash: slices.Clone(r.HashIDs)})
		if r.StartNS <= 0 {
			allTimed = false
		} else {
			minStart = min(minStart, r.StartNS)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if allTimed {
		for i := range recs {
			recs[i].timestampMS = msRound(recs[i].start - minStart)
		}
	} else {
		order := make([]int, len(recs))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int {
			ra, rb := &recs[a], &recs[b]
			if ra.session != rb.session {
				return int(ra.session - rb.session)
			}
			return int(ra.turn - rb.turn)
		})
		var clock int64
		prev := int32(-1)
		for _, i := range order {
			r := &recs[i]
			if r.session != prev {
				clock, prev = 0, r.session
			}
			clock += max(0, r.think)
			r.timestampMS = msRound(clock)
			if r.start > 0 && r.end > r.start {
				clock += r.end - r.start
			}
		}
	}
	slices.SortStableFunc(recs, func(a, b mooncakeRecord) int {
		switch {
		case a.timestampMS < b.timestampMS:
			return -1
		case a.timestampMS > b.timestampMS:
			return 1
		}
		return 0
	})
	dense := map[int64]int64{}
	var line []byte
	for i := range recs {
		r := &recs[i]
		line = append(line[:0], `{"timestamp": `...)
		line = strconv.AppendInt(line, r.timestampMS, 10)
		line = append(line, `, "input_length": `...)
		line = strconv.AppendInt(line, int64(r.input), 10)
		line = append(line, `, "output_length": `...)
		line = strconv.AppendInt(line, int64(r.out), 10)
		line = append(line, `, "hash_ids": [`...)
		for j, h := range r.hash {
			d, ok := dense[h]
			if !ok {
				d = int64(len(dense))
				dense[h] = d
			}
			if j > 0 {
				line = append(line, ", "...)
			}
			line = strconv.AppendInt(line, d, 10)
		}
		line = append(line, "]}\n"...)
		if _, err := w.Write(line); err != nil {
			return err
		}
		r.hash = nil
	}
	ex.stats.Requests = len(recs)
	ex.stats.Sessions = len(sessionIdx)
	return nil
}

// msRound converts ns to ms, rounding to the nearest.
func msRound(ns int64) int64 { return (ns + 500_000) / 1_000_000 }

// aaOriginal is what an AA import kept of a line (Request.Extras "aa").
type aaOriginal struct {
	Keys   []string                   `json:"keys"`
	Fields map[string]json.RawMessage `json:"fields"`
}

// aaExtrasOf returns the AA line kept in a request's extras, or nil.
func aaExtrasOf(extras string) *aaOriginal {
	if !strings.Contains(extras, `"`+schemas.ExtrasAA+`"`) {
		return nil
	}
	var e map[string]json.RawMessage
	if json.Unmarshal([]byte(extras), &e) != nil {
		return nil
	}
	var aa aaOriginal
	if json.Unmarshal(e[schemas.ExtrasAA], &aa) != nil || len(aa.Keys) == 0 {
		return nil
	}
	return &aa
}

// appendAAOriginal appends the AA line an import read for request r: its
// fields in their order, messages (and tools, when stored as a blob) from
// the trace set, every other field as read — except where the trace set
// now says otherwise (a field agentperf models whose column no longer
// matches the value read): then the column's value is written.
func appendAAOriginal(b []byte, r *schemas.Request, aa *aaOriginal, msgs, tools [][]byte, maxTok int, nextThinkNS int64, hasNext bool) []byte {
	num := func(raw json.RawMessage) (float64, bool) {
		var n json.Number
		if json.Unmarshal(raw, &n) != nil {
			return 0, false
		}
		f, err := n.Float64()
		return f, err == nil
	}
	i64 := func(v int64) json.RawMessage { return strconv.AppendInt(nil, v, 10) }
	// keep returns the value read when it agrees with want (a column's
	// value; nil = the column is unknown), else want.
	keep := func(orig json.RawMessage, want *int64) json.RawMessage {
		if want == nil {
			return orig
		}
		if f, ok := num(orig); ok && f == float64(*want) {
			return orig
		}
		return i64(*want)
	}
	seen := map[string]bool{}
	b = append(b, '{')
	for _, k := range aa.Keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		orig, have := aa.Fields[k]
		var v json.RawMessage
		switch k {
		case "messages":
			v = append(append([]byte{'['}, bytes.Join(msgs, []byte(","))...), ']')
		case "tools":
			if have {
				v = orig // not stored as a blob (null or [])
			} else {
				v = append(append([]byte{'['}, bytes.Join(tools, []byte(","))...), ']')
			}
		case "conversation_id":
			v = mustMarshal(r.SessionID)
		case "target_output_tokens":
			out := int64(r.OutputTokens)
			v = keep(orig, &out)
		case "max_output_tokens":
			if f, ok := num(orig); ok && f <= 0 && maxTok == 0 {
				v = orig // a cap of 0 or less is not kept in params
			} else {
				mt := int64(maxTok)
				v = keep(orig, &mt)
			}
		case "recorded_prompt_tokens":
			v = keep(orig, r.UsageInput)
		case "recorded_completion_tokens":
			v = keep(orig, r.UsageOutput)
		case "simulated_tool_delay_ms_after":
			v = orig
			if f, ok := num(orig); hasNext && (!ok || int64(math.Round(f*1e6)) != nextThinkNS) {
				v = strconv.AppendFloat(nil, float64(nextThinkNS)/1e6, 'f', -1, 64)
			}
		default:
			v = orig
		}
		if v == nil {
			continue
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(b, mustMarshal(k)...)
		b = append(b, ':')
		b = append(b, v...)
	}
	return append(b, '}', '\n')
}
