package proxy

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/agentperf/agentperf/schemas"
)

// callKeys are what session grouping reads from one call.
type callKeys struct {
	// group is the session id an agent sent (header, metadata.user_id,
	// prompt_cache_key); empty when none.
	group string
	// sys fingerprints the system prompt (Anthropic system, Responses
	// instructions, leading system/developer messages).
	sys uint64
	// chain[i] hashes sys and messages 0..i (canonical JSON).
	chain []uint64
	// prevResponse is the Responses previous_response_id.
	prevResponse string
}

// keysOf derives the grouping keys of a call from its headers and its body
// cut into parts by schemas.Split.
func keysOf(x *exchange, api string, params []byte, parts []schemas.Part) callKeys {
	var k callKeys
	var p struct {
		Metadata struct {
			UserID string `json:"user_id"`
		} `json:"metadata"`
		PromptCacheKey     string `json:"prompt_cache_key"`
		PreviousResponseID string `json:"previous_response_id"`
	}
	_ = json.Unmarshal(params, &p)
	k.prevResponse = p.PreviousResponseID
	switch {
	case x.sessionHeader != "":
		k.group = x.sessionHeader
	case sessionFromUserID(p.Metadata.UserID) != "":
		k.group = sessionFromUserID(p.Metadata.UserID)
	case x.heliconeHeader != "":
		k.group = x.heliconeHeader
	case p.PromptCacheKey != "":
		k.group = p.PromptCacheKey
	}
	h := fnv.New64a()
	leading := true
	for _, part := range parts {
		switch part.Kind {
		case schemas.KindSystem, schemas.KindInstructions:
			h.Write([]byte(part.Kind))
			h.Write(part.Body)
		case schemas.KindMessage:
			if leading && (api == schemas.APIOpenAIChat || api == schemas.APIOpenAIResponses) && isSystemMessage(part.Body) {
				h.Write(part.Body)
				continue
			}
			leading = false
		}
	}
	k.sys = h.Sum64()
	prev := k.sys
	for _, part := range parts {
		if part.Kind != schemas.KindMessage && part.Kind != schemas.KindInput {
			continue
		}
		h.Reset()
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], prev)
		h.Write(b[:])
		h.Write(part.Body)
		prev = h.Sum64()
		k.chain = append(k.chain, prev)
	}
	return k
}

func isSystemMessage(canonical []byte) bool {
	// Canonical JSON sorts keys; a role field reads "role":"system".
	s := string(canonical)
	return strings.Contains(s, `"role":"system"`) || strings.Contains(s, `"role":"developer"`)
}

// sessionFromUserID extracts the session id Claude Code embeds in
// metadata.user_id: either "user_<hex>_account_<uuid>_session_<uuid>" or a
// JSON string with a "session_id" field.
func sessionFromUserID(uid string) string {
	if uid == "" {
		return ""
	}
	if strings.HasPrefix(strings.TrimSpace(uid), "{") {
		var v struct {
			SessionID string `json:"session_id"`
		}
		if json.Unmarshal([]byte(uid), &v) == nil {
			return v.SessionID
		}
		return ""
	}
	if i := strings.LastIndex(uid, "_session_"); i >= 0 {
		return uid[i+len("_session_"):]
	}
	return ""
}

// agentOf names the client from its User-Agent and originator headers.
func agentOf(userAgent, originator string) string {
	ua := strings.ToLower(userAgent)
	switch {
	case strings.HasPrefix(ua, "claude-cli") || strings.Contains(ua, "claude-code"):
		return "claude-code"
	case strings.Contains(ua, "codex") || strings.HasPrefix(strings.ToLower(originator), "codex"):
		return "codex"
	case strings.Contains(ua, "opencode"):
		return "opencode"
	case strings.Contains(ua, "openai/") || strings.Contains(ua, "anthropic/") ||
		strings.Contains(ua, "anthropic-") || strings.Contains(ua, "openai-"):
		return "sdk"
	case ua == "":
		return "unknown"
	}
	if i := strings.IndexAny(ua, "/ "); i > 0 {
		return ua[:i]
	}
	return ua
}

// thread is one session being recorded.
type thread struct {
	id, parent, agent string
	group             string
	sys               uint64
	lastChain         uint64
	lastEnd           int64
	turns             int
}

// group is every thread that shares an agent-sent session id.
type group struct {
	main    *thread
	threads int
}

