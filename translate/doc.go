// Package translate rewrites request bodies between the Anthropic
// Messages, OpenAI Chat Completions and OpenAI Responses APIs, for replay
// (sending a recorded turn with another API) and the AA JSONL export.
//
// Contract:
//   - Kept: system text, messages (text and images in order), tool calls
//     with ids, names and arguments, tool results, tool definitions, the
//     tool choice (auto, none, required/any, one named tool, and whether
//     parallel tool calls are disabled), max output tokens, temperature,
//     top_p and stop sequences.
//   - Images travel as URLs (base64 data as a data: URL): Anthropic image
//     blocks, Chat image_url parts, Responses input_image parts. An image
//     inside a tool result or a system prompt becomes the text "[image]"
//     (those take text only), counted in Stats.DroppedImages.
//   - Reasoning goes to the target API's reasoning input: Anthropic
//     thinking (with its signature) and redacted_thinking blocks,
//     Responses reasoning items (summary, reasoning_text content,
//     encrypted_content). Chat has no reasoning input, so it is dropped;
//     so is reasoning the target cannot hold (encrypted-only Responses
//     reasoning sent to Anthropic, redacted thinking sent to Responses).
//     Stats.DroppedReasoning counts each. Signatures and encrypted
//     content are provider-bound: a hosted API may refuse them from
//     another provider; open engines read the text.
//   - Dropped silently: server-side tools and provider-specific fields.
//   - The output is always valid JSON; from == to returns the body as is.
package translate
