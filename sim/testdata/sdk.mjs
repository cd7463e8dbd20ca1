// Drives the simulator with the real npm SDKs, unchanged, and prints one
// JSON line of results. Run from the e2e directory (node_modules) with
// BASE_URL set to the simulator's root URL.
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";

const base = process.env.BASE_URL;
// SIM_CLOCK=1 asks for the simulator's clock comments (": t=<ns>" lines),
// which the SDKs must skip as the SSE comments they are.
const defaultHeaders = process.env.SIM_CLOCK === "1" ? { "X-Agentperf-Sim-Clock": "1" } : {};
const openai = new OpenAI({ baseURL: base + "/v1", apiKey: "sk-test", maxRetries: 0, defaultHeaders });
const anthropic = new Anthropic({ baseURL: base, apiKey: "sk-ant-test", maxRetries: 0, defaultHeaders });
const out = {};

const chatTools = [{
  type: "function",
  function: { name: "bash", description: "run a command", parameters: { type: "object", properties: { input: { type: "string" } } } },
}];
const respTools = [{ type: "function", name: "bash", description: "run a command", parameters: { type: "object", properties: { input: { type: "string" } } } }];
const antTools = [{ name: "bash", description: "run a command", input_schema: { type: "object", properties: { input: { type: "string" } } } }];
const history = [
  { role: "system", content: "You are a coding agent." },
  { role: "user", content: "List the files in the repository and explain the layout." },
];

// Chat Completions, streaming via the SDK's accumulating helper.
{
  const stream = openai.chat.completions.stream({
    model: "gpt-oss-120b", messages: history, max_tokens: 12, ignore_eos: true,
    stream_options: { include_usage: true },
  });
  let deltas = 0;
  stream.on("content", () => deltas++);
  const final = await stream.finalChatCompletion();
  out.chatStream = { deltas, text: final.choices[0].message.content, finish: final.choices[0].finish_reason, usage: final.usage };
}
// Chat Completions, streaming with a forced tool call.
{
  const stream = openai.chat.completions.stream({
    model: "gpt-oss-120b", messages: history, tools: chatTools, tool_choice: "required", max_tokens: 4096, min_tokens: 5,
  });
  const final = await stream.finalChatCompletion();
  const call = final.choices[0].message.tool_calls[0];
  out.chatTool = { name: call.function.name, args: JSON.parse(call.function.arguments), id: call.id, finish: final.choices[0].finish_reason };
}
// Chat Completions, not streaming.
{
  const r = await openai.chat.completions.create({ model: "any-model", messages: history, max_completion_tokens: 7, ignore_eos: true });
  out.chat = { text: r.choices[0].message.content, finish: r.choices[0].finish_reason, usage: r.usage, model: r.model };
}
// Responses, streaming (text) via the helper.
{
  const stream = openai.responses.stream({ model: "gpt-oss-120b", instructions: "be brief", input: "hello", max_output_tokens: 10, ignore_eos: true });
  let deltas = 0;
  let text = "";
  let incomplete = null;
  stream.on("response.output_text.delta", (e) => { deltas++; text += e.delta; });
  // Hitting max_output_tokens ends the stream with response.incomplete, as
  // OpenAI does; the SDK's snapshot keeps the accumulated text.
  stream.on("response.incomplete", (e) => { incomplete = e.response; });
  const final = await stream.finalResponse();
  out.responsesStream = { deltas, text, snapshot: final.output[0].content[0].text, status: incomplete?.status, usage: incomplete?.usage };
}
// Responses, streaming a function call.
{
  const stream = openai.responses.stream({
    model: "gpt-oss-120b", input: [{ role: "user", content: "run ls" }], tools: respTools, tool_choice: "required", max_output_tokens: 4096, min_tokens: 6,
  });
  const final = await stream.finalResponse();
  const item = final.output.find((o) => o.type === "function_call");
  out.responsesTool = { name: item.name, args: JSON.parse(item.arguments), status: final.status };
}
// Responses, not streaming.
{
  const r = await openai.responses.create({ model: "gpt-oss-120b", input: [{ role: "user", content: "hi" }], max_output_tokens: 4, ignore_eos: true });
  out.responses = { text: r.output_text, status: r.status, usage: r.usage };
}
// Anthropic Messages, streaming text via the helper.
{
  const stream = anthropic.messages.stream({
    model: "claude-sonnet-4-5", max_tokens: 11, ignore_eos: true, system: "You are a coding agent.",
    messages: [{ role: "user", content: "hello" }],
  });
  let deltas = 0;
  stream.on("text", () => deltas++);
  const final = await stream.finalMessage();
  out.messagesStream = { deltas, text: final.content[0].text, stop: final.stop_reason, usage: final.usage };
}
// Anthropic Messages, streaming a tool call.
{
  const stream = anthropic.messages.stream({
    model: "claude-sonnet-4-5", max_tokens: 4096, min_tokens: 4, tools: antTools, tool_choice: { type: "tool", name: "bash" },
    messages: [{ role: "user", content: "run ls" }],
  });
  const final = await stream.finalMessage();
  const block = final.content.find((b) => b.type === "tool_use");
  out.messagesTool = { name: block.name, input: block.input, stop: final.stop_reason };
}
// Anthropic Messages, not streaming.
{
  const r = await anthropic.messages.create({ model: "claude-sonnet-4-5", max_tokens: 3, ignore_eos: true, messages: [{ role: "user", content: "hi" }] });
  out.messages = { text: r.content[0].text, stop: r.stop_reason, usage: r.usage };
}
// Legacy Completions, streaming and not.
{
  const stream = await openai.completions.create({ model: "gpt-oss-120b", prompt: "Once upon a time", max_tokens: 6, ignore_eos: true, stream: true, stream_options: { include_usage: true } });
  let text = "";
  let usage = null;
  for await (const chunk of stream) {
    if (chunk.choices.length > 0) text += chunk.choices[0].text;
    if (chunk.usage) usage = chunk.usage;
  }
  const r = await openai.completions.create({ model: "gpt-oss-120b", prompt: [1, 2, 3, 4], max_tokens: 2, ignore_eos: true });
  out.completions = { text, usage, tokens: r.usage.prompt_tokens, finish: r.choices[0].finish_reason };
}
// Errors surface as the SDKs' typed errors.
try {
  await anthropic.messages.create({ model: "m", messages: [{ role: "user", content: "hi" }] });
  out.anthropicError = "no error";
} catch (e) {
  out.anthropicError = { status: e.status, type: e.error?.error?.type };
}
try {
  await openai.chat.completions.create({ model: "m", messages: [] });
  out.openaiError = "no error";
} catch (e) {
  out.openaiError = { status: e.status, type: e.type, param: e.param };
}
// Models list.
{
  const page = await openai.models.list();
  out.models = page.data.map((m) => m.id);
}
console.log(JSON.stringify(out));