// Sessions assigns calls to sessions. The rule, in order:
//
//  1. A Responses call with previous_response_id continues the session of
//     that response.
//  2. A call whose messages extend the whole message list of an earlier
//     call's prompt (same system prompt, and same agent-sent session id when
//     there is one) continues that call's session: the prefix chain.
//  3. Otherwise, a call carrying an agent-sent session id (the
//     X-Claude-Code-Session-Id header, the session in metadata.user_id,
//     Helicone-Session-Id, Codex's session-id/session_id header or
//     prompt_cache_key) joins that session when it is new or has the same
//     system prompt as its first call (a compacted or edited history);
//     with a different system prompt it opens a sub-agent session named
//     "<id>/<n>" whose parent is "<id>" (Claude Code Task sub-agents, side
//     calls such as title generation).
//  4. Otherwise the call starts a new session "px-<hash>".
//
// Sessions is used by one goroutine.
type Sessions struct {
	byChain map[uint64]*thread
	byResp  map[string]*thread
	groups  map[string]*group
	all     map[string]*thread
}

func newSessions() *Sessions {
	return &Sessions{byChain: map[uint64]*thread{}, byResp: map[string]*thread{},
		groups: map[string]*group{}, all: map[string]*thread{}}
}

// assign returns the session of a call with keys k that started at startNS,
// creating it when needed; isNew is true for a new session.
func (s *Sessions) assign(k callKeys, agent string, startNS int64) (t *thread, isNew bool) {
	if k.prevResponse != "" {
		if t := s.byResp[k.prevResponse]; t != nil && (k.group == "" || t.group == k.group) {
			return t, false
		}
	}
	for i := len(k.chain) - 1; i >= 0; i-- {
		if t := s.byChain[k.chain[i]]; t != nil && t.sys == k.sys && t.group == k.group {
			return t, false
		}
	}
	if k.group != "" {
		g := s.groups[k.group]
		if g == nil {
			g = &group{}
			s.groups[k.group] = g
		}
		if g.main == nil {
			t := &thread{id: k.group, group: k.group, sys: k.sys, agent: agent}
			g.main = t
			g.threads = 1
			s.all[t.id] = t
			return t, true
		}
		if g.main.sys == k.sys {
			return g.main, false
		}
		g.threads++
		t := &thread{id: fmt.Sprintf("%s/%d", k.group, g.threads-1), parent: g.main.id,
			group: k.group, sys: k.sys, agent: agent}
		s.all[t.id] = t
		return t, true
	}
	h := fnv.New64a()
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], uint64(startNS))
	binary.LittleEndian.PutUint64(b[8:], k.sys)
	h.Write(b[:])
	for _, c := range k.chain[:min(len(k.chain), 1)] {
		binary.LittleEndian.PutUint64(b[:8], c)
		h.Write(b[:8])
	}
	id := fmt.Sprintf("px-%016x", h.Sum64())
	for s.all[id] != nil {
		id += "x"
	}
	t = &thread{id: id, sys: k.sys, agent: agent}
	s.all[id] = t
	return t, true
}

// finish records that a call with keys k of session t ended at endNS with
// the given response id, and returns the think time before it (start −
// the previous call's end, never negative; 0 for a session's first call).
func (s *Sessions) finish(t *thread, k callKeys, startNS, endNS int64, responseID string) (thinkNS int64) {
	if t.turns > 0 && t.lastEnd > 0 && startNS > t.lastEnd {
		thinkNS = startNS - t.lastEnd
	}
	t.turns++
	if endNS > t.lastEnd {
		t.lastEnd = endNS
	}
	if len(k.chain) > 0 {
		last := k.chain[len(k.chain)-1]
		if t.lastChain != 0 && s.byChain[t.lastChain] == t {
			delete(s.byChain, t.lastChain)
		}
		t.lastChain = last
		s.byChain[last] = t
	}
	if responseID != "" {
		s.byResp[responseID] = t
	}
	return thinkNS
}

// restore re-creates a session from a spooled turn, so a restarted
// recorder continues sessions it had before a crash.
func (s *Sessions) restore(id, parent, agent string, k callKeys, startNS, endNS int64, responseID string) {
	t := s.all[id]
	if t == nil {
		t = &thread{id: id, parent: parent, agent: agent, group: k.group, sys: k.sys}
		s.all[id] = t
		if k.group != "" {
			g := s.groups[k.group]
			if g == nil {
				g = &group{}
				s.groups[k.group] = g
			}
			g.threads++
			if parent == "" && g.main == nil {
				g.main = t
			}
		}
	}
	s.finish(t, k, startNS, endNS, responseID)
}

// Len returns the number of sessions seen.
func (s *Sessions) Len() int { return len(s.all) }
