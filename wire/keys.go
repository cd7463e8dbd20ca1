package wire

import (
	"fmt"
	"slices"
	"strings"

	"github.com/agentperf/agentperf/schemas"
)

// Keys says where one server's responses of one API report what a Stream
// reads. Paths are dotted key paths inside one event's data (or a whole
// non-streamed body), from its top level; each key is searched after the
// previous one, so the arrays on the way (choices) need no index. Package
// target fills Keys per serving engine from its dialect table; SpecKeys
// and AnyKeys give the APIs' own keys and every key a known server uses.
type Keys struct {
	Usage  UsageKeys
	Deltas DeltaKeys
}

// UsageKeys lists where a response reports its token counts. Each list
// holds alternatives in order of preference; a later event's value
// replaces an earlier one's (Anthropic's cumulative output_tokens).
type UsageKeys struct {
	Input, Output, Cached, Reasoning []string
	// CacheWrite lists where tokens written to the cache are reported
	// (Anthropic's cache_creation_input_tokens).
	CacheWrite []string
	// InputExcludesCache is set when Input counts only uncached,
	// unwritten tokens (Anthropic): the prompt is Input + Cached +
	// CacheWrite.
	InputExcludesCache bool
}

// DeltaKeys lists what marks output in a streamed response: key paths
// whose value, when a non-empty string, array or object, makes the event
// an output delta, and event names (the SSE event: line, else the data's
// "type") that are deltas. Reasoning deltas are output: they count toward
// the first token and the output like content.
type DeltaKeys struct {
	Content, Reasoning, ToolCall                   []string
	ContentEvents, ReasoningEvents, ToolCallEvents []string
}

// The APIs' own keys, from their references: OpenAI's Chat Completions
// (the usage chunk of stream_options.include_usage) and Responses
// streaming events, Anthropic's Messages streaming events.
var (
	chatSpec = Keys{
		Usage: UsageKeys{
			Input:     []string{"usage.prompt_tokens"},
			Output:    []string{"usage.completion_tokens"},
			Cached:    []string{"usage.prompt_tokens_details.cached_tokens"},
			Reasoning: []string{"usage.completion_tokens_details.reasoning_tokens"},
		},
		Deltas: DeltaKeys{
			Content:  []string{"choices.delta.content", "choices.delta.refusal"},
			ToolCall: []string{"choices.delta.tool_calls"},
		},
	}
	responsesSpec = Keys{
		Usage: UsageKeys{
			Input:     []string{"response.usage.input_tokens", "usage.input_tokens"},
			Output:    []string{"response.usage.output_tokens", "usage.output_tokens"},
			Cached:    []string{"response.usage.input_tokens_details.cached_tokens", "usage.input_tokens_details.cached_tokens"},
			Reasoning: []string{"response.usage.output_tokens_details.reasoning_tokens", "usage.output_tokens_details.reasoning_tokens"},
		},
		Deltas: DeltaKeys{
			ContentEvents:   []string{"response.output_text.delta", "response.refusal.delta"},
			ReasoningEvents: []string{"response.reasoning_text.delta", "response.reasoning_summary_text.delta"},
			ToolCallEvents:  []string{"response.function_call_arguments.delta", "response.custom_tool_call_input.delta"},
		},
	}
	anthropicSpec = Keys{
		Usage: UsageKeys{
			Input:              []string{"message.usage.input_tokens", "usage.input_tokens"},
			Output:             []string{"usage.output_tokens", "message.usage.output_tokens"},
			Cached:             []string{"message.usage.cache_read_input_tokens", "usage.cache_read_input_tokens"},
			CacheWrite:         []string{"message.usage.cache_creation_input_tokens", "usage.cache_creation_input_tokens"},
			InputExcludesCache: true,
		},
		Deltas: DeltaKeys{
			Content:   []string{"delta.text"},
			Reasoning: []string{"delta.thinking"},
			ToolCall:  []string{"delta.partial_json"},
		},
	}
)

// SpecKeys returns the keys api's own reference documents (any unknown api
// is read as OpenAI Chat). The slices are fresh copies.
func SpecKeys(api string) Keys {
	switch api {
	case schemas.APIAnthropic:
		return anthropicSpec.clone()
	case schemas.APIOpenAIResponses:
		return responsesSpec.clone()
	}
	return chatSpec.clone()
}

