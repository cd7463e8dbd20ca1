package sim

import (
	"encoding/json"
	"testing"
)

var fuzzSeeds = []string{
	`{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
	`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":"a\"b\\u00e9"}]}],"tools":[{"name":"t","input_schema":{}}]}`,
	`{"model":"m","input":[{"role":"user","content":"x"},{"type":"function_call_output","call_id":"c","output":"1e-3"}],"instructions":"be"}`,
	`{"a":[1,-0.5e+10,true,false,null,{"b":[]}],"c":"\ud83d\ude00"}`,
	`{"model":"m","messages":[]}`, `[]`, `{}`, ` {"x":1} `, `{"x":01}`, `{"x":"\x"}`, `{"x":1,}`, `{"x" 1}`, `nul`,
}

// FuzzObjectMembers checks the request scanner against encoding/json: it
// accepts exactly the JSON objects json.Valid accepts, and each member
// value it hands out is valid JSON.
func FuzzObjectMembers(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var members [][]byte
		err := objectMembers(b, func(key, val []byte) error {
			members = append(members, val)
			return nil
		})
		var obj map[string]json.RawMessage
		isObject := json.Valid(b) && json.Unmarshal(b, &obj) == nil && obj != nil
		if (err == nil) != isObject {
			t.Fatalf("objectMembers err=%v but encoding/json object=%v for %q", err, isObject, b)
		}
		for _, m := range members {
			if err == nil && !json.Valid(m) {
				t.Fatalf("member %q of %q is not valid JSON", m, b)
			}
			if elems, ok := arrayElements(m); ok {
				for _, e := range elems {
					if !json.Valid(e) {
						t.Fatalf("element %q of %q is not valid JSON", e, m)
					}
				}
			}
		}
	})
}

// FuzzParseRequests checks that the three API parsers never panic and only
// accept valid JSON.
func FuzzParseRequests(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	cc := newCountCache()
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, parse := range parsers {
			g, err := parse(b, cc, true)
			if err == nil {
				if !json.Valid(b) {
					t.Fatalf("accepted invalid JSON %q", b)
				}
				g.prompt.finish()
			} else if err.status != 400 {
				t.Fatalf("status %d for %q", err.status, b)
			}
		}
	})
}
