package replay

import (
	"context"
	"fmt"
	"github.com/agentperf/agentperf/wire"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentperf/agentperf/schemas"
)

// chunkReader returns data in pieces of n bytes.
type chunkReader struct {
	data string
	n    int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.data == "" {
		return 0, io.EOF
	}
	k := min(c.n, len(c.data), len(p))
	copy(p, c.data[:k])
	c.data = c.data[k:]
	return k, nil
}

var sseCases = []struct {
	name, api, stream          string
	chunks                     int
	in, cached, out, reasoning int64
	wantErr                    string
}{
	{"chat", schemas.APIOpenAIChat,
		"data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n" +
			"data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"hm\"}}]}\n\n" +
			"data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\r\n\r\n" +
			": keep-alive comment\n\n" +
			"data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\"}}]}}]}\n\n" +
			"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":3,\"prompt_tokens_details\":{\"cached_tokens\":64},\"completion_tokens_details\":{\"reasoning_tokens\":1}}}\n\n" +
			"data: [DONE]\n\n",
		3, 120, 64, 3, 1, ""},
	{"chat-no-usage-truncated", schemas.APIOpenAIChat,
		"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\n",
		2, -1, -1, -1, -1, "truncated stream"},
	{"chat-error", schemas.APIOpenAIChat,
		"data: {\"error\":{\"message\":\"overloaded\"}}\n\n",
		0, -1, -1, -1, -1, "overloaded"},
	{"anthropic", schemas.APIAnthropic,
		"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":10,\"cache_creation_input_tokens\":5,\"cache_read_input_tokens\":100,\"output_tokens\":1}}}\n\n" +
			"event: ping\ndata: {\"type\":\"ping\"}\n\n" +
			"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"x\"}}\n\n" +
			"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"signature_delta\",\"signature\":\"s\"}}\n\n" +
			"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"y\"}}\n\n" +
			"event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":7}}\n\n" +
			"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
		2, 115, 100, 7, -1, ""},
	{"anthropic-error", schemas.APIAnthropic,
		"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}\n\n",
		0, -1, -1, -1, -1, "overloaded_error"},
	{"responses-no-event-lines", schemas.APIOpenAIResponses,
		"data: {\"type\":\"response.created\"}\n\n" +
			"data: {\"type\":\"response.output_text.delta\",\"delta\":\"a\"}\n\n" +
			"data: {\"type\":\"response.function_call_arguments.delta\",\"delta\":\"{\"}\n\n" +
			"data: {\"type\":\"response.completed\",\"response\":{\"output\":[{\"text\":\"\\\"usage\\\":{\\\"output_tokens\\\":99}\"}],\"usage\":{\"input_tokens\":50,\"input_tokens_details\":{\"cached_tokens\":0},\"output_tokens\":2,\"output_tokens_details\":{\"reasoning_tokens\":0}}}}\n\n",
		2, 50, 0, 2, 0, ""},
	{"responses-incomplete-max-tokens", schemas.APIOpenAIResponses,
		"event: response.output_text.delta\ndata: {\"delta\":\"a\"}\n\n" +
			"event: response.incomplete\ndata: {\"type\":\"response.incomplete\",\"response\":{\"incomplete_details\":{\"reason\":\"max_output_tokens\"},\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n",
		1, 5, -1, 1, -1, ""},
	{"responses-failed", schemas.APIOpenAIResponses,
		"event: response.failed\ndata: {\"type\":\"response.failed\",\"response\":{\"error\":{\"code\":\"server_error\"}}}\n\n",
		0, -1, -1, -1, -1, "response.failed"},
}

// TestReadStream feeds each stream in pieces of every size from 1 byte up
// and checks the events, usage and outcome read.
func TestReadStream(t *testing.T) {
	s := &sender{clk: SystemClock{}, maxChunks: 1 << 16}
	for _, tc := range sseCases {
		for n := 1; n <= len(tc.stream); n += max(1, n/3) {
			ex := &Exchange{Sent: time.Now()}
			r := Response{First: -1, st: wire.NewStream(tc.api)}
			s.readStream(context.Background(), ex, &chunkReader{tc.stream, n}, nil, &r)
			got := []int64{int64(len(r.Chunks)), r.st.Usage().Input, r.st.Usage().Cached, r.st.Usage().Output, r.st.Usage().Reasoning}
			want := []int64{int64(tc.chunks), tc.in, tc.cached, tc.out, tc.reasoning}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%s (pieces of %d): chunks/in/cached/out/reasoning = %v, want %v", tc.name, n, got, want)
				}
			}
			if (tc.wantErr == "") != (r.Err == "") || !strings.Contains(r.Err, tc.wantErr) {
				t.Fatalf("%s (pieces of %d): error %q, want %q", tc.name, n, r.Err, tc.wantErr)
			}
			if tc.chunks > 0 && r.First < 0 {
				t.Fatalf("%s: no first-token time", tc.name)
			}
		}
	}
}

