package sim

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// sameParse reports how two parses of one body differ ("" when they do
// not): the request (segments' validators compared by presence) or the
// refusal.
func sameParse(g1 *genRequest, e1 *apiError, g2 *genRequest, e2 *apiError) string {
	if (e1 == nil) != (e2 == nil) {
		return fmt.Sprintf("refusals %v and %v", e1, e2)
	}
	if e1 != nil {
		if *e1 != *e2 {
			return fmt.Sprintf("refusals %+v and %+v", *e1, *e2)
		}
		return ""
	}
	strip := func(g *genRequest) genRequest {
		c := *g
		c.prompt.parsed = nil
		for _, s := range g.prompt.parsed {
			has := s.fresh != nil
			s.fresh = nil
			c.prompt.parsed = append(c.prompt.parsed, s)
			if has {
				c.prompt.parsed[len(c.prompt.parsed)-1].overhead |= 0x80
			}
		}
		return c
	}
	if a, b := strip(g1), strip(g2); !reflect.DeepEqual(a, b) {
		return fmt.Sprintf("requests %+v and %+v", a, b)
	}
	return ""
}

// checkLazyChat compares the lazy chat parse of b with the full one, with
// a cold count cache and then with the cache the lazy parse warmed, and
// parseChat with the full parse; it reports whether the lazy parse
// accepted b both times. The lazy parse may refuse a body the full parse
// accepts (one with two messages members): parseChat then answers with
// the full parse.
func checkLazyChat(t *testing.T, b []byte) (accepted bool) {
	t.Helper()
	accepted = true
	g, err := parseChatLazy(b, newCountCache(), true, false)
	cc := newCountCache()
	for pass := 0; pass < 2; pass++ {
		lg, lerr := parseChatLazy(b, cc, true, true)
		if lerr != nil {
			accepted = false
			continue
		}
		if d := sameParse(lg, nil, g, err); d != "" {
			t.Fatalf("pass %d: lazy and full parses of %q differ: %s", pass, b, d)
		}
	}
	pg, perr := parseChat(b, newCountCache(), true)
	if d := sameParse(pg, perr, g, err); d != "" {
		t.Fatalf("parseChat and the full parse of %q differ: %s", b, d)
	}
	return accepted
}

