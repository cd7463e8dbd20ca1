package proxy

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentperf/agentperf/schemas"
)

func TestSpoolTornTail(t *testing.T) {
	dir := t.TempDir()
	seg, err := createSegment(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var buf []byte
	for i := 0; i < 3; i++ {
		st := &spoolTurn{Session: "s", API: schemas.APIAnthropic, StartNS: int64(i), EndNS: int64(i + 1),
			Body: []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`), Response: [][]byte{[]byte(`{"role":"assistant","content":[]}`)},
			Usage: schemas.Usage{Input: schemas.Int64(10)}}
		buf, _ = encodeRecord(buf[:0], st)
		if err := seg.write(buf); err != nil {
			t.Fatal(err)
		}
	}
	if err := seg.close(); err != nil {
		t.Fatal(err)
	}
	full, _ := os.ReadFile(seg.path)
	cases := map[string][]byte{
		"intact":        full,
		"torn record":   full[:len(full)-5],
		"garbage tail":  append(append([]byte(nil), full...), 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7),
		"flipped byte":  flip(full, len(full)-3),
		"header only":   []byte(spoolMagic),
		"half a header": []byte(spoolMagic[:5]),
	}
	want := map[string]int{"intact": 3, "torn record": 2, "garbage tail": 3, "flipped byte": 2, "header only": 0, "half a header": 0}
	for name, data := range cases {
		p := filepath.Join(t.TempDir(), segmentName(time.Now()))
		os.WriteFile(p, data, 0o600)
		var got []*spoolTurn
		good, n, _, err := readSegment(p, func(st *spoolTurn) error { got = append(got, st); return nil })
		if err != nil || n != want[name] || len(got) != n {
			t.Errorf("%s: %d turns (err %v), want %d", name, n, err, want[name])
			continue
		}
		for i, st := range got {
			if st.StartNS != int64(i) || *st.Usage.Input != 10 || !strings.Contains(string(st.Body), "hi") || len(st.Response) != 1 {
				t.Errorf("%s: turn %d decoded as %+v", name, i, st)
			}
		}
		if n > 0 {
			// Reopen, append one more, and read all back.
			s, err := reopenSegment(p, good, n)
			if err != nil {
				t.Fatal(err)
			}
			buf, _ = encodeRecord(buf[:0], &spoolTurn{Session: "s", API: "raw", StartNS: 99})
			s.write(buf)
			s.close()
			_, n2, torn, _ := readSegment(p, func(*spoolTurn) error { return nil })
			if n2 != n+1 || torn {
				t.Errorf("%s: after reopen and append: %d turns (torn %v), want %d", name, n2, torn, n+1)
			}
		}
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0xff
	return c
}

// TestRotation writes one trace set per period under Out.
func TestRotation(t *testing.T) {
	fake, _ := startFake(t, 3, 0)
	out := filepath.Join(t.TempDir(), "traces")
	run := startRun(t, Config{Front: FrontOptions{Upstream: mustURL(fake.URL)},
		Recorder: Options{Out: out, RotateEvery: 150 * time.Millisecond}})
	body := `{"model":"gpt-x","messages":[{"role":"user","content":"hi"}]}`
	for i := 0; i < 3; i++ {
		if st, _ := post(t, run.url+"/v1/chat/completions", nil, body); st != 200 {
			t.Fatal(st)
		}
		time.Sleep(400 * time.Millisecond)
	}
	run.stop(t)
	ents, _ := os.ReadDir(out)
	total := 0
	var sets []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			sets = append(sets, e.Name())
			total += readTrace(t, filepath.Join(out, e.Name())).turns()
		}
	}
	if len(sets) != 3 || total != 3 {
		t.Errorf("trace sets %v holding %d turns, want 3 sets of 1", sets, total)
	}
	if _, err := os.Stat(filepath.Join(out, ".spool")); !os.IsNotExist(err) {
		t.Errorf("spool left: %v", err)
	}
}

// TestRotationRecovery abandons a rotating recorder without closing it (a
// crash) and checks that the next start writes its spool out as a period's
// trace set.
func TestRotationRecovery(t *testing.T) {
	fake, _ := startFake(t, 2, 0)
	out := filepath.Join(t.TempDir(), "traces")
	opt := Options{Out: out, RotateEvery: time.Hour}
	rec1, err := NewRecorder(opt)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewReverse(rec1, nil, FrontOptions{Upstream: mustURL(fake.URL)}))
	for i := 0; i < 3; i++ {
		post(t, srv.URL+"/v1/chat/completions", nil, `{"model":"m","messages":[{"role":"user","content":"x"}]}`)
	}
	srv.Close()
	rec1.Flush(context.Background())
	// A second recorder on the same spool is refused while rec1 lives.
	if _, err := NewRecorder(opt); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second recorder on a live spool: %v", err)
	}
	// rec1 dies without closing (its lock goes with the process): its
	// spool segment is an orphan.
	rec1.unlock()
	rec2, err := NewRecorder(opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := rec2.Close(); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(out)
	total := 0
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			total += readTrace(t, filepath.Join(out, e.Name())).turns()
		}
	}
	if total != 3 {
		t.Errorf("%d turns recovered into period trace sets, want 3", total)
	}
}

// BenchmarkSpoolToTraceSet measures writing a spooled 200-turn agent
// session (each turn resends the growing history, ~100 tokens per
// message) as a trace set: the work SIGINT or rotation does.
func BenchmarkSpoolToTraceSet(b *testing.B) {
	dir := b.TempDir()
	seg, err := createSegment(filepath.Join(dir, "spool"), time.Now())
	if err != nil {
		b.Fatal(err)
	}
	var msgs []string
	var buf []byte
	var spoolBytes int64
	for i := 0; i < 200; i++ {
		msgs = append(msgs, fmt.Sprintf(`{"role":"user","content":"step %d: %s"}`, i, strings.Repeat("edit the parser and run the tests again ", 12)))
		body := `{"model":"m","max_tokens":1000,"stream":true,"system":"` + strings.Repeat("You are a coding agent. ", 200) + `","messages":[` + strings.Join(msgs, ",") + `]}`
		st := &spoolTurn{Session: "s", API: schemas.APIAnthropic, StartNS: int64(i), EndNS: int64(i + 1), Body: []byte(body),
			Response: [][]byte{[]byte(fmt.Sprintf(`{"role":"assistant","content":[{"type":"text","text":"done %d"}]}`, i))}}
		buf, _ = encodeRecord(buf[:0], st)
		seg.write(buf)
		spoolBytes += int64(len(buf))
		msgs = append(msgs, fmt.Sprintf(`{"role":"assistant","content":[{"type":"text","text":"done %d"}]}`, i))
	}
	seg.close()
	b.SetBytes(spoolBytes)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out := filepath.Join(dir, fmt.Sprintf("set-%d", i))
		if n, err := convertSegments([]string{seg.path}, out); err != nil || n != 200 {
			b.Fatal(n, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)/200, "ms/turn")
}