// simClockCases are streams with and without the simulator's ": t=<ns>"
// comment lines (docs/sim.md) and what the scanner must time them by.
var simClockCases = []struct {
	name, api, stream string
	simClock          bool    // the target echoed the sim-clock header
	wantSim           bool    // timed by the simulated clock
	chunks            []int64 // simulated ns of the output events (wantSim)
	end               int64
}{
	{"chat", schemas.APIOpenAIChat,
		": t=1000\ndata: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n" +
			"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n" +
			": t=5000\ndata: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\n" +
			": t=9000\r\ndata: {\"choices\":[{\"delta\":{\"content\":\"c\"}}]}\r\n\r\n" +
			"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3}}\n\ndata: [DONE]\n\n",
		true, true, []int64{1000, 5000, 9000}, 9000},
	{"chat-not-asked", schemas.APIOpenAIChat,
		": t=1000\ndata: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: [DONE]\n\n",
		false, false, nil, 0},
	{"chat-no-comments", schemas.APIOpenAIChat,
		"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n: keep-alive\n\ndata: [DONE]\n\n",
		true, false, nil, 0},
	{"chat-comment-after-first-output", schemas.APIOpenAIChat,
		"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n: t=5\ndata: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\ndata: [DONE]\n\n",
		true, false, nil, 0},
	{"chat-malformed-comment", schemas.APIOpenAIChat,
		": t=12a\ndata: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n: t=-4\n\n: t=\n\ndata: [DONE]\n\n",
		true, false, nil, 0},
	{"comment-as-own-block", schemas.APIOpenAIChat,
		": t=70\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n: t=80\n\ndata: [DONE]\n\n",
		true, true, []int64{70}, 80},
	{"anthropic", schemas.APIAnthropic,
		": t=300\nevent: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\n" +
			"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"y\"}}\n\n" +
			": t=400\nevent: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"z\"}}\n\n" +
			"event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":2}}\n\n" +
			"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
		true, true, []int64{300, 400}, 400},
	{"responses", schemas.APIOpenAIResponses,
		": t=2\nevent: response.output_text.delta\ndata: {\"delta\":\"a\"}\n\n" +
			": t=123456789012\nevent: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n",
		true, true, []int64{2}, 123456789012},
}

// TestReadStreamSimClock feeds streams with and without sim-clock comment
// lines in pieces of every size and checks which clock times them and the
// simulated times read.
func TestReadStreamSimClock(t *testing.T) {
	s := &sender{clk: SystemClock{}, maxChunks: 1 << 16}
	for _, tc := range simClockCases {
		for n := 1; n <= len(tc.stream); n += max(1, n/3) {
			r := Response{First: -1, st: wire.NewStream(tc.api), simClock: tc.simClock}
			s.readStream(context.Background(), &Exchange{Sent: time.Now()}, &chunkReader{tc.stream, n}, nil, &r)
			if r.Err != "" || !r.st.Done {
				t.Fatalf("%s (pieces of %d): error %q, done %v", tc.name, n, r.Err, r.st.Done)
			}
			if r.Sim != tc.wantSim {
				t.Fatalf("%s (pieces of %d): timed by the sim clock = %v, want %v", tc.name, n, r.Sim, tc.wantSim)
			}
			if !tc.wantSim {
				continue
			}
			got := make([]int64, len(r.Chunks))
			for i, d := range r.Chunks {
				got[i] = int64(d)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.chunks) || int64(r.First) != tc.chunks[0] || int64(r.SimEnd) != tc.end {
				t.Fatalf("%s (pieces of %d): chunks %v first %d end %d, want %v, %d, %d", tc.name, n, got, r.First, r.SimEnd, tc.chunks, tc.chunks[0], tc.end)
			}
		}
	}
}

