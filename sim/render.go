package sim

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/agentperf/agentperf/tokens"
)

// wordTable holds the text of generated tokens: words that o200k_base
// encodes as exactly one token each (tokens.Filler), JSON-safe, so a token
// is rendered by copying bytes.
type wordTable struct {
	words []string
}

const wordTableSize = 4096

var sharedWords = func() *wordTable {
	f := tokens.Filler(7, wordTableSize)
	out := make([]string, 0, wordTableSize)
	for i := 0; i < len(f); {
		j := strings.IndexByte(f[i+1:], ' ')
		if j < 0 {
			out = append(out, f[i:])
			break
		}
		out = append(out, f[i:i+1+j])
		i += 1 + j
	}
	return &wordTable{words: out}
}()

func defaultWords() *wordTable { return sharedWords }

func (w *wordTable) word(base uint64, i int) string {
	return w.words[(base+uint64(i))%uint64(len(w.words))]
}

// text is the whole generated text of n tokens.
func (w *wordTable) text(base uint64, n int) string {
	var sb strings.Builder
	for i := 0; i < n; i++ {
		sb.WriteString(w.word(base, i))
	}
	return sb.String()
}

// Tool-call arguments are a JSON object {"input": "<words>"}: the first
// token opens it and the last closes it.
const (
	argsOpen  = `{"input":"`
	argsClose = `"}`
)

// argPiece is token i (of n) of a tool call's arguments, as raw JSON text.
func (w *wordTable) argPiece(base uint64, i, n int) string {
	s := w.word(base, i)
	if i == 0 {
		s = argsOpen + s
	}
	if i == n-1 {
		s += argsClose
	}
	return s
}

func (w *wordTable) args(base uint64, n int) string {
	return argsOpen + w.text(base, n) + argsClose
}

// jsonEscaped returns s as JSON string content (without the quotes).
func jsonEscaped(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// escapeQuotes escapes raw JSON text for embedding inside a JSON string
// (tool-call arguments are a string holding JSON).
func escapeQuotes(s string) string {
	if !strings.ContainsAny(s, `"\`) {
		return s
	}
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

// completion is what a finished request produced, for the final events.
type completion struct {
	prompt, cached, output int
	truncated              bool // stopped by max tokens / context
}

// encoder renders one request's events. Streams call start once, token
// per token (or tokens when coalescing), then end; non-streaming requests
// call body. Templates are rendered once per request so a token costs a
// few appends.
type encoder interface {
	contentType() string
	start(b []byte, cached int) []byte
	token(b []byte, i int) []byte
	tokens(b []byte, from, to int) []byte
	end(b []byte, c completion) []byte
	fail(b []byte, msg string) []byte
	body(c completion) any
}

// genOutput describes what the request will produce.
type genOutput struct {
	id       string // response id suffix
	created  int64
	model    string // as the request named it
	n        int    // output tokens
	tool     bool   // a tool call rather than text
	toolName string
	callID   string
	words    *wordTable
	base     uint64
	prompt   int
}

func (o *genOutput) piece(i int) string {
	if o.tool {
		return escapeQuotes(o.words.argPiece(o.base, i, o.n))
	}
	return o.words.word(o.base, i)
}

func (o *genOutput) pieces(from, to int) string {
	var sb strings.Builder
	for i := from; i < to; i++ {
		sb.WriteString(o.piece(i))
	}
	return sb.String()
}

func (o *genOutput) fullText() string {
	if o.tool {
		return o.words.args(o.base, o.n)
	}
	return o.words.text(o.base, o.n)
}

func appendInt(b []byte, n int) []byte { return strconv.AppendInt(b, int64(n), 10) }
