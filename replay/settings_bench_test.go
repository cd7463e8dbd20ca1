package replay

import (
	"testing"

	"github.com/agentperf/agentperf/schemas"
	"github.com/agentperf/agentperf/target"
)

// BenchmarkBuildBodySettings builds the body of turn 99 of a 100-turn
// session with and without request settings (AA's sampling, gpt-oss's
// preset and a nested --set: six fields): "recorded" sends the recorded
// API, whose params are shaped once per turn, so settings cost nothing per
// send; "translated" sends an Anthropic recording as OpenAI Chat, where
// the settings are applied per send to the translated body.
func BenchmarkBuildBodySettings(b *testing.B) {
	settings, err := target.ParseSettings([]string{"temperature=0.7", "top_p=0.8", "top_k=20", "min_p=0",
		`reasoning_effort="high"`, "chat_template_kwargs.thinking=true"})
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name, recorded string
	}{{"recorded", schemas.APIOpenAIChat}, {"translated", schemas.APIAnthropic}} {
		dir := writeTraces(b, traceSpec{sessions: 1, turns: 100, out: 100, pad: 2000, api: tc.recorded})
		plan := loadPlan(b, dir, PlanOptions{})
		for _, set := range []struct {
			name string
			ss   []target.Setting
		}{{"none", nil}, {"settings", settings}} {
			b.Run(tc.name+"/"+set.name, func(b *testing.B) {
				sh := Shaping{Settings: map[string][]target.Setting{schemas.APIOpenAIChat: set.ss}}
				bl, err := newBuilder(Config{Plan: plan, API: schemas.APIOpenAIChat, ConversationMarker: MarkerOn, Shaping: sh})
				if err != nil {
					b.Fatal(err)
				}
				benchBuild(b, bl, plan.Sessions[0].Turns[99])
			})
		}
	}
}