// TestParseChatLazy checks the lazy chat parse against the full one on
// valid bodies and on bodies broken inside, between and around messages.
func TestParseChatLazy(t *testing.T) {
	msgs := []string{`{"role":"system","content":"be brief"}`, `{"role":"user","content":"fix \"it\"\n\tnow"}`,
		`{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"bash","arguments":"{\"cmd\":\"ls\"}"}}]}`,
		`{"role":"tool","tool_call_id":"c1","content":"a.go\nb.go"}`}
	valid := `{"max_tokens":10,"messages":[` + strings.Join(msgs, ",") + `],"model":"m","stream":true}`
	bodies := []string{
		valid,
		`{"model":"m","messages" : [ ` + strings.Join(msgs, " , ") + ` ] }`,
		`{"model":"m","messages":[]}`,
		`{"model":"m","messages":[ ]}`,
		`{"model":"m","messages":[` + msgs[1] + `,]}`,
		`{"model":"m","messages":[,` + msgs[1] + `]}`,
		`{"model":"m","messages":[` + msgs[1] + ` ` + msgs[2] + `]}`,
		`{"model":"m","messages":[` + msgs[1] + `]]}`,
		`{"model":"m","messages":[` + msgs[1] + `}`,
		`{"model":"m","messages":[` + msgs[1],
		`{"model":"m","messages":[` + msgs[1] + `],"messages":[` + msgs[2] + `]}`,
		`{"model":"m","messages":[{"role":"user","content":"x"` + `],"model":"m"}`,
		`{"model":"m","messages":[{"role":"user","content":"\x"}]}`,
		`{"model":"m","messages":[{"role":"user","content":"a` + "\x01" + `"}]}`,
		`{"model":"m","messages":[{"role":"user","content":"x"}, 1e5, "s", [true], null]}`,
		`{"model":"m","messages":[{"role":"user","content":"x"}, 01]}`,
		`{"model":"m","messages":[{"role":"user","content":"x"}, tru]}`,
		`{"model":"m","messages":[{"role":"user","content":"x"}, {"role":"user","content":"y",}]}`,
		`{"model":"m","messages":[{"role":"user","content":"x"}, {"role":"nobody","content":"y"}]}`,
		`{"model":"m","messages":[{"role":"user","content":"x\\"}]}`,
		`{"model":"m","messages":[{"role":"user","content":"x\\\"}]}`,
		`{"model":"m","messages":[{"role":"user","content":"x"}]} x`,
		`{"model":"m","messages":[{"role":"user","content":"x"}],"n":2}`,
		`{"model":"m","messages":{"role":"user"}}`,
		`{"model":"m","messages":"hi"}`,
		`{"model":"m"}`,
	}
	for i, b := range bodies {
		if !checkLazyChat(t, []byte(b)) && i < 2 {
			t.Errorf("the lazy parse refused the valid body %s", b)
		}
	}
	// A message the cache holds is not validated again: the same history
	// with a broken message appended is refused.
	cc := newCountCache()
	if _, err := parseChat([]byte(valid), cc, false); err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(valid, `],"model"`, `,{"role":"user","content":"x"]],"model"`, 1)
	_, lerr := parseChatLazy([]byte(broken), cc, false, true)
	g, err := parseChat([]byte(broken), cc, false)
	if lerr == nil || err == nil || g != nil {
		t.Fatalf("broken history accepted: lazy %v, parseChat %v", lerr, err)
	}
	if _, ferr := parseChatLazy([]byte(broken), newCountCache(), false, false); *ferr != *err {
		t.Fatalf("parseChat refused %q with %v, the full parse with %v", broken, err, ferr)
	}
}

// FuzzParseChatLazy checks the lazy chat parse against the full one.
func FuzzParseChatLazy(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"x"},{"role":"assistant","content":[{"type":"text","text":"y"}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if !checkLazyChat(t, b) {
			if g, err := parseChatLazy(b, newCountCache(), false, false); err == nil && strings.Count(string(b), "messages") < 2 {
				t.Fatalf("the lazy parse refused %q, the full parse accepts it (%+v)", b, g)
			}
		}
	})
}

var itemSeeds = []string{
	`{"role":"user","content":"x"}`, `{"content":"x","role":"tool","tool_call_id":"c"}`, `{"Role":"user","role":"assistant"}`,
	`{"role":"user","ROLE":null}`, `{"role":5}`, `{"role":"us\u0065r"}`, `{"r\u006fle":"user"}`, `{"role":"é"}`,
	`{"type":"function","function":{"name":"f"}}`, `{"type":"custom","function":null,"name":"n"}`, `{"NAME":"a","Type":"b"}`,
	`null`, `"s"`, `[]`, `{}`, `{"role":"user"} x`, `{"role":["a"]}`, `{"function":1}`,
}

// TestDecodeItemPlain checks decodeItemPlain against encoding/json: an
// item it reads decodes the same with json.Unmarshal.
func TestDecodeItemPlain(t *testing.T) {
	read := 0
	for _, s := range itemSeeds {
		if checkItem(t, []byte(s)) {
			read++
		}
	}
	if read < 5 {
		t.Errorf("decodeItemPlain read %d seeds", read)
	}
}

func checkItem(t *testing.T, b []byte) bool {
	t.Helper()
	it, ok := decodeItemPlain(b)
	if !ok {
		return false
	}
	var want roleItem
	if err := json.Unmarshal(b, &want); err != nil || !reflect.DeepEqual(it, want) {
		t.Fatalf("decodeItemPlain(%s) = %+v, encoding/json %+v, %v", b, it, want, err)
	}
	return true
}

