package convert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/agentperf/agentperf/schemas"
)

// ClaudeCodeMaxTokens is the max_tokens put into requests rebuilt from
// Claude Code transcripts, which do not record it (Claude Code 2.x sends
// 32000 for most models). Replay pins the output length to the recorded
// one anyway.
const ClaudeCodeMaxTokens = 32000

// ccLine is one line of a Claude Code transcript. Only the fields the
// import uses are decoded; unknown line types are ignored.
type ccLine struct {
	Type              string     `json:"type"`
	UUID              string     `json:"uuid"`
	ParentUUID        *string    `json:"parentUuid"`
	SessionID         string     `json:"sessionId"`
	Timestamp         string     `json:"timestamp"`
	IsSidechain       bool       `json:"isSidechain"`
	AgentID           string     `json:"agentId"`
	IsAPIErrorMessage bool       `json:"isApiErrorMessage"`
	RequestID         string     `json:"requestId"`
	Message           *ccMessage `json:"message"`
}

type ccMessage struct {
	ID      string          `json:"id"`
	Role    string          `json:"role"`
	Model   string          `json:"model"`
	Content json.RawMessage `json:"content"`
	Usage   *ccUsage        `json:"usage"`
}

type ccUsage struct {
	InputTokens              *int64 `json:"input_tokens"`
	OutputTokens             *int64 `json:"output_tokens"`
	CacheCreationInputTokens *int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int64 `json:"cache_read_input_tokens"`
}

// parseClaudeLine decodes one transcript line. User and assistant lines
// must carry a uuid and a message with content; other line types (system,
// summary, file-history-snapshot, progress, …) only need a type.
func parseClaudeLine(line []byte) (*ccLine, error) {
	var l ccLine
	if err := decodeJSON(line, &l); err != nil {
		return nil, err
	}
	if l.Type == "" {
		return nil, errors.New("not a Claude Code transcript line: no \"type\"")
	}
	if l.Type != "user" && l.Type != "assistant" {
		return &l, nil
	}
	switch {
	case l.UUID == "":
		return nil, fmt.Errorf("%s line without a uuid", l.Type)
	case l.Message == nil:
		return nil, fmt.Errorf("%s line without a message", l.Type)
	case isNull(l.Message.Content):
		return nil, fmt.Errorf("%s message without content", l.Type)
	}
	c := bytes.TrimSpace(l.Message.Content)
	if c[0] != '"' && c[0] != '[' {
		return nil, fmt.Errorf("%s message content is neither a string nor a list of blocks", l.Type)
	}
	return &l, nil
}

// ccNode is a transcript line kept for walking the parentUuid chain.
type ccNode struct {
	parent string
	ts     int64
	// user lines keep their canonical content; assistant lines point to
	// their call group; other lines (system, …) only link the chain.
	user   []byte
	group  int
	isAsst bool
}

// ccGroup is one model call: the assistant lines sharing (message.id,
// requestId), merged.
type ccGroup struct {
	key         [2]string
	session     string
	parent      string // the session that spawned this one, for sub-agents
	model       string
	firstParent string
	firstTS     int64
	endTS       int64
	blocks      [][]byte
	seen        map[string]bool
	usage       *ccUsage
	maxOut      int64
	synthetic   bool
}

// ccFile accumulates one transcript file.
type ccFile struct {
	path    string
	nodes   map[string]*ccNode
	groups  []*ccGroup
	byKey   map[[2]string]int
	session string // the first sessionId seen
}

func newCCFile(path string) *ccFile {
	return &ccFile{path: path, nodes: map[string]*ccNode{}, byKey: map[[2]string]int{}}
}

// sessionOf returns the session id and parent of a line: the transcript's
// sessionId, or for sub-agent (sidechain) lines sessionId/agent-<id>
// (or the sub-agent file's name) with the sessionId as parent.
func (f *ccFile) sessionOf(l *ccLine) (id, parent string) {
	sid := l.SessionID
	if sid == "" {
		sid = f.session
	}
	if sid == "" {
		sid = strings.TrimSuffix(filepath.Base(f.path), ".jsonl")
	}
	if f.session == "" {
		f.session = sid
	}
	if !l.IsSidechain {
		return sid, ""
	}
	agent := "sidechain"
	switch {
	case l.AgentID != "":
		agent = "agent-" + l.AgentID
	case filepath.Base(filepath.Dir(f.path)) == "subagents":
		agent = strings.TrimSuffix(filepath.Base(f.path), ".jsonl")
	}
	return sid + "/" + agent, sid
}

