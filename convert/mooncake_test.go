package convert

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentperf/agentperf/inspect"
	"github.com/agentperf/agentperf/internal/testutil"
	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/tokens"
)

// mooncakeSample is the Mooncake FAST'25 synthetic trace kept in the
// repository's testdata.
func mooncakeSample(t testing.TB) string { return testutil.MooncakeSample(t) }

func readMooncakeFile(t testing.TB, path string) []mooncakeRequest {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []mooncakeRequest
	for i, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		r, err := parseMooncakeLine(line)
		if err != nil {
			t.Fatalf("%s:%d: %v", path, i+1, err)
		}
		out = append(out, r)
	}
	return out
}

// readRequests returns the requests of a trace set in file order, with
// their slices copied.
func readRequests(t testing.TB, dir string) []schemas.Request {
	t.Helper()
	ts, err := schemas.OpenTraceSet(dir, schemas.TraceSetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	var out []schemas.Request
	err = ts.Requests(func(r *schemas.Request) error {
		c := *r
		c.Prompt = append([]int64(nil), r.Prompt...)
		c.Response = append([]int64(nil), r.Response...)
		c.HashIDs = append([]int64(nil), r.HashIDs...)
		out = append(out, c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func readSessions(t testing.TB, dir string) []schemas.Session {
	t.Helper()
	ts, err := schemas.OpenTraceSet(dir, schemas.TraceSetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	var out []schemas.Session
	if err := ts.Sessions(func(s *schemas.Session) error { out = append(out, *s); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// sampleHead returns the number of Mooncake sample lines in-process tests
// import; the CLI test (cli_test.go) imports all 3,993 with the binary.
func sampleHead() int {
	if raceBuild {
		return 100
	}
	return 800
}

var sampleSetOnce struct {
	sync.Once
	in, set string
	stats   *ImportStats
	err     error
}

// sampleSet imports the sample's first sampleHead() lines once per test
// process and returns the input file, the trace set and the import stats.
func sampleSet(t *testing.T) (in, set string, st *ImportStats) {
	t.Helper()
	sample := mooncakeSample(t) // skips the test when the sample is absent
	s := &sampleSetOnce
	s.Do(func() {
		dir, err := os.MkdirTemp("", "convert-sample-")
		if err != nil {
			s.err = err
			return
		}
		sharedDirs = append(sharedDirs, dir)
		data, err := os.ReadFile(sample)
		if err != nil {
			s.err = err
			return
		}
		n := sampleHead()
		s.in = filepath.Join(dir, "sample-head.jsonl")
		if err := os.WriteFile(s.in, bytes.Join(bytes.SplitAfterN(data, []byte("\n"), n+1)[:n], nil), 0o644); err != nil {
			s.err = err
			return
		}
		s.set = filepath.Join(dir, "set")
		s.stats, s.err = Import(context.Background(), s.in, s.set, ImportOptions{Format: FormatMooncake})
	})
	if s.err != nil {
		t.Fatal(s.err)
	}
	return s.in, s.set, s.stats
}

// sharedDirs are removed by TestMain.
var sharedDirs []string

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range sharedDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

func TestImportMooncakeSample(t *testing.T) {
	in, out, st := sampleSet(t)
	n := sampleHead()
	if st.Requests != n || st.Lines != n || st.Skipped != 0 {
		t.Errorf("stats = %+v, want %d requests and lines, 0 skipped", st, n)
	}
	checkMooncakeImport(t, in, out, st.Sessions)
	checkMooncakeStorage(t, in, out)
}

// checkMooncakeStorage checks that an imported Mooncake set stores its
// filler blocks as recipes (the set is at most 10× its source JSONL; with
// the text stored it was ~75×) and passes inspect's check, which rebuilds
// every block and compares its hash with its id.
func checkMooncakeStorage(t *testing.T, in, out string) {
	t.Helper()
	src, err := os.Stat(in)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := schemas.OpenTraceSet(out, schemas.TraceSetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	if ratio := float64(ts.Size()) / float64(src.Size()); ratio > 10 {
		t.Errorf("trace set is %d bytes, %.1f× the %d-byte source; want ≤ 10×", ts.Size(), ratio, src.Size())
	}
	recipes := 0
	if err := ts.Blobs(func(b *schemas.Blob) error {
		if b.Recipe != "" {
			recipes++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if int64(recipes) != ts.NumBlobs() {
		t.Errorf("%d of %d blobs stored as recipes, want all", recipes, ts.NumBlobs())
	}
	problems, err := inspect.Check(ts, inspect.Options{})
	if err != nil || len(problems) > 0 {
		t.Errorf("inspect check: %v %v", err, problems)
	}
}

// checkMooncakeImport checks a trace set imported from the Mooncake file
// in: exact token counts and times, block structure, session rows and the
// grouping rule.
func checkMooncakeImport(t *testing.T, in, out string, nSessions int) {
	t.Helper()
	want := readMooncakeFile(t, in)
	got := readRequests(t, out)
	if len(got) != len(want) {
		t.Fatalf("%d requests, want %d", len(got), len(want))
	}
	epoch := DefaultMooncakeEpoch.UnixNano()
	for i, r := range got {
		w := want[i]
		if int(r.InputTokens) != w.Input || int(r.OutputTokens) != w.Output {
			t.Fatalf("request %d: tokens in/out %d/%d, want %d/%d", i, r.InputTokens, r.OutputTokens, w.Input, w.Output)
		}
		if wantNS := epoch + int64(w.TimestampMS)*1e6; r.StartNS != wantNS {
			t.Fatalf("request %d: start %d, want %d", i, r.StartNS, wantNS)
		}
		if len(r.HashIDs) != len(w.HashIDs) || len(r.Prompt) != len(w.HashIDs) {
			t.Fatalf("request %d: %d hash ids, %d prompt blobs, want %d", i, len(r.HashIDs), len(r.Prompt), len(w.HashIDs))
		}
	}
	checkBlockStructure(t, want, got)

	sessions := readSessions(t, out)
	if len(sessions) != nSessions {
		t.Errorf("%d session rows, stats say %d", len(sessions), nSessions)
	}
	var turns, multi int
	for _, s := range sessions {
		turns += int(s.Turns)
		if s.Turns > 1 {
			multi++
		}
		if s.Source != schemas.SourceImport || s.Agent != AgentMooncake {
			t.Errorf("session %s: source %q agent %q", s.ID, s.Source, s.Agent)
		}
	}
	if turns != len(want) || multi == 0 {
		t.Errorf("sessions hold %d turns (want %d), %d multi-turn (want > 0)", turns, len(want), multi)
	}
	checkSessionChains(t, got)
}

// checkBlockStructure checks, for every request and block position j, that
// two requests agree on their first j+1 Mooncake hash ids exactly when
// they agree on agentperf hash id j (block hashes are chained, so equal id
// j means equal ids 0..j).
func checkBlockStructure(t *testing.T, want []mooncakeRequest, got []schemas.Request) {
	t.Helper()
	// Intern Mooncake prefixes: prefix(j) = (prefix(j-1), id_j).
	type link struct{ prev, id int64 }
	intern := map[link]int64{}
	toAP := map[int64]int64{} // Mooncake prefix → agentperf hash
	toMC := map[int64]int64{} // agentperf hash → Mooncake prefix
	for i, w := range want {
		prev := int64(-1)
		for j, id := range w.HashIDs {
			k, ok := intern[link{prev, id}]
			if !ok {
				k = int64(len(intern))
				intern[link{prev, id}] = k
			}
			prev = k
			h := got[i].HashIDs[j]
			if ap, ok := toAP[k]; ok && ap != h {
				t.Fatalf("request %d block %d: equal Mooncake prefix, different agentperf hash", i, j)
			}
			if mc, ok := toMC[h]; ok && mc != k {
				t.Fatalf("request %d block %d: equal agentperf hash, different Mooncake prefix", i, j)
			}
			toAP[k], toMC[h] = h, k
		}
	}
	if len(toAP) != len(toMC) {
		t.Fatalf("%d Mooncake prefixes map to %d agentperf hashes", len(toAP), len(toMC))
	}
	// The sample does share prefixes; a test that saw no sharing would
	// prove nothing.
	blocks := 0
	for _, w := range want {
		blocks += len(w.HashIDs)
	}
	if len(toAP) >= blocks {
		t.Fatalf("no shared blocks in the sample (%d distinct of %d)", len(toAP), blocks)
	}
}

// checkSessionChains checks the documented grouping rule on the result:
// within a session every turn's prompt starts with the previous turn's
// full blocks and is longer.
func checkSessionChains(t *testing.T, got []schemas.Request) {
	t.Helper()
	last := map[string]*schemas.Request{}
	for i := range got {
		r := &got[i]
		p, ok := last[r.SessionID]
		if ok {
			full := len(p.HashIDs)
			if p.InputTokens%tokens.BlockSize != 0 {
				full--
			}
			if r.InputTokens <= p.InputTokens || len(r.HashIDs) < full || !equalIDs(p.HashIDs[:full], r.HashIDs[:full]) {
				t.Fatalf("session %s turn %d does not extend turn %d", r.SessionID, r.Turn, p.Turn)
			}
			if r.ThinkNS != r.StartNS-p.StartNS {
				t.Fatalf("session %s turn %d: think %d, want arrival gap %d", r.SessionID, r.Turn, r.ThinkNS, r.StartNS-p.StartNS)
			}
		} else if r.Turn != 0 || r.ThinkNS != 0 {
			t.Fatalf("session %s first request has turn %d think %d", r.SessionID, r.Turn, r.ThinkNS)
		}
		last[r.SessionID] = r
	}
}

// TestMooncakeBlockText checks that rebuilt prompts hold exactly the
// recorded number of o200k tokens, block by block.
func TestMooncakeBlockText(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	lines := `{"timestamp": 0, "input_length": 1100, "output_length": 7, "hash_ids": [0, 1, 2]}
{"timestamp": 5, "input_length": 1030, "output_length": 3, "hash_ids": [0, 1, 3]}
{"timestamp": 9, "input_length": 300, "output_length": 3, "hash_ids": [4]}
`
	if err := os.WriteFile(in, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "set")
	if _, err := Import(context.Background(), in, out, ImportOptions{Format: FormatMooncake}); err != nil {
		t.Fatal(err)
	}
	ts, err := schemas.OpenTraceSet(out, schemas.TraceSetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	wantBlocks := [][]int{{512, 512, 76}, {512, 512, 6}, {300}}
	i := 0
	err = ts.Requests(func(r *schemas.Request) error {
		body, err := ts.Body(nil, r)
		if err != nil {
			return err
		}
		var req struct {
			MaxTokens int `json:"max_tokens"`
			Stream    bool
			Messages  []struct{ Role, Content string }
		}
		if err := json.Unmarshal(body, &req); err != nil {
			t.Fatalf("request %d body: %v", i, err)
		}
		if len(req.Messages) != len(wantBlocks[i]) {
			t.Fatalf("request %d: %d messages, want %d", i, len(req.Messages), len(wantBlocks[i]))
		}
		for j, m := range req.Messages {
			if n := tokens.Count(m.Content); n != wantBlocks[i][j] || m.Role != "user" {
				t.Errorf("request %d block %d: %s message of %d tokens, want user and %d", i, j, m.Role, n, wantBlocks[i][j])
			}
		}
		if req.MaxTokens != int(r.OutputTokens) || !req.Stream {
			t.Errorf("request %d: max_tokens %d stream %v, want %d true", i, req.MaxTokens, req.Stream, r.OutputTokens)
		}
		i++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	reqs := readRequests(t, out)
	// Requests 0 and 1 share two full blocks, so two hash ids; request 2
	// shares nothing; and request 1 is shorter, so it starts a session.
	if reqs[0].HashIDs[0] != reqs[1].HashIDs[0] || reqs[0].HashIDs[1] != reqs[1].HashIDs[1] || reqs[0].HashIDs[2] == reqs[1].HashIDs[2] {
		t.Errorf("hash ids %v and %v: want the first two equal, the third different", reqs[0].HashIDs, reqs[1].HashIDs)
	}
	if reqs[0].SessionID == reqs[1].SessionID || reqs[1].SessionID == reqs[2].SessionID {
		t.Errorf("sessions %s %s %s: want three", reqs[0].SessionID, reqs[1].SessionID, reqs[2].SessionID)
	}
}

func TestMooncakeSessions(t *testing.T) {
	tests := []struct {
		name string
		reqs []mooncakeRequest
		want []int // session index per request
	}{
		{"growing chain", []mooncakeRequest{
			{Input: 600, HashIDs: []int64{1, 2}},
			{Input: 1100, HashIDs: []int64{1, 5, 6}},
			{Input: 1500, HashIDs: []int64{1, 5, 7}},
		}, []int{0, 0, 0}},
		{"same prefix, not longer", []mooncakeRequest{
			{Input: 1100, HashIDs: []int64{1, 2, 3}},
			{Input: 1100, HashIDs: []int64{1, 2, 4}},
			{Input: 1000, HashIDs: []int64{1, 2}},
		}, []int{0, 1, 2}},
		{"short first turn never chains", []mooncakeRequest{
			{Input: 100, HashIDs: []int64{1}},
			{Input: 700, HashIDs: []int64{1, 2}},
		}, []int{0, 1}},
		{"full last block is part of the prefix", []mooncakeRequest{
			{Input: 1024, HashIDs: []int64{1, 2}},
			{Input: 1030, HashIDs: []int64{1, 2, 3}},
			{Input: 1040, HashIDs: []int64{1, 9, 3}},
		}, []int{0, 0, 1}},
		{"interleaved sessions", []mooncakeRequest{
			{Input: 600, HashIDs: []int64{1, 2}},
			{Input: 600, HashIDs: []int64{8, 9}},
			{Input: 1100, HashIDs: []int64{8, 10, 11}},
			{Input: 1100, HashIDs: []int64{1, 12, 13}},
		}, []int{0, 1, 1, 0}},
		{"longest prefix wins", []mooncakeRequest{
			{Input: 600, HashIDs: []int64{1, 2}},
			{Input: 1100, HashIDs: []int64{1, 3, 4}},
			{Input: 1200, HashIDs: []int64{1, 3, 5}}, // extends both; session 0's tail [1,3] is longer
		}, []int{0, 0, 0}},
	}
	for _, tt := range tests {
		var s mooncakeSessions
		for i, r := range tt.reqs {
			got, _, _ := s.assign(r, int64(i))
			if got != tt.want[i] {
				t.Errorf("%s: request %d in session %d, want %d", tt.name, i, got, tt.want[i])
			}
		}
	}
}

func TestParseMooncakeLine(t *testing.T) {
	tests := []struct {
		line    string
		wantErr string
	}{
		{`{"timestamp": 3, "input_length": 513, "output_length": 1, "hash_ids": [4, 5]}`, ""},
		{`{"timestamp": 3.5, "input_length": 512, "output_length": 0, "hash_ids": [4]}`, ""},
		{`{"timestamp": 3, "input_length": 513, "output_length": 1, "hash_ids": [4]}`, "hash_ids has 1 blocks but input_length 513 needs 2"},
		{`{"timestamp": 3, "input_length": 0, "output_length": 1, "hash_ids": []}`, "input_length 0 out of range"},
		{`{"timestamp": -1, "input_length": 5, "output_length": 1, "hash_ids": [1]}`, "timestamp -1 ms out of range"},
		{`{"input_length": 5, "output_length": 1}`, "not a Mooncake line: missing timestamp, hash_ids"},
		{`{"timestamp": "x", "input_length": 5, "output_length": 1, "hash_ids": [1]}`, "timestamp: expected float64, got JSON string"},
		{`{"timestamp": 0, "input_length": 5, "output_length": 1, "hash_ids": [1]`, "invalid JSON: unexpected end of JSON input"},
		{`[1,2]`, "the line: expected convert.mooncakeLine, got JSON array"},
	}
	for _, tt := range tests {
		_, err := parseMooncakeLine([]byte(tt.line))
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("parse(%s): %v", tt.line, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("parse(%s) = %v, want error containing %q", tt.line, err, tt.wantErr)
		}
	}
}

// BenchmarkImportMooncakeSample imports the whole sample (3,993 requests,
// 121,877 prompt blocks of which 43,924 distinct, 61.2M prompt tokens);
// MB/s is of input.
func BenchmarkImportMooncakeSample(b *testing.B) {
	in := mooncakeSample(b)
	st, _ := os.Stat(in)
	b.SetBytes(st.Size())
	for i := 0; i < b.N; i++ {
		out := filepath.Join(b.TempDir(), "set")
		if _, err := Import(context.Background(), in, out, ImportOptions{Format: FormatMooncake}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*3993)/b.Elapsed().Seconds(), "requests/s")
}

func TestMooncakeEpoch(t *testing.T) {
	epoch := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	out := filepath.Join(t.TempDir(), "set")
	if _, err := Import(context.Background(), fixtureFiles[FormatMooncake].path, out, ImportOptions{Format: FormatMooncake, MooncakeEpoch: epoch}); err != nil {
		t.Fatal(err)
	}
	reqs := readRequests(t, out)
	// head.jsonl's timestamps: 0, 12, 1510, 2230, 4096, 5000 ms.
	for i, ms := range []int64{0, 12, 1510, 2230, 4096, 5000} {
		if want := epoch.UnixNano() + ms*1e6; reqs[i].StartNS != want {
			t.Errorf("request %d: start %d, want %d", i, reqs[i].StartNS, want)
		}
	}
	// Sessions: [0,1,2] → [0,1,5] → [0,1,7,8]; [3,4] → [3,4,6]; [9].
	wantSess := []string{"mooncake-000001", "mooncake-000002", "mooncake-000001", "mooncake-000002", "mooncake-000001", "mooncake-000003"}
	wantThink := []int64{0, 0, 1510, 2218, 2586, 0}
	for i, r := range reqs {
		if r.SessionID != wantSess[i] || r.ThinkNS != wantThink[i]*1e6 {
			t.Errorf("request %d: session %s think %d ms, want %s %d ms", i, r.SessionID, r.ThinkNS/1e6, wantSess[i], wantThink[i])
		}
	}
}