func FuzzDecodeItemPlain(f *testing.F) {
	for _, s := range itemSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkItem(t, b) })
}

// TestParseChatHistory checks chat parses that take the segments of the
// messages a history holds against the full parse, over a conversation
// whose bodies grow by a message or two, with bodies that share only part
// of a history (an edited message, a number cut differently, other
// spacing) in between.
func TestParseChatHistory(t *testing.T) {
	msg := func(k int) string {
		switch k % 4 {
		case 0:
			return fmt.Sprintf(`{"content":"step %d: fix \"it\"\n\tnow","role":"user"}`, k)
		case 1:
			return fmt.Sprintf(`{"content":null,"role":"assistant","tool_calls":[{"function":{"arguments":"{\"cmd\":\"ls %d\"}","name":"bash"},"id":"c%d","type":"function"}]}`, k, k)
		case 2:
			return fmt.Sprintf(`{"content":"out %d","role":"tool","tool_call_id":"c%d"}`, k, k-1)
		}
		return fmt.Sprintf(`{"content":[{"text":"part %d","type":"text"}],"role":"user"}`, k)
	}
	body := func(msgs []string, extra string) []byte {
		return []byte(`{"max_tokens":` + fmt.Sprint(len(msgs)) + `,"messages":[` + strings.Join(msgs, ",") + `]` + extra + `,"model":"m","stream":true}`)
	}
	cc := newCountCache()
	cc.histories = newHistories()
	check := func(b []byte) {
		t.Helper()
		g, err := parseChat(b, cc, true)
		fg, ferr := parseChatLazy(b, newCountCache(), true, false)
		if d := sameParse(g, err, fg, ferr); d != "" {
			t.Fatalf("history parse and full parse of %s differ: %s", b, d)
		}
	}
	sys := `{"content":"be brief","role":"system"}`
	var msgs []string
	msgs = append(msgs, sys)
	for k := 0; k < 40; k++ {
		msgs = append(msgs, msg(k))
		if k%3 == 0 {
			msgs = append(msgs, msg(k+100))
		}
		check(body(msgs, ""))
		switch k % 5 {
		case 1: // the same history with its last message edited
			edited := append(append([]string(nil), msgs[:len(msgs)-1]...), msg(k+1000))
			check(body(edited, ""))
		case 2: // a number after the history's bytes
			check(body(append(append([]string(nil), msgs...), "12"), ""))
			check(body(append(append([]string(nil), msgs...), "123", "4"), ""))
		case 3: // other spacing after the history
			b := body(msgs, "")
			b = []byte(strings.Replace(string(b), `]],"model"`, `] ] ,"model"`, 1))
			check(b)
			check(body(append(append([]string(nil), msgs...), ` `+msg(k)), ""))
		case 4: // broken after the history
			check(body(append(append([]string(nil), msgs...), `{"role":"user","content":"x"`), ""))
			check(body(append(append([]string(nil), msgs...), `{"role":"nobody","content":"x"}`), ""))
		}
	}
	// Another conversation with the same system prompt and its own first
	// message.
	other := []string{sys, msg(7000)}
	for k := 0; k < 10; k++ {
		other = append(other, msg(k))
		check(body(other, ""))
	}
	if cc.histories.matched < 40 {
		t.Errorf("%d parses started with a history, want most of them", cc.histories.matched)
	}
}

// TestAppendChatUsage checks the hand-written usage against encoding/json.
func TestAppendChatUsage(t *testing.T) {
	for _, c := range []completion{{}, {prompt: 120000, output: 1, cached: 4096}, {prompt: -1, output: 7, cached: 0}} {
		want, _ := json.Marshal(chatUsage(c))
		if got := appendChatUsage([]byte("x"), c); string(got) != "x"+string(want) {
			t.Errorf("appendChatUsage(%+v) = %s, want %s", c, got[1:], want)
		}
	}
}