// TestReadStreamLargeEvent checks an event larger than the read buffer.
func TestReadStreamLargeEvent(t *testing.T) {
	big := strings.Repeat("x", 100<<10)
	stream := "data: {\"choices\":[{\"delta\":{\"content\":\"" + big + "\"}}]}\n\ndata: [DONE]\n\n"
	s := &sender{clk: SystemClock{}, maxChunks: 16}
	r := Response{First: -1, st: wire.NewStream(schemas.APIOpenAIChat)}
	s.readStream(context.Background(), &Exchange{Sent: time.Now()}, &chunkReader{stream, 4096}, nil, &r)
	if len(r.Chunks) != 1 || r.Err != "" || !r.st.Done {
		t.Fatalf("chunks %d err %q done %v", len(r.Chunks), r.Err, r.st.Done)
	}
}

// FuzzReadStream checks the scanner never panics or over-counts on
// arbitrary bytes in arbitrary pieces.
func FuzzReadStream(f *testing.F) {
	for _, tc := range sseCases {
		f.Add(tc.stream, uint8(7), uint8(0))
	}
	f.Add("data: [DONE]\r\n\r\n", uint8(1), uint8(1))
	for _, tc := range simClockCases {
		// api bit 2 (value 4) turns the sim clock on.
		f.Add(tc.stream, uint8(5), uint8(map[string]int{schemas.APIOpenAIChat: 4, schemas.APIAnthropic: 5, schemas.APIOpenAIResponses: 6}[tc.api]))
	}
	f.Fuzz(func(t *testing.T, stream string, piece uint8, api uint8) {
		apis := []string{schemas.APIOpenAIChat, schemas.APIAnthropic, schemas.APIOpenAIResponses}
		s := &sender{clk: SystemClock{}, maxChunks: 1 << 16}
		r := Response{First: -1, st: wire.NewStream(apis[int(api&3)%3]), simClock: api&4 != 0}
		s.readStream(context.Background(), &Exchange{Sent: time.Now()}, &chunkReader{stream, int(piece) + 1}, nil, &r)
		if len(r.Chunks) > strings.Count(stream, "\n")+1 {
			t.Fatalf("%d chunks from %d lines", len(r.Chunks), strings.Count(stream, "\n"))
		}
		if !r.st.Done && r.Err == "" {
			t.Fatal("a stream without an end marker must end in an error")
		}
		if r.Sim {
			// Simulated times come only from ": t=" lines when asked for.
			if !r.simClock || !strings.Contains(stream, ": t=") || r.First < 0 || r.SimEnd < 0 {
				t.Fatalf("timed by the sim clock: asked %v, first %d, end %d", r.simClock, r.First, r.SimEnd)
			}
			for _, c := range r.Chunks {
				if c < 0 {
					t.Fatalf("negative simulated chunk time %d", c)
				}
			}
		}
	})
}

// TestReplyRebase: moving the send time later moves wall offsets earlier
// (never below zero) and leaves simulated offsets alone.
func TestReplyRebase(t *testing.T) {
	ms := func(v int) time.Duration { return time.Duration(v) * time.Millisecond }
	for _, tc := range []struct {
		name       string
		in         Response
		w          time.Duration
		first, end time.Duration
		chunks     []time.Duration
	}{
		{"wall", Response{First: ms(30), End: ms(90), Chunks: []time.Duration{ms(30), ms(50), ms(90)}}, ms(10), ms(20), ms(80), []time.Duration{ms(20), ms(40), ms(80)}},
		{"clamped", Response{First: ms(5), End: ms(8), Chunks: []time.Duration{ms(5)}}, ms(10), 0, 0, []time.Duration{0}},
		{"no output", Response{First: -1, End: ms(40)}, ms(10), -1, ms(30), nil},
		{"sim offsets kept", Response{Sim: true, First: ms(30), End: ms(90), Chunks: []time.Duration{ms(30)}}, ms(10), ms(30), ms(80), []time.Duration{ms(30)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.in
			r.Chunks = slices.Clone(tc.in.Chunks)
			r.rebase(tc.w)
			if r.First != tc.first || r.End != tc.end || !slices.Equal(r.Chunks, tc.chunks) {
				t.Errorf("rebase(%v) = first %v end %v chunks %v, want %v %v %v", tc.w, r.First, r.End, r.Chunks, tc.first, tc.end, tc.chunks)
			}
		})
	}
}
