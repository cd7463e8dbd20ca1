package replay

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"sync"

	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/translate"
)

// builder rebuilds request bodies for sending: recorded prompt pieces read
// from the trace set per send, request metadata dropped, the run's shaping
// of params, the cache salt, the conversation marker and API translation.
type builder struct {
	plan    *Plan
	shaping Shaping
	// api is the target API; "" sends each turn with its recorded API.
	api string
	// params holds each turn's shaped params for its send API, computed
	// once, by turn.
	params map[*Turn][]byte
	// keepMeta sends per-request metadata pieces (KindRequestMeta) as
	// recorded instead of dropping them.
	keepMeta bool
	// salt is the run's cache-salt template ("" = none).
	salt string
	// marker puts a conversation marker in every request.
	marker bool
	// markerRun is mixed into every marker (Config.RunMarkers: the run id;
	// "" for none).
	markerRun string
	// prefix computes the expected prefix-cache hits.
	prefix *prefixModel
	// layouts holds each turn's layout (*Turn → pieceLayout), computed on
	// its first send: written once a turn, read on every send by many
	// users' goroutines over HTTP.
	layouts sync.Map
}

// newBuilder returns the builder of c (defaults applied, or zero values:
// no salt, no marker, recorded APIs).
func newBuilder(c Config) (*builder, error) {
	plan := c.Plan
	b := &builder{plan: plan, shaping: c.Shaping, api: c.API, params: make(map[*Turn][]byte, plan.Turns),
		keepMeta: c.KeepRequestMetadata, salt: c.CacheSalt, marker: c.ConversationMarker == MarkerOn,
		prefix: newPrefixModel(c.Mode != ModeTimestamps)}
	if c.RunMarkers {
		b.markerRun = c.RunID
	}
	if b.api == "auto" {
		b.api = ""
	}
	for _, s := range plan.Sessions {
		for _, t := range s.Turns {
			if b.sendAPI(t) != t.API {
				continue // shaped after translation, per send
			}
			p, err := b.shaping.shapeParams(t.Params, t.API, t.ExpectedOutput)
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

// MarkerPolicy says whether replay marks each user's conversation so that
// a target's prefix cache shares the agent's system prompt and tools
// between users but not their conversations (docs/replay.md, Prefix
// sharing).
type MarkerPolicy string

// Marker policies.
const (
	// MarkerAuto marks conversations in closed-loop and Poisson runs, where
	// users replay the same recorded sessions, and not in timestamp runs,
	// where every recorded request is sent once and the recorded sharing
	// is the production sharing.
	MarkerAuto MarkerPolicy = "auto"
	// MarkerOn marks every conversation.
	MarkerOn MarkerPolicy = "on"
	// MarkerOff sends conversations as recorded: users replaying the same
	// session share its prefix on the target.
	MarkerOff MarkerPolicy = "off"
)

// ParseMarkerPolicy checks a conversation-marker policy; "" is MarkerAuto.
func ParseMarkerPolicy(s string) (MarkerPolicy, error) {
	switch p := MarkerPolicy(s); p {
	case MarkerAuto, MarkerOn, MarkerOff:
		return p, nil
	case "":
		return MarkerAuto, nil
	}
	return "", fmt.Errorf("unknown conversation marker policy %q (want auto, on or off)", s)
}

// conversation is whose conversation a request belongs to: the level, the
// user and the user's pass through the sessions, with the texts the
// builder puts into its body for them.
type conversation struct {
	level, user, pass int
	// salt is the run's cache-salt text for this user and pass (saltText;
	// "" for none).
	salt string
	// marker is the conversation marker (markerText; "" when off).
	marker string
}

// conversation returns the conversation of user (index summed over
// shards) in its pass-th cycle through the sessions, at level.
func (b *builder) conversation(level, user, pass int) conversation {
	c := conversation{level: level, user: user, pass: pass, salt: saltText(b.salt, user, pass)}
	if b.marker {
		c.marker = markerText(b.markerRun, level, user, pass)
	}
	return c
}

// markerText returns the conversation marker of a user's pass at a level
// of run run: "[conversation <12 hex digits>]" and a newline, the digits a
// hash of the four, so that no two users, passes or levels share a
// conversation prefix on the target (a level's users are new users, as a
// search's levels are separate measurements), nor two runs with different
// run texts. About 10 tokens. With run "" the same run configuration
// sends the same markers.
func markerText(run string, level, user, pass int) string {
	h := fnv.New64a()
	var buf [24]byte
	binary.LittleEndian.PutUint64(buf[0:], uint64(level))
	binary.LittleEndian.PutUint64(buf[8:], uint64(user))
	binary.LittleEndian.PutUint64(buf[16:], uint64(pass))
	h.Write(buf[:])
	if run != "" {
		h.Write([]byte(run))
	}
	hex := strconv.FormatUint(h.Sum64()>>16, 16)
	for len(hex) < 12 {
		hex = "0" + hex
	}
	return "[conversation " + hex + "]\n"
}

// saltCache is one user's build state: its salted and its marked prompt
// piece (consecutive turns of a session share the system prompt and the
// first message, so each is changed once), its private prefix-cache blocks
// and the expected cache figures of the last body built.
type saltCache struct {
	salted, marked pieceSlot
	priv           privateBlocks
	exp            expectation
}

// pieceSlot remembers one changed prompt piece: the blob id, the text put
// into it, the piece as recorded and the result.
type pieceSlot struct {
	id         int64
	text       string
	orig, body []byte
}

// piece returns piece j (blob id; part reads it) with text prepended to
// its first text, and the piece's own bytes, reusing the slot's last
// result when it is for the same piece and text.
func (s *pieceSlot) piece(id int64, j int, part func(int) (*schemas.Part, error), text string) (body, orig []byte, err error) {
	if s.body != nil && s.id == id && s.text == text {
		return s.body, s.orig, nil
	}
	p, err := part(j)
	if err != nil {
		return nil, nil, err
	}
	orig = p.Bytes()
	b, err := saltPiece(p.Kind, orig, text)
	if err != nil {
		return nil, nil, err
	}
	*s = pieceSlot{id: id, text: text, orig: orig, body: b}
	return b, orig, nil
}

// pieceEdit is a prompt piece changed for a conversation: its recorded
// bytes and the bytes sent in their place.
type pieceEdit struct {
	old, new []byte
}

// pieceEdits are the pieces one body changed (the conversation marker and
// the cache salt: at most two).
type pieceEdits struct {
	n int
	e [2]pieceEdit
}

func (pe *pieceEdits) add(old, new []byte) {
	pe.e[pe.n] = pieceEdit{old, new}
	pe.n++
}

// list returns the edits made.
func (pe *pieceEdits) list() []pieceEdit { return pe.e[:pe.n] }

// conversationStart returns the index of the first prompt piece of the
// conversation proper: the first message or input that is not a system or
// developer message (the agent's instructions, shared by all its users);
// len(parts) when there is none.
func conversationStart(parts []schemas.Part) int {
	for i := range parts {
		switch parts[i].Kind {
		case schemas.KindMessage:
			if !isSystemMessage(&parts[i]) {
				return i
			}
		case schemas.KindInput, schemas.KindBody:
			return i
		}
	}
	return len(parts)
}

var (
	roleSystem    = []byte(`"role":"system"`)
	roleDeveloper = []byte(`"role":"developer"`)
)

// isSystemMessage reports whether a message piece is a system or developer
// message (OpenAI Chat and Responses carry the agent's instructions so). A
// generated piece (Recipe) is a user message.
func isSystemMessage(p *schemas.Part) bool {
	if len(p.Body) == 0 || !bytes.Contains(p.Body, roleSystem) && !bytes.Contains(p.Body, roleDeveloper) {
		return false
	}
	var m struct {
		Role string `json:"role"`
	}
	if json.Unmarshal(p.Body, &m) != nil {
		return false
	}
	return m.Role == "system" || m.Role == "developer"
}

// sharedTokens returns the trace's token count of the pieces before the
// conversation (start: conversationStart), request metadata left out as
// the trace's block hashes leave it out.
func sharedTokens(parts []schemas.Part, start int) int {
	n := 0
	for _, p := range parts[:start] {
		if p.Kind != schemas.KindRequestMeta && p.Tokens > 0 {
			n += p.Tokens
		}
	}
	return n
}

// build appends the body of t, sent in conversation conv, to dst and
// returns it with the API it is for. parts is scratch space. It records
// the body's expected prefix-cache figures in sc.exp.
func (b *builder) build(dst []byte, t *Turn, conv conversation, sc *saltCache, parts []schemas.Part) ([]byte, string, []schemas.Part, error) {
	api, parts, _, err := b.prepare(t, conv, sc, parts)
	if err != nil {
		return dst, api, parts, err
	}
	dst, err = b.render(dst, t, api, parts)
	return dst, api, parts, err
}

// prepare returns the prompt pieces of t's body sent in conversation conv
// (parts is scratch space) with the API it is for and the pieces it
// changed for the conversation (marker, salt): the body is render's of
// the pieces, and the turn's recorded body (prepare in the zero
// conversation) with each edit's old piece replaced by its new one. It
// records the body's expected prefix-cache figures in sc.exp.
func (b *builder) prepare(t *Turn, conv conversation, sc *saltCache, parts []schemas.Part) (string, []schemas.Part, pieceEdits, error) {
	api := b.sendAPI(t)
	sc.exp = expectation{}
	parts, err := b.plan.Parts(parts[:0], t)
	if err != nil {
		return api, parts, pieceEdits{}, err
	}
	api, edits, at, err := b.prepareEdits(t, conv, sc, parts)
	if err != nil {
		return api, parts, edits, err
	}
	return api, b.applyEdits(parts, edits, at), edits, nil
}

// prepareEdits is prepare without the body's pieces: the API and the
// pieces changed for conversation conv, with their indexes among t's
// pieces. parts holds t's pieces, or is nil: then it reads the pieces only
// the first time (for the turn's layout) and a piece only when sc does not
// hold its change.
func (b *builder) prepareEdits(t *Turn, conv conversation, sc *saltCache, parts []schemas.Part) (string, pieceEdits, [2]int, error) {
	api := b.sendAPI(t)
	sc.exp = expectation{}
	lay, err := b.layout(t, parts)
	if err != nil {
		return api, pieceEdits{}, [2]int{}, err
	}
	edits, at, err := b.edit(t, conv, sc, lay, parts)
	return api, edits, at, err
}

// withEdits returns t's pieces (read into parts, scratch space) with the
// edits prepareEdits returned: the pieces of the body prepare returns.
func (b *builder) withEdits(parts []schemas.Part, t *Turn, edits pieceEdits, at [2]int) ([]schemas.Part, error) {
	parts, err := b.plan.Parts(parts[:0], t)
	if err != nil {
		return parts, err
	}
	return b.applyEdits(parts, edits, at), nil
}

// applyEdits puts the edits into t's pieces and drops request metadata
// unless the run keeps it.
func (b *builder) applyEdits(parts []schemas.Part, edits pieceEdits, at [2]int) []schemas.Part {
	for k, e := range edits.list() {
		parts[at[k]].Body = e.new
	}
	if !b.keepMeta {
		parts = schemas.DropRequestMetadata(parts)
	}
	return parts
}

// layout returns the layout of t, computing it the first time from
// parts, t's pieces (nil: read them from the trace set).
func (b *builder) layout(t *Turn, parts []schemas.Part) (pieceLayout, error) {
	if v, ok := b.layouts.Load(t); ok {
		return v.(pieceLayout), nil
	}
	if parts == nil {
		// Read into a pooled slice: the layout keeps none of it.
		sp := partsPool.Get().(*[]schemas.Part)
		defer func() { clear(*sp); partsPool.Put(sp) }()
		var err error
		if *sp, err = b.plan.Parts((*sp)[:0], t); err != nil {
			return pieceLayout{}, err
		}
		parts = *sp
	}
	lay := layoutOf(parts)
	b.layouts.Store(t, lay)
	return lay, nil
}

// partsPool holds the scratch slices layout reads pieces into.
var partsPool = sync.Pool{New: func() any { return new([]schemas.Part) }}

// pieceLayout is where a turn's body changes for a conversation, from its
// pieces alone: the conversation's first piece (conversationStart) and
// the tokens before it (sharedTokens), the piece the marker goes to (the
// first message or input from start that has text) and the piece the salt
// goes to (saltIndex), -1 for none.
type pieceLayout struct {
	start, shared int
	mark, salt    int
}

// layoutOf returns the layout of a turn's pieces.
func layoutOf(parts []schemas.Part) pieceLayout {
	lay := pieceLayout{start: conversationStart(parts), mark: -1, salt: saltIndex(parts)}
	lay.shared = sharedTokens(parts, lay.start)
	for j := lay.start; j < len(parts); j++ {
		if k := parts[j].Kind; k != schemas.KindMessage && k != schemas.KindInput {
			continue
		}
		if hasText(&parts[j]) {
			lay.mark = j
			break
		}
	}
	return lay
}

// hasText reports whether a marker or salt can go into p's text: whether
// saltPiece does not answer errNoText, which it answers only for a piece
// other than a system prompt that is a JSON object (not a string) without
// a content member.
func hasText(p *schemas.Part) bool {
	body := p.Bytes()
	var str string
	if p.Kind == schemas.KindSystem || json.Unmarshal(body, &str) == nil {
		return true
	}
	var msg map[string]json.RawMessage
	if json.Unmarshal(body, &msg) != nil {
		return true // saltPiece's error is another
	}
	_, ok := msg["content"]
	return ok
}

// edit returns the pieces of t changed for conversation conv (lay is the
// turn's layout) with the index of each, and records the body's expected
// prefix-cache figures in sc.exp. parts holds the turn's pieces, or is nil
// to read a piece from the trace set when sc does not hold its change.
func (b *builder) edit(t *Turn, conv conversation, sc *saltCache, lay pieceLayout, parts []schemas.Part) (pieceEdits, [2]int, error) {
	var edits pieceEdits
	var at [2]int
	part := func(j int) (*schemas.Part, error) {
		if parts != nil {
			return &parts[j], nil
		}
		one, err := b.plan.ts.Parts(nil, t.Prompt[j:j+1])
		if err != nil {
			return nil, err
		}
		return &one[0], nil
	}
	si := -1 // the piece the salt goes to
	if conv.salt != "" {
		si = lay.salt
	}
	if conv.marker != "" && lay.mark >= 0 {
		j := lay.mark
		text := conv.marker
		if j == si {
			text = conv.salt + conv.marker // one piece carries both, the salt first
			si = -1
		}
		body, orig, err := sc.marked.piece(t.Prompt[j], j, part, text)
		if err != nil {
			return edits, at, fmt.Errorf("conversation marker: %w", err)
		}
		at[edits.n] = j
		edits.add(orig, body)
	}
	if si >= 0 {
		body, orig, err := sc.salted.piece(t.Prompt[si], si, part, conv.salt)
		switch {
		case err == nil:
			at[edits.n] = si
			edits.add(orig, body)
		case err != errNoText:
			return edits, at, fmt.Errorf("cache salt: %w", err)
		}
	}
	sc.exp = b.prefix.see(t, conv, lay.shared, &sc.priv)
	return edits, at, nil
}

// render appends to dst the body of t made of parts (prepare's), sent
// with api.
func (b *builder) render(dst []byte, t *Turn, api string, parts []schemas.Part) ([]byte, error) {
	if api == t.API {
		return schemas.Rebuild(dst, api, b.params[t], parts), nil
	}
	recordedAPI := t.API
	if recordedAPI == schemas.APIRaw || recordedAPI == "" {
		// A raw body of unknown shape: try it as OpenAI Chat.
		recordedAPI = schemas.APIOpenAIChat
	}
	raw := schemas.Rebuild(nil, t.API, []byte(t.Params), parts)
	tr, err := translate.Translate(raw, recordedAPI, api)
	if err != nil {
		return dst, err
	}
	m := map[string]json.RawMessage{}
	if err := json.Unmarshal(tr, &m); err != nil {
		return dst, err
	}
	b.shaping.shape(m, api, t.ExpectedOutput)
	out, err := json.Marshal(m)
	if err != nil {
		return dst, err
	}
	return append(dst, out...), nil
}
