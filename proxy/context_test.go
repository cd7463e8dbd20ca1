package proxy

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/schemas"
)

// completedOutput returns the response id and output items of the
// response.completed event in an SSE body.
func completedOutput(t testing.TB, sse []byte) (string, []json.RawMessage) {
	t.Helper()
	for _, line := range strings.Split(string(sse), "\n") {
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || !strings.Contains(data, `"response.completed"`) {
			continue
		}
		var ev struct {
			Response struct {
				ID     string            `json:"id"`
				Output []json.RawMessage `json:"output"`
			} `json:"response"`
		}
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatal(err)
		}
		return ev.Response.ID, ev.Response.Output
	}
	t.Fatalf("no response.completed in %s", sse)
	return "", nil
}

// TestPreviousResponseIDMaterialized sends a Responses chain that uses
// previous_response_id with only the new input each time (the last one a
// plain string): each stored prompt is the full context the model saw —
// the earlier input, the earlier output items, the new input — rebuilt
// byte for byte as expected, without previous_response_id, with
// context_items counting what capture filled in.
func TestPreviousResponseIDMaterialized(t *testing.T) {
	fake, _ := startFake(t, 4, 0)
	out := filepath.Join(t.TempDir(), "traces")
	run := startRun(t, Config{Front: FrontOptions{Upstream: mustURL(fake.URL)}, Recorder: Options{Out: out}})
	hdr := map[string]string{"Authorization": "Bearer sk-test"}
	first := `{"role":"user","content":"hello"}`
	_, b1 := post(t, run.url+"/v1/responses", hdr, `{"model":"gpt-5","instructions":"be brief","stream":true,"input":[`+first+`]}`)
	id1, out1 := completedOutput(t, b1)
	var call struct {
		CallID string `json:"call_id"`
	}
	json.Unmarshal(out1[len(out1)-1], &call)
	toolOut := `{"type":"function_call_output","call_id":"` + call.CallID + `","output":"a.go b.go"}`
	_, b2 := post(t, run.url+"/v1/responses", hdr, `{"model":"gpt-5","instructions":"be brief","stream":true,"previous_response_id":"`+id1+`","input":[`+toolOut+`]}`)
	id2, out2 := completedOutput(t, b2)
	_, b3 := post(t, run.url+"/v1/responses", hdr, `{"model":"gpt-5","instructions":"be brief","stream":true,"previous_response_id":"`+id2+`","input":"thanks"}`)
	completedOutput(t, b3)
	// Unknown id: kept as sent.
	post(t, run.url+"/v1/responses", hdr, `{"model":"gpt-5","stream":true,"previous_response_id":"resp_unknown","input":"x"}`)
	run.stop(t)

	tr := readTrace(t, out)
	var chain []schemas.Request
	var other *schemas.Request
	for _, rs := range tr.requests {
		if len(rs) == 3 {
			chain = rs
		} else if len(rs) == 1 {
			other = &rs[0]
		}
	}
	if len(chain) != 3 || other == nil {
		t.Fatalf("sessions %v: want the 3-turn chain in one session and the unknown-id call apart", tr.order)
	}
	join := func(items ...string) string { return strings.Join(items, ",") }
	raw := func(ms []json.RawMessage) (s []string) {
		for _, m := range ms {
			s = append(s, string(m))
		}
		return s
	}
	in2 := join(append(append([]string{first}, raw(out1)...), toolOut)...)
	in3 := join(append(append(append([]string{first}, raw(out1)...), toolOut), append(raw(out2), `{"role":"user","content":"thanks"}`)...)...)
	wants := []struct {
		body         string
		contextItems int32
		extras       string
	}{
		{`{"model":"gpt-5","instructions":"be brief","stream":true,"input":[` + first + `]}`, 0, ""},
		{`{"model":"gpt-5","instructions":"be brief","stream":true,"input":[` + in2 + `]}`, int32(1 + len(out1)), `{"previous_response_id":"` + id1 + `"}`},
		{`{"model":"gpt-5","instructions":"be brief","stream":true,"input":[` + in3 + `]}`, int32(2 + len(out1) + len(out2)), `{"previous_response_id":"` + id2 + `"}`},
	}
	for i, w := range wants {
		r := chain[i]
		got, err := tr.set.Body(nil, &r)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := schemas.Canonical([]byte(w.body))
		gc, _ := schemas.Canonical(got)
		if !bytes.Equal(gc, want) {
			t.Errorf("turn %d body\n got %s\nwant %s", i, gc, want)
		}
		if r.ContextItems != w.contextItems || r.Extras != w.extras {
			t.Errorf("turn %d: context_items %d extras %q, want %d %q", i, r.ContextItems, r.Extras, w.contextItems, w.extras)
		}
		if i > 0 && (r.ThinkNS <= 0 || r.Error != "") {
			t.Errorf("turn %d: think %d error %q", i, r.ThinkNS, r.Error)
		}
	}
	if body, _ := tr.set.Body(nil, other); other.ContextItems != 0 || !strings.Contains(string(body), `"previous_response_id":"resp_unknown"`) {
		t.Errorf("unknown previous_response_id: context_items %d body %s, want it kept as sent", other.ContextItems, body)
	}
}
