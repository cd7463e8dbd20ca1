// Package convert imports foreign trace formats into agentperf trace sets
// — Artificial Analysis replay JSONL, Mooncake traces, Claude Code
// transcripts and Codex rollouts — and exports trace sets as AA replay
// JSONL or Mooncake traces. Inputs are streamed line by line; a bad line
// is reported with its file and line number, and either aborts the import
// (leaving nothing behind) or is skipped and counted.
//
// An AA JSONL import keeps every field the trace set has no column for in
// the request's extras, and its export writes such a line back field by
// field; sub-agent links of imported sessions are completed by the trace
// writer (schemas) from the spawning tool calls.
//
// A Mooncake trace has no text: each 512-token block becomes a user
// message of filler seeded by the block's hash id, stored as its recipe
// (schemas.FillerMessage) rather than its ~3.4 kB of text, so an imported
// set is about the size of its JSONL (ImportOptions.StoreGenerated stores
// the text instead, for readers that predate recipes).
package convert
