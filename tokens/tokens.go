package tokens

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"unsafe"

	"github.com/tiktoken-go/tokenizer"
)

// BlockSize is the number of tokens in one prefix block, as in Mooncake's
// hash_ids.
const BlockSize = 512

var (
	codecOnce sync.Once
	codec     tokenizer.Codec
)

func enc() tokenizer.Codec {
	codecOnce.Do(func() {
		c, err := tokenizer.Get(tokenizer.O200kBase)
		if err != nil {
			panic(fmt.Sprintf("tokens: o200k_base codec: %v", err))
		}
		codec = c
	})
	return codec
}

// skipKeys are JSON object keys whose string values are structure, not text
// the model reads.
var skipKeys = map[string]bool{
	"role": true, "type": true, "id": true, "tool_call_id": true, "tool_use_id": true,
	"call_id": true, "cache_control": true, "signature": true, "status": true,
	"media_type": true, "detail": true, "format": true, "encrypted_content": true,
	"data": true, "image_url": true, "url": true,
}

// VisibleText returns the text the model reads in an API JSON value: every
// string value except those under structural keys (role, type, ids,
// cache_control, signatures, binary data), joined by newlines. For a JSON
// string it is the string itself. Invalid JSON is returned as is.
func VisibleText(body []byte) string {
	var v any
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return string(body)
	}
	var sb strings.Builder
	visible(&sb, v)
	return sb.String()
}

func visible(sb *strings.Builder, v any) {
	switch x := v.(type) {
	case string:
		if sb.Len() > 0 {
			sb.WriteByte('\n')
		}
		sb.WriteString(x)
	case []any:
		for _, e := range x {
			visible(sb, e)
		}
	case map[string]any:
		// Deterministic order: the JSON is canonical (sorted keys) in a
		// trace set, and map order must not change counts anyway.
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sortStrings(keys)
		for _, k := range keys {
			if skipKeys[k] {
				continue
			}
			if k == "properties" || k == "parameters" || k == "input_schema" || k == "input" || k == "arguments" {
				// Tool schemas and structured arguments: the model reads
				// their JSON, keys included.
				if m, ok := x[k].(map[string]any); ok {
					b, _ := json.Marshal(m)
					if sb.Len() > 0 {
						sb.WriteByte('\n')
					}
					sb.Write(b)
					continue
				}
			}
			visible(sb, x[k])
		}
	}
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// CountJSON returns the tokens of the model-visible text of an API JSON value.
func CountJSON(body []byte) int {
	bp := visiblePool.Get().(*[]byte)
	text, ok := appendVisible((*bp)[:0], body)
	var n int
	if ok {
		// Count keeps no reference to the text (its caches keep copies).
		n = Count(unsafe.String(unsafe.SliceData(text), len(text)))
	} else {
		n = Count(VisibleText(body))
	}
	if cap(text) <= maxPooledText {
		*bp = text[:0]
		visiblePool.Put(bp)
	}
	return n
}

// visiblePool holds CountJSON's text buffers.
var visiblePool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxPooledText is the largest text buffer, bytes, CountJSON keeps.
const maxPooledText = 1 << 20

// Segment is one piece of a prompt: a content-addressed blob and its token
// count.
type Segment struct {
	ID     int64
	Tokens int
}

// BlockHashes returns chained hashes of the BlockSize-token blocks of a
// prompt made of segs in order; the last block may be partial. Block k's hash
// covers the segments (and token ranges within them) of blocks 0..k, so two
// prompts have equal hashes up to block k exactly when their segment
// sequences agree on the first (k+1)·BlockSize tokens.
func BlockHashes(segs []Segment) []int64 {
	total := 0
	for _, s := range segs {
		total += s.Tokens
	}
	if total == 0 {
		return nil
	}
	out := make([]int64, 0, (total+BlockSize-1)/BlockSize)
	var prev uint64
	h := fnv.New64a()
	var buf [8]byte
	put := func(v uint64) {
		for i := range buf {
			buf[i] = byte(v >> (8 * i))
		}
		h.Write(buf[:])
	}
	h.Reset()
	put(prev)
	inBlock := 0
	for _, s := range segs {
		from := 0
		for from < s.Tokens {
			n := min(s.Tokens-from, BlockSize-inBlock)
			put(uint64(s.ID))
			put(uint64(from))
			put(uint64(from + n))
			from += n
			inBlock += n
			if inBlock == BlockSize {
				prev = h.Sum64() &^ (1 << 63)
				out = append(out, int64(prev))
				h.Reset()
				put(prev)
				inBlock = 0
			}
		}
	}
	if inBlock > 0 {
		out = append(out, int64(h.Sum64()&^(1<<63)))
	}
	return out
}