// contentBlocks returns canonical content as a list of canonical blocks (a
// string becomes one text block).
func contentBlocks(c []byte) ([][]byte, error) {
	if len(c) > 0 && c[0] == '"' {
		var s string
		if err := json.Unmarshal(c, &s); err != nil {
			return nil, err
		}
		return [][]byte{canon(map[string]any{"type": "text", "text": s})}, nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(c, &raw); err != nil {
		return nil, err
	}
	out := make([][]byte, 0, len(raw))
	for _, r := range raw {
		cb, err := canonicalJSON(r)
		if err != nil {
			return nil, err
		}
		out = append(out, cb)
	}
	return out, nil
}

// add records one parsed line.
func (f *ccFile) add(l *ccLine) error {
	if l.UUID == "" {
		return nil // summary and similar lines are not part of the chain
	}
	n := &ccNode{ts: parseTime(l.Timestamp)}
	if l.ParentUUID != nil {
		n.parent = *l.ParentUUID
	}
	f.sessionOf(l) // notes the file's session id from its first line
	switch l.Type {
	case "user":
		c, err := canonical(l.Message.Content, "message.content")
		if err != nil {
			return err
		}
		n.user = c
	case "assistant":
		blocks, err := contentBlocks(mustCanonical(l.Message.Content))
		if err != nil {
			return fmt.Errorf("message.content: %v", err)
		}
		key := [2]string{l.Message.ID, l.RequestID}
		if key[0] == "" {
			key[0] = "uuid:" + l.UUID // no message id: a call of its own
		}
		gi, ok := f.byKey[key]
		if !ok {
			session, parent := f.sessionOf(l)
			gi = len(f.groups)
			f.byKey[key] = gi
			f.groups = append(f.groups, &ccGroup{key: key, session: session, parent: parent, model: l.Message.Model,
				firstParent: n.parent, firstTS: n.ts, seen: map[string]bool{}, maxOut: -1,
				synthetic: l.IsAPIErrorMessage || l.Message.Model == "<synthetic>"})
		}
		g := f.groups[gi]
		for _, b := range blocks {
			if !g.seen[string(b)] {
				g.seen[string(b)] = true
				g.blocks = append(g.blocks, b)
			}
		}
		g.endTS = max(g.endTS, n.ts)
		if u := l.Message.Usage; u != nil {
			out := int64(0)
			if u.OutputTokens != nil {
				out = *u.OutputTokens
			}
			if out > g.maxOut {
				g.maxOut, g.usage = out, u
			}
		}
		n.isAsst, n.group = true, gi
	}
	f.nodes[l.UUID] = n
	return nil
}

func mustCanonical(raw json.RawMessage) []byte {
	c, err := canonicalJSON(raw)
	if err != nil {
		return raw
	}
	return c
}

// ccCall is one rebuilt model call.
type ccCall struct {
	session, parent, model string
	startNS, endNS         int64
	messages               [][]byte
	response               []byte
	usage                  schemas.Usage
}

// assistantMessage builds an assistant message from canonical blocks.
func assistantMessage(blocks [][]byte) []byte {
	var b bytes.Buffer
	b.WriteString(`{"content":[`)
	b.Write(bytes.Join(blocks, []byte(",")))
	b.WriteString(`],"role":"assistant"}`)
	return b.Bytes()
}

// userMessage builds a user message from the canonical contents of
// consecutive user lines, merged into one list of blocks when there are
// several.
func userMessage(contents [][]byte) ([]byte, error) {
	content := contents[0]
	if len(contents) > 1 {
		var all [][]byte
		for _, c := range contents {
			blocks, err := contentBlocks(c)
			if err != nil {
				return nil, err
			}
			all = append(all, blocks...)
		}
		content = append(append([]byte("["), bytes.Join(all, []byte(","))...), ']')
	}
	var b bytes.Buffer
	b.WriteString(`{"content":`)
	b.Write(content)
	b.WriteString(`,"role":"user"}`)
	return b.Bytes(), nil
}

// calls rebuilds the file's model calls in order of their first line,
// leaving out synthetic and API-error messages and calls whose key is in
// done (already imported from another file); keys of the calls returned
// are added to done.
func (f *ccFile) calls(done map[[2]string]bool) ([]ccCall, error) {
	var out []ccCall
	for _, g := range f.groups {
		if g.synthetic || done[g.key] || len(g.blocks) == 0 {
			continue
		}
		done[g.key] = true
		msgs, startTS, err := f.history(g)
		if err != nil {
			return nil, err
		}
		if len(msgs) == 0 {
			continue
		}
		c := ccCall{session: g.session, parent: g.parent, model: g.model, messages: msgs,
			response: assistantMessage(g.blocks), startNS: startTS, endNS: g.endTS}
		if c.startNS == 0 {
			c.startNS = g.firstTS
		}
		if u := g.usage; u != nil {
			var in int64
			for _, p := range []*int64{u.InputTokens, u.CacheReadInputTokens, u.CacheCreationInputTokens} {
				if p != nil {
					in += *p
				}
			}
			c.usage = schemas.Usage{Input: schemas.Int64(in), Cached: u.CacheReadInputTokens,
				CacheWrite: u.CacheCreationInputTokens, Output: u.OutputTokens}
		}
		out = append(out, c)
	}
	return out, nil
}

// history walks the parentUuid chain up from the call's first line and
// returns the messages sent (consecutive lines of one role merged, an
// assistant message always whole) and the time of the last one.
func (f *ccFile) history(g *ccGroup) ([][]byte, int64, error) {
	var chain []*ccNode
	for id := g.firstParent; id != "" && len(chain) <= len(f.nodes); {
		n := f.nodes[id]
		if n == nil {
			break
		}
		chain = append(chain, n)
		id = n.parent
	}
	var startTS int64
	if len(chain) > 0 {
		startTS = chain[0].ts
	}
	var msgs [][]byte
	var users [][]byte
	var asst [][]byte
	lastGroup := -1
	flushUser := func() error {
		if len(users) == 0 {
			return nil
		}
		m, err := userMessage(users)
		if err != nil {
			return err
		}
		msgs, users = append(msgs, m), nil
		return nil
	}
	flushAsst := func() {
		if len(asst) > 0 {
			msgs, asst = append(msgs, assistantMessage(asst)), nil
		}
		lastGroup = -1
	}
	for i := len(chain) - 1; i >= 0; i-- {
		n := chain[i]
		switch {
		case n.user != nil:
			flushAsst()
			users = append(users, n.user)
		case n.isAsst:
			if err := flushUser(); err != nil {
				return nil, 0, err
			}
			if ng := f.groups[n.group]; !ng.synthetic && n.group != lastGroup {
				asst = append(asst, ng.blocks...)
				lastGroup = n.group
			}
		}
	}
	flushAsst()
	if err := flushUser(); err != nil {
		return nil, 0, err
	}
	return msgs, startTS, nil
}

// importClaudeCode reads Claude Code transcripts: every .jsonl file under
// the input (sub-agent files in <sessionId>/subagents/ included), one file
// at a time. Each file's lines are held in memory while it is read, since
// a call's prompt is found by walking the parentUuid chain.
func (im *importer) importClaudeCode(files []string) error {
	done := map[[2]string]bool{}
	lastEnd := map[string]int64{}
	for _, file := range files {
		f := newCCFile(file)
		err := im.eachLine(file, func(lr *lineReader, line []byte) error {
			l, err := parseClaudeLine(line)
			if err == nil {
				err = f.add(l)
			}
			if err != nil {
				return im.bad(im.lineErr(lr, err))
			}
			return nil
		})
		if err != nil {
			return err
		}
		calls, err := f.calls(done)
		if err != nil {
			return fmt.Errorf("%s: %v", file, err)
		}
		for i := range calls {
			c := &calls[i]
			im.session(schemas.Session{ID: c.session, Agent: AgentClaudeCode, Parent: c.parent})
			var params objectBuilder
			params.value("max_tokens", ClaudeCodeMaxTokens)
			if c.model != "" {
				params.value("model", c.model)
			}
			params.raw("stream", []byte("true"))
			parts := make([]schemas.Part, len(c.messages))
			for j, m := range c.messages {
				parts[j] = schemas.Part{Kind: schemas.KindMessage, Body: m, Tokens: -1}
			}
			t := schemas.Turn{SessionID: c.session, API: schemas.APIAnthropic, Params: params.bytes(), Parts: parts,
				Response: [][]byte{c.response}, StartNS: c.startNS, EndNS: c.endNS, Usage: c.usage, Status: 200}
			if end, ok := lastEnd[c.session]; ok && end > 0 && c.startNS > end {
				t.ThinkNS = c.startNS - end
			}
			lastEnd[c.session] = c.endNS
			if err := im.write(&t); err != nil {
				return err
			}
		}
	}
	return nil
}
