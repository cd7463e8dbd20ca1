package sim

import (
	"fmt"
	"strings"
	"testing"

	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/tokens"
)

// agentBody builds a chat request like an agent's turn n: a system prompt,
// tools and n rounds of user/assistant/tool messages of ~250 tokens each.
func agentBody(n int) []byte {
	var sb strings.Builder
	sb.WriteString(`{"model":"gpt-oss-120b","stream":true,"max_tokens":2048,"tools":[`)
	for i := 0; i < 20; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"type":"function","function":{"name":"tool%d","description":"%s","parameters":{"type":"object","properties":{"cmd":{"type":"string"}}}}}`, i, tokens.Filler(uint64(i), 60))
	}
	sb.WriteString(`],"messages":[{"role":"system","content":"` + tokens.Filler(99, 3000) + `"}`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, `,{"role":"user","content":"%s"}`, tokens.Filler(uint64(1000+i), 250))
		fmt.Fprintf(&sb, `,{"role":"assistant","content":null,"tool_calls":[{"id":"call_%d","type":"function","function":{"name":"tool1","arguments":"{\"cmd\":\"%s\"}"}}]}`, i, tokens.Filler(uint64(2000+i), 30))
		fmt.Fprintf(&sb, `,{"role":"tool","tool_call_id":"call_%d","content":"%s"}`, i, tokens.Filler(uint64(3000+i), 250))
	}
	sb.WriteString(`]}`)
	return []byte(sb.String())
}

// BenchmarkPromptWarm is the common case of an agent turn: every message but
// the newest was counted on an earlier turn. 60 rounds ≈ 40k tokens.
func BenchmarkPromptWarm(b *testing.B) {
	cc := newCountCache()
	prev := agentBody(59)
	body := agentBody(60)
	if _, err := parseChat(prev, cc, false); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// A new last message each time, as a new turn brings.
		copy(body[len(body)-40:], fmt.Sprintf("%08d", i))
		g, err := parseChat(body, cc, false)
		if err != nil {
			b.Fatal(err)
		}
		g.prompt.finish()
	}
}

// BenchmarkPromptFullyCached resends an identical request (a retry or a
// replayed turn).
func BenchmarkPromptFullyCached(b *testing.B) {
	cc := newCountCache()
	body := agentBody(60)
	parseChat(body, cc, false)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		g, err := parseChat(body, cc, false)
		if err != nil {
			b.Fatal(err)
		}
		g.prompt.finish()
	}
}

// BenchmarkPromptCold counts a 40k-token body never seen before: the
// tokenizer's cost, for comparison.
func BenchmarkPromptCold(b *testing.B) {
	body := agentBody(60)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		g, err := parseChat(body, newCountCache(), false)
		if err != nil {
			b.Fatal(err)
		}
		g.prompt.finish()
	}
}

// BenchmarkAdmitMarked admits a 40k-token agent turn sent in one of 64
// conversations, each marking its first user message (replay's
// conversation marker), as the virtual-time replay does: "whole" admits
// each marked body (Admit: the whole body parsed and hashed, only the
// marked message new to the count cache after the first round), "edited"
// derives the admission from the turn's base admission (AdmitEdited: the
// marked message alone).
func BenchmarkAdmitMarked(b *testing.B) {
	plan, err := Resolve(Config{Hardware: "h200", Accelerators: 8})
	if err != nil {
		b.Fatal(err)
	}
	base := agentBody(60)
	first := []byte(fmt.Sprintf(`{"role":"user","content":"%s"}`, tokens.Filler(1000, 250)))
	var marked, bodies [64][]byte
	for k := range marked {
		marked[k] = []byte(fmt.Sprintf(`{"role":"user","content":"[conversation %012x]\n%s"}`, k, tokens.Filler(1000, 250)))
		bodies[k] = []byte(strings.Replace(string(base), string(first), string(marked[k]), 1))
	}
	b.Run("whole", func(b *testing.B) {
		v := NewVirtual(plan)
		b.SetBytes(int64(len(base)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := v.Admit(schemas.APIOpenAIChat, bodies[i%64]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("edited", func(b *testing.B) {
		v := NewVirtual(plan)
		a, err := v.AdmitEditable(schemas.APIOpenAIChat, base)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(base)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, ok, err := v.AdmitEdited(a, Edit{Old: first, New: marked[i%64]}); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
}

// BenchmarkTokenEvent renders one streamed token per API.
func BenchmarkTokenEvent(b *testing.B) {
	o := &genOutput{id: "0123456789abcdef", created: 1700000000, model: "gpt-oss-120b", n: 1 << 20, words: defaultWords()}
	for _, tt := range []struct {
		name string
		enc  encoder
	}{
		{"chat", newChatEncoder(o, true)},
		{"messages", newMessagesEncoder(o)},
		{"responses", newResponsesEncoder(o)},
	} {
		b.Run(tt.name, func(b *testing.B) {
			buf := make([]byte, 0, 4096)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				buf = tt.enc.token(buf[:0], i)
			}
		})
	}
}

// BenchmarkEngineIteration is one decode iteration of 1,024 running
// sequences: the engine loop's cost per iteration. The engine is rebuilt
// every 1,000 iterations (untimed) so the KV cache never fills.
func BenchmarkEngineIteration(b *testing.B) {
	p, err := Resolve(Config{Hardware: "b200", Model: "gpt-oss-120b"})
	if err != nil {
		b.Fatal(err)
	}
	var e *Engine
	fresh := func() {
		e = NewEngine(p)
		for i := 0; i < 1024; i++ {
			e.Submit(&Request{PromptTokens: 100, Blocks: blocks(int64(i+1), 100), OutputTokens: 1 << 30}, 0)
		}
		for i := 0; i < 20; i++ { // past the prefills
			t, _ := e.Next()
			e.RunUntil(t)
		}
	}
	fresh()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%1000 == 999 {
			b.StopTimer()
			fresh()
			b.StartTimer()
		}
		t, _ := e.Next()
		if n := len(e.RunUntil(t)); n != 1024 {
			b.Fatalf("iteration produced %d outputs, want 1024", n)
		}
	}
}
