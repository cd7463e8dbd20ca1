package replay

import (
	"encoding/json"
	"fmt"
	"github.com/agentperf/agentperf/translate"

	"github.com/agentperf/agentperf/schemas"
)

// builder rebuilds request bodies for sending: recorded prompt pieces, the
// run's shaping of params, the cache salt and API translation.
type builder struct {
	plan    *Plan
	shaping Shaping
	// api is the target API; "" sends each turn with its recorded API.
	api string
	// params holds each turn's shaped params for its send API, computed
	// once, by turn.
	params map[*Turn][]byte
}

func newBuilder(plan *Plan, sh Shaping, api string) (*builder, error) {
	b := &builder{plan: plan, shaping: sh, api: api, params: make(map[*Turn][]byte, plan.Turns)}
	for _, s := range plan.Sessions {
		for _, t := range s.Turns {
			if b.sendAPI(t) != t.API {
				continue // shaped after translation, per send
			}
			p, err := sh.shapeParams(t.Params, t.API, t.ExpectedOutput)
			if err != nil {
				return nil, fmt.Errorf("session %s turn %d: %w", s.ID, t.Index, err)
			}
			b.params[t] = p
		}
	}
	return b, nil
}

// sendAPI returns the API a turn is sent with.
func (b *builder) sendAPI(t *Turn) string {
	if b.api != "" {
		return b.api
	}
	if t.API == schemas.APIRaw || t.API == "" {
		return schemas.APIOpenAIChat
	}
	return t.API
}

// saltCache remembers one salted piece per user: consecutive turns of a
// session share their first piece (the system prompt), so it is salted once.
type saltCache struct {
	id   int64
	text string
	body []byte
}

// build appends the body of t to dst and returns it with the API it is for.
// parts is scratch space.
func (b *builder) build(dst []byte, t *Turn, salt string, sc *saltCache, parts []schemas.Part) ([]byte, string, []schemas.Part, error) {
	api := b.sendAPI(t)
	parts, err := b.plan.Parts(parts[:0], t)
	if err != nil {
		return dst, api, parts, err
	}
	if salt != "" {
		if i := saltIndex(parts); i >= 0 {
			id := t.Prompt[i]
			if sc.id != id || sc.text != salt || sc.body == nil {
				sb, err := saltPiece(parts[i].Kind, parts[i].Body, salt)
				if err == errNoText {
					sb = parts[i].Body
				} else if err != nil {
					return dst, api, parts, fmt.Errorf("cache salt: %w", err)
				}
				*sc = saltCache{id: id, text: salt, body: sb}
			}
			parts[i].Body = sc.body
		}
	}
	if api == t.API {
		return schemas.Rebuild(dst, api, b.params[t], parts), api, parts, nil
	}
	recordedAPI := t.API
	if recordedAPI == schemas.APIRaw || recordedAPI == "" {
		// A raw body of unknown shape: try it as OpenAI Chat.
		recordedAPI = schemas.APIOpenAIChat
	}
	raw := schemas.Rebuild(nil, t.API, []byte(t.Params), parts)
	tr, err := translate.Translate(raw, recordedAPI, api)
	if err != nil {
		return dst, api, parts, err
	}
	m := map[string]json.RawMessage{}
	if err := json.Unmarshal(tr, &m); err != nil {
		return dst, api, parts, err
	}
	b.shaping.shape(m, api, t.ExpectedOutput)
	out, err := json.Marshal(m)
	if err != nil {
		return dst, api, parts, err
	}
	return append(dst, out...), api, parts, nil
}