// AnyKeys returns every key a known server uses for api: the API's own
// and, for Chat, the others open engines and DeepSeek's API use (reasoning
// deltas under reasoning_content or reasoning; cached tokens as
// prompt_cache_hit_tokens or llama.cpp's timings.cache_n; output as
// timings.predicted_n; SGLang's top-level reasoning_tokens). NewStream reads
// with these; docs/engines.md cites each.
func AnyKeys(api string) Keys {
	k := SpecKeys(api)
	if api == schemas.APIOpenAIChat || (api != schemas.APIAnthropic && api != schemas.APIOpenAIResponses) {
		k.Usage.Output = append(k.Usage.Output, "timings.predicted_n")
		k.Usage.Cached = append(k.Usage.Cached, "usage.prompt_cache_hit_tokens", "timings.cache_n")
		k.Usage.Reasoning = append(k.Usage.Reasoning, "usage.reasoning_tokens")
		k.Deltas.Reasoning = append(k.Deltas.Reasoning, "choices.delta.reasoning_content", "choices.delta.reasoning")
	}
	return k
}

func (k Keys) clone() Keys {
	u, d := k.Usage, k.Deltas
	for _, l := range []*[]string{&u.Input, &u.Output, &u.Cached, &u.Reasoning, &u.CacheWrite,
		&d.Content, &d.Reasoning, &d.ToolCall, &d.ContentEvents, &d.ReasoningEvents, &d.ToolCallEvents} {
		*l = slices.Clone(*l)
	}
	return Keys{Usage: u, Deltas: d}
}

// The counts a Scanner reads, in Usage order.
const (
	cIn = iota
	cOut
	cCached
	cReasoning
	cCacheWrite
	nCounts
)

// maxRoots bounds the distinct first keys of a Scanner's usage paths (the
// per-event positions live on the stack).
const maxRoots = 8

// Delta kinds.
const (
	deltaNone = iota
	deltaContent
	deltaReasoning
	deltaTool
)

// Scanner is Keys compiled for one API: make one per API and dialect (at
// the start of a run) and a Stream per response from it. It is read-only
// and safe for concurrent use.
type Scanner struct {
	api     string
	evented bool // events have names (Responses, Anthropic)
	keys    Keys
	// roots are the distinct first keys of the usage paths; counts the
	// paths of each count as a root index and the keys after it.
	roots  [][]byte
	counts [nCounts][]usagePath
	inExcl bool
	// groups are the delta paths grouped by their parent path
	// (choices.delta), each with its leaf keys in kind order.
	groups []deltaGroup
	// events are the delta event names and their kinds.
	events []deltaEvent
}

type usagePath struct {
	root int
	rest [][]byte
}

type deltaGroup struct {
	parent [][]byte
	leaves []deltaLeaf
}

type deltaLeaf struct {
	key  []byte
	kind int
}

type deltaEvent struct {
	name string
	kind int
}

