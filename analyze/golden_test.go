package analyze

import (
	"bytes"
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentperf/agentperf/catalog"
	"github.com/agentperf/agentperf/internal/testutil/golden"
	"github.com/agentperf/agentperf/schemas"
)

// fixtureLevel describes one level of a hand-made run: every steady request
// streams out tokens at speed tok/s after ttft seconds (each varied
// deterministically by ±20 % over five steps), errors of them fail.
type fixtureLevel struct {
	users    int32
	perUser  int // steady requests per user
	speed    float64
	ttft     float64
	out      int32
	errors   int
	lagUS    int64
	turns    int32 // turns per session
	noUsage  bool
	shard    int32
	levelIdx int32
	short    int // steady requests (the first of each user) whose output falls short of the pin by half
}

const fixtureT0 = int64(1_767_225_600_000_000_000) // 2026-01-01T00:00:00Z

func writeFixture(t testing.TB, path, run string, meta *schemas.RunMeta, levels []fixtureLevel) {
	t.Helper()
	w, err := schemas.CreateResults(path, true)
	if err != nil {
		t.Fatal(err)
	}
	w.SetRunMeta(meta)
	for _, lv := range levels {
		base := fixtureT0 + int64(lv.levelIdx)*3600e9
		errs := lv.errors
		for u := range lv.users {
			clock := base + int64(u)*7e6
			// one warm-up request per user
			rows := []string{schemas.PhaseWarmup}
			for range lv.perUser {
				rows = append(rows, schemas.PhaseSteady)
			}
			rows = append(rows, schemas.PhaseDrain)
			for i, phase := range rows {
				step := float64((int(u)+i)%5) / 4 // 0 … 1
				speed := lv.speed * (0.8 + 0.4*step)
				ttft := lv.ttft * (1.2 - 0.4*step)
				turn := int32(i) % lv.turns
				session := int32(i) / lv.turns
				r := schemas.Result{
					RunID: run, Shard: lv.shard, Level: lv.levelIdx, Users: lv.users, Phase: phase, User: u,
					SessionID: run + "-u" + itoa(int(u)) + "-s" + itoa(int(session)) + "-sh" + itoa(int(lv.shard)),
					Turn:      turn, API: "openai-chat",
					ScheduledNS: clock, SentNS: clock + lv.lagUS*1000,
					InputTokens: 20000 + 1000*turn, CachedTokens: 18000 + 1000*turn, OutputTokens: lv.out,
					ReasoningTokens: -1, ExpectedInputTokens: 20000 + 1000*turn, ExpectedOutputTokens: lv.out, Status: 200,
				}
				if turn == 0 {
					r.CachedTokens = 0
				}
				for c := range lv.out {
					r.ChunkOffsetsUS = append(r.ChunkOffsetsUS, int32(math.Round(ttft*1e6+float64(c)*1e6/speed)))
				}
				r.FirstTokenNS = r.SentNS + int64(r.ChunkOffsetsUS[0])*1000
				r.EndNS = r.SentNS + int64(r.ChunkOffsetsUS[len(r.ChunkOffsetsUS)-1])*1000 + 200e3
				if lv.noUsage {
					r.OutputTokens, r.CachedTokens, r.InputTokens = -1, -1, -1
				}
				if phase == schemas.PhaseSteady && i == 1 && int(u) < lv.short {
					r.OutputTokens = lv.out / 2
					r.ChunkOffsetsUS = r.ChunkOffsetsUS[:lv.out/2]
					r.EndNS = r.SentNS + int64(r.ChunkOffsetsUS[len(r.ChunkOffsetsUS)-1])*1000 + 200e3
				}
				if phase == schemas.PhaseSteady && errs > 0 && i == 1 {
					errs--
					r.Status, r.Error = 503, "HTTP 503: overloaded"
					r.ChunkOffsetsUS, r.FirstTokenNS, r.OutputTokens = nil, 0, -1
					r.EndNS = r.SentNS + 50e6
				}
				if err := w.Write(&r); err != nil {
					t.Fatal(err)
				}
				clock = r.EndNS + 1e9 // one second of think time
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func itoa(i int) string { return fmtNum(float64(i)) }

// goldenFixtures writes the golden test's results files into dir: run
// "h200-run" (8×H200, gpt-oss-120b, four levels, replay's per-level counts
// and one level marked invalid), and run "mi300x-run" (DeepSeek V3.2, two
// shard files of one level, no hardware recorded, no usage reported).
func goldenFixtures(t testing.TB, dir string) []string {
	a := filepath.Join(dir, "h200.parquet")
	writeFixture(t, a, "h200-run", &schemas.RunMeta{
		RunID: "h200-run", Model: "gpt-oss-120b", Hardware: "h200", Accelerators: 8,
		System: "8×H200 vLLM", Steady: 2 * time.Minute,
		Levels: []schemas.LevelMeta{
			{Index: 0, Users: 4, CompletedSessions: 40, SessionsByAgent: map[string]int{"claude-code": 25, "codex": 15}, Valid: true},
			{Index: 1, Users: 8, CompletedSessions: 64, SessionsByAgent: map[string]int{"claude-code": 40, "codex": 24}, Valid: true},
			{Index: 2, Users: 16, CompletedSessions: 90, SessionsByAgent: map[string]int{"claude-code": 88, "codex": 2}, Valid: true},
			{Index: 3, Users: 32, CompletedSessions: 20, SessionsByAgent: map[string]int{"claude-code": 12, "codex": 8},
				Invalid: []string{"client lag p99 9ms > 5ms: the client fell behind its schedule"}},
		},
	}, []fixtureLevel{
		{users: 4, perUser: 12, speed: 620, ttft: 0.3, out: 40, turns: 4, lagUS: 200, levelIdx: 0},
		{users: 8, perUser: 12, speed: 330, ttft: 0.8, out: 40, turns: 4, lagUS: 300, levelIdx: 1},
		{users: 16, perUser: 12, speed: 150, ttft: 2.5, out: 40, turns: 4, lagUS: 400, errors: 1, levelIdx: 2},
		{users: 32, perUser: 6, speed: 70, ttft: 6, out: 40, turns: 4, lagUS: 9000, errors: 5, levelIdx: 3},
	})
	b0 := filepath.Join(dir, "mi300x-shard0.parquet")
	b1 := filepath.Join(dir, "mi300x-shard1.parquet")
	meta := &schemas.RunMeta{RunID: "mi300x-run", Model: "deepseek-v3.2", Steady: 10 * time.Minute}
	writeFixture(t, b0, "mi300x-run", meta, []fixtureLevel{{users: 6, perUser: 10, speed: 110, ttft: 1.5, out: 30, turns: 3, lagUS: 100, shard: 0, noUsage: true}})
	writeFixture(t, b1, "mi300x-run", meta, []fixtureLevel{{users: 6, perUser: 10, speed: 110, ttft: 1.5, out: 30, turns: 3, lagUS: 100, shard: 1, noUsage: true}})
	return []string{a, b0, b1}
}

// testCatalog returns the default catalog with the fixed test figures of
// testdata/catalog.yaml.
func testCatalog(t testing.TB) *catalog.Catalog {
	cat, err := catalog.Load(filepath.Join("testdata", "catalog.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func TestGolden(t *testing.T) {
	dir := t.TempDir()
	files := goldenFixtures(t, dir)
	rep, err := Analyze(context.Background(), files, Options{Catalog: testCatalog(t)})
	if err != nil {
		t.Fatal(err)
	}
	// hand-checked figures, independent of the goldens
	if len(rep.Sets) != 2 {
		t.Fatalf("%d sets, want 2", len(rep.Sets))
	}
	a, b := rep.Sets[0], rep.Sets[1]
	if a.Name != "8×H200 vLLM" || b.Name != "mi300x-run" || len(a.Levels) != 4 || len(b.Levels) != 1 {
		t.Fatalf("sets %q (%d levels), %q (%d levels)", a.Name, len(a.Levels), b.Name, len(b.Levels))
	}
	// speeds vary 0.8–1.2×: P25 ≈ 0.9× nominal; TTFT P95 ≈ 1.2× nominal.
	// 100 tok/s & 5 s: 16 users pass (P25 ≈ 135, TTFT ≈ 3 s, 1 error in 192 =
	// 0.52 %); 32 users fail (70 tok/s). 250 & 3 s: 8 users. 500 & 2 s: 4.
	// 2000 & 1 s: none.
	wantMax := []int{16, 8, 4, 0}
	for j, c := range a.Capacity {
		if c.MaxUsers != wantMax[j] {
			t.Errorf("tier %s max users %d, want %d", c.Tier.Name, c.MaxUsers, wantMax[j])
		}
	}
	c := a.Capacity[0] // fitted between 16 (pass) and 32 (fail) on 8 H200 (700 W, $3.50/h, 32 per rack)
	if c.Fit == nil || c.Fit.FitPass != 16 || c.Fit.FitFail != 32 || c.Users.Point < 16 || c.Users.Point >= 32 || c.Users.Lo > c.Users.Point || c.Users.Hi < c.Users.Point {
		t.Fatalf("100 tok/s: max users %+v, fit %+v; want between 16 and 32", c.Users, c.Fit)
	}
	for _, x := range []struct {
		name      string
		got, want float64
	}{
		{"users/accelerator", c.UsersPerAccelerator.Point, c.Users.Point / 8},
		{"users/kW", c.UsersPerKW.Point, c.Users.Point / (8 * 0.7)},
		{"users/$h lo", c.UsersPerDollarHour.Lo, c.Users.Lo / (8 * 3.5)},
		{"users/rack hi", c.UsersPerRack.Hi, c.Users.Hi / 8 * 32},
	} {
		if math.Abs(x.got-x.want) > 1e-9 {
			t.Errorf("%s = %v, want %v", x.name, x.got, x.want)
		}
	}
	if !math.IsNaN(b.Capacity[0].UsersPerAccelerator.Point) {
		t.Errorf("set without hardware should have no normalization, got %v", b.Capacity[0].UsersPerAccelerator)
	}
	if lv := b.Levels[0]; lv.Shards != 2 || lv.Requests != 120 || lv.ChunkCounted != 120 || lv.Users != 6 {
		t.Errorf("merged shards: %d shards, %d requests, %d chunk-counted, %d users", lv.Shards, lv.Requests, lv.ChunkCounted, lv.Users)
	}
	// Level 3's 9 ms lag on every send is 0.1 % of its load (32 users, 6–8 s
	// cycles): replay's old mark stays, the client rule does not flag it.
	if !a.Levels[3].HasFlag(FlagInvalid) || a.Levels[3].HasFlag(FlagClientLag) || !a.Levels[2].HasFlag(FlagFewTrajectoriesPerAgent) {
		t.Errorf("flags: level 3 %+v, level 2 %+v", a.Levels[3].Flags, a.Levels[2].Flags)
	}
	for _, f := range []struct{ format, table, name string }{
		{FormatTable, "", "report.txt"},
		{FormatMarkdown, "", "report.md"},
		{FormatCSV, TableCapacity, "capacity.csv"},
		{FormatCSV, TableLevels, "levels.csv"},
		{FormatJSON, "", "report.json"},
	} {
		var buf bytes.Buffer
		if err := Write(&buf, rep, f.format, f.table); err != nil {
			t.Fatal(err)
		}
		checkGolden(t, f.name, bytes.ReplaceAll(buf.Bytes(), []byte(dir), []byte("$DIR")))
	}
	// a single set's CSV has exactly the documented columns
	one, err := Analyze(context.Background(), files[:1], Options{Catalog: testCatalog(t)})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	Write(&buf, one, FormatCSV, TableCapacity)
	if first, _, _ := strings.Cut(buf.String(), "\n"); first != strings.Join(CapacityColumns, ",") {
		t.Errorf("single-set CSV header %q", first)
	}
	checkGolden(t, "capacity-one.csv", buf.Bytes())
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name+".golden"), got)
}