// NewScanner compiles k for api (a schemas.API* kind; any other is read as
// OpenAI Chat). It fails on an empty path or key, and on usage paths with
// more than 8 distinct first keys.
func NewScanner(api string, k Keys) (*Scanner, error) {
	sc := &Scanner{api: api, keys: k.clone(), inExcl: k.Usage.InputExcludesCache,
		evented: api == schemas.APIAnthropic || api == schemas.APIOpenAIResponses}
	split := func(p string) ([][]byte, error) {
		if p == "" {
			return nil, fmt.Errorf("empty key path")
		}
		var out [][]byte
		for _, s := range strings.Split(p, ".") {
			if s == "" {
				return nil, fmt.Errorf("key path %q has an empty key", p)
			}
			out = append(out, []byte(s))
		}
		return out, nil
	}
	u := k.Usage
	for c, paths := range [nCounts][]string{u.Input, u.Output, u.Cached, u.Reasoning, u.CacheWrite} {
		for _, p := range paths {
			segs, err := split(p)
			if err != nil {
				return nil, fmt.Errorf("usage: %w", err)
			}
			root := slices.IndexFunc(sc.roots, func(r []byte) bool { return string(r) == string(segs[0]) })
			if root < 0 {
				if len(sc.roots) == maxRoots {
					return nil, fmt.Errorf("usage paths have more than %d distinct first keys", maxRoots)
				}
				root = len(sc.roots)
				sc.roots = append(sc.roots, segs[0])
			}
			sc.counts[c] = append(sc.counts[c], usagePath{root: root, rest: segs[1:]})
		}
	}
	d := k.Deltas
	for kind, paths := range [][]string{deltaContent: d.Content, deltaReasoning: d.Reasoning, deltaTool: d.ToolCall} {
		for _, p := range paths {
			segs, err := split(p)
			if err != nil {
				return nil, fmt.Errorf("deltas: %w", err)
			}
			parent, leaf := segs[:len(segs)-1], segs[len(segs)-1]
			g := slices.IndexFunc(sc.groups, func(g deltaGroup) bool { return slices.EqualFunc(g.parent, parent, bytesEqual) })
			if g < 0 {
				g = len(sc.groups)
				sc.groups = append(sc.groups, deltaGroup{parent: parent})
			}
			sc.groups[g].leaves = append(sc.groups[g].leaves, deltaLeaf{key: leaf, kind: kind})
		}
	}
	// Leaves and events are in kind order, content first: the common case
	// ends the search soonest.
	for kind, names := range [][]string{deltaContent: d.ContentEvents, deltaReasoning: d.ReasoningEvents, deltaTool: d.ToolCallEvents} {
		for _, n := range names {
			sc.events = append(sc.events, deltaEvent{n, kind})
		}
	}
	return sc, nil
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

// API returns the API the scanner reads.
func (sc *Scanner) API() string { return sc.api }

// Keys returns the keys the scanner was compiled from.
func (sc *Scanner) Keys() Keys { return sc.keys.clone() }

// Stream returns the state of one response before its first event.
func (sc *Scanner) Stream() Stream {
	return Stream{sc: sc, in: -1, cached: -1, out: -1, reasoning: -1, cacheRead: -1, cacheWrite: -1, inExcl: -1}
}

// defaultScanners read each API with AnyKeys.
var defaultScanners = func() map[string]*Scanner {
	m := map[string]*Scanner{}
	for _, api := range append([]string{schemas.APIOpenAIChat}, APIs...) {
		sc, err := NewScanner(api, AnyKeys(api))
		if err != nil {
			panic("wire: default keys: " + err.Error())
		}
		m[api] = sc
	}
	return m
}()

// DefaultScanner returns the scanner of api with AnyKeys (any unknown api
// is read as OpenAI Chat).
func DefaultScanner(api string) *Scanner {
	if sc, ok := defaultScanners[api]; ok {
		return sc
	}
	return defaultScanners[schemas.APIOpenAIChat]
}

// delta reports the kind of output the event's data carries by key path.
func (sc *Scanner) delta(data []byte) int {
	for i := range sc.groups {
		g := &sc.groups[i]
		at := findPath(data, g.parent, 0)
		if at < 0 {
			continue
		}
		for _, l := range g.leaves {
			if j := indexKey(data[at:], l.key); j >= 0 && nonEmpty(data[at+j:]) {
				return l.kind
			}
		}
	}
	return deltaNone
}

// eventKind returns the delta kind of an event name.
func (sc *Scanner) eventKind(name []byte) int {
	for _, e := range sc.events {
		if string(name) == e.name {
			return e.kind
		}
	}
	return deltaNone
}

// findPath returns the index just past `"key":` of the last key of path in
// b, each key searched after the previous one from b[from:]; from when path
// is empty; -1 when a key is missing.
func findPath(b []byte, path [][]byte, from int) int {
	for _, k := range path {
		i := indexKey(b[from:], k)
		if i < 0 {
			return -1
		}
		from += i
	}
	return from
}

// nonEmpty reports whether b starts (after spaces) with a non-empty
// string, array or object.
func nonEmpty(b []byte) bool {
	b = skipSpace(b)
	if len(b) < 2 {
		return false
	}
	switch b[0] {
	case '"':
		return b[1] != '"'
	case '[', '{':
		rest := skipSpace(b[1:])
		return len(rest) > 0 && rest[0] != ']' && rest[0] != '}'
	}
	return false
}

// intAt returns the non-negative integer b starts with (after spaces), or
// -1.
func intAt(b []byte) int64 {
	b = skipSpace(b)
	var n int64
	digits := 0
	for _, c := range b {
		if c < '0' || c > '9' || digits == 18 {
			break
		}
		n = n*10 + int64(c-'0')
		digits++
	}
	if digits == 0 {
		return -1
	}
	return n
}
