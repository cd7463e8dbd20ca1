// Drives multi-turn, streaming, tool-using conversations with the real npm
// SDK clients (@anthropic-ai/sdk and openai: Messages, Chat Completions,
// Responses) and prints, as one JSON document, the raw bytes of every
// response body the client received and what the SDK parsed.
//
// Environment: MODE = direct | reverse | mitm; ANTHROPIC_URL and OPENAI_URL
// (base URLs, direct/reverse); PROXY (mitm: the HTTPS proxy URL; trust comes
// from NODE_EXTRA_CA_CERTS); THINK_MS (pause between turns).
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { Readable } from 'node:stream';

const mode = process.env.MODE;
const thinkMs = Number(process.env.THINK_MS || '50');
const apiKey = 'sk-e2e-SECRET-never-in-traces-0123456789';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A fetch over node:https through an HTTP CONNECT proxy (the SDKs' fetch
// does not read HTTPS_PROXY).
class TunnelAgent extends https.Agent {
  constructor(proxy) {
    super({ keepAlive: true });
    this.proxy = new URL(proxy);
  }
  createConnection(options, cb) {
    const target = `${options.host}:${options.port || 443}`;
    const req = http.request({ host: this.proxy.hostname, port: this.proxy.port, method: 'CONNECT', path: target, headers: { host: target } });
    req.once('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        cb(new Error(`proxy CONNECT ${target}: ${res.statusCode}`));
        return;
      }
      const s = tls.connect({ socket, servername: options.servername || options.host, ALPNProtocols: ['http/1.1'] });
      s.once('secureConnect', () => cb(null, s));
      s.once('error', (e) => cb(e));
    });
    req.once('error', (e) => cb(e));
    req.end();
  }
}

function tunnelFetch(proxy) {
  const agent = new TunnelAgent(proxy);
  return (input, init = {}) =>
    new Promise((resolve, reject) => {
      const url = new URL(typeof input === 'string' ? input : input.url ?? String(input));
      const headers = {};
      new Headers(init.headers || {}).forEach((v, k) => { headers[k] = v; });
      const req = https.request(url, { method: init.method || 'GET', headers, agent }, (res) => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) h.set(k, Array.isArray(v) ? v.join(', ') : v);
        resolve(new Response(Readable.toWeb(res), { status: res.statusCode, statusText: res.statusMessage, headers: h }));
      });
      req.on('error', reject);
      if (init.signal) init.signal.addEventListener('abort', () => req.destroy(new Error('aborted')));
      if (init.body) req.write(init.body);
      req.end();
    });
}

// teeFetch records the raw bytes of every response body while the SDK
// reads the other branch.
const calls = [];
const pending = [];
function teeFetch(base) {
  return async (input, init) => {
    const res = await base(input, init);
    const rec = { url: String(input.url ?? input), status: res.status, chunks: [] };
    calls.push(rec);
    if (!res.body) return res;
    const [a, b] = res.body.tee();
    pending.push((async () => {
      const r = b.getReader();
      for (;;) {
        const { done, value } = await r.read();
        if (done) break;
        rec.chunks.push(Buffer.from(value));
      }
    })());
    return new Response(a, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

const fetchImpl = teeFetch(mode === 'mitm' ? tunnelFetch(process.env.PROXY) : globalThis.fetch);
const anthropicBase = mode === 'mitm' ? 'https://api.anthropic.com' : process.env.ANTHROPIC_URL;
const openaiBase = mode === 'mitm' ? 'https://api.openai.com/v1' : process.env.OPENAI_URL;
const anthropic = new Anthropic({ apiKey, baseURL: anthropicBase, fetch: fetchImpl, maxRetries: 0,
  defaultHeaders: { 'X-Claude-Code-Session-Id': 'e2e-anthropic' } });
const openai = new OpenAI({ apiKey, baseURL: openaiBase, fetch: fetchImpl, maxRetries: 0 });
const out = { anthropic: [], chat: [], responses: [] };

const bashTool = { name: 'bash', description: 'Run a shell command', input_schema: { type: 'object', properties: { command: { type: 'string' } }, required: ['command'] } };

// Anthropic Messages: tool call, tool result → text, again; turn 3 unstreamed.
{
  const messages = [{ role: 'user', content: 'List the files in /tmp.' }];
  for (let turn = 0; turn < 4; turn++) {
    const params = { model: 'claude-sonnet-4-5', max_tokens: 1024, system: 'You are a coding agent.', tools: [bashTool],
      thinking: { type: 'enabled', budget_tokens: 1024 }, messages };
    let msg;
    if (turn === 3) {
      msg = await anthropic.messages.create(params);
    } else {
      msg = await anthropic.messages.stream(params).finalMessage();
    }
    out.anthropic.push({ stop: msg.stop_reason, content: msg.content, usage: msg.usage });
    messages.push({ role: 'assistant', content: msg.content });
    const tu = msg.content.find((b) => b.type === 'tool_use');
    if (tu) messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: tu.id, content: 'a.txt b.txt' }] });
    else messages.push({ role: 'user', content: 'Now count them.' });
    await sleep(thinkMs);
  }
}

// OpenAI Chat Completions, streamed with usage; no session header.
{
  const tools = [{ type: 'function', function: { name: 'bash', description: 'Run a shell command', parameters: bashTool.input_schema } }];
  const messages = [{ role: 'system', content: 'You are a coding agent.' }, { role: 'user', content: 'List the files in /tmp.' }];
  for (let turn = 0; turn < 4; turn++) {
    const stream = await openai.chat.completions.create({ model: 'gpt-4.1', messages, tools, stream: true, stream_options: { include_usage: true } });
    let content = '';
    const calls = [];
    let usage = null;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      const d = chunk.choices[0]?.delta;
      if (!d) continue;
      if (d.content) content += d.content;
      for (const tc of d.tool_calls || []) {
        calls[tc.index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } };
        if (tc.id) calls[tc.index].id = tc.id;
        if (tc.function?.name) calls[tc.index].function.name += tc.function.name;
        if (tc.function?.arguments) calls[tc.index].function.arguments += tc.function.arguments;
      }
    }
    out.chat.push({ content, calls, usage });
    if (calls.length) {
      messages.push({ role: 'assistant', content: null, tool_calls: calls });
      messages.push({ role: 'tool', tool_call_id: calls[0].id, content: 'a.txt b.txt' });
    } else {
      messages.push({ role: 'assistant', content });
      messages.push({ role: 'user', content: 'Now count them.' });
    }
    await sleep(thinkMs);
  }
}

// OpenAI Responses, streamed; the session is named by prompt_cache_key.
{
  const tools = [{ type: 'function', name: 'bash', description: 'Run a shell command', parameters: bashTool.input_schema, strict: false }];
  const input = [{ role: 'user', content: 'List the files in /tmp.' }];
  for (let turn = 0; turn < 4; turn++) {
    const stream = openai.responses.stream({ model: 'gpt-5-codex', instructions: 'You are a coding agent.', input, tools,
      reasoning: { effort: 'low' }, store: false, prompt_cache_key: 'e2e-responses' });
    const resp = await stream.finalResponse();
    out.responses.push({ output: resp.output, usage: resp.usage });
    for (const item of resp.output) input.push(item);
    const fc = resp.output.find((i) => i.type === 'function_call');
    if (fc) input.push({ type: 'function_call_output', call_id: fc.call_id, output: 'a.txt b.txt' });
    else input.push({ role: 'user', content: 'Now count them.' });
    await sleep(thinkMs);
  }
}

await Promise.all(pending);
out.raw = calls.map((c) => ({ url: c.url, status: c.status, body: Buffer.concat(c.chunks).toString('base64') }));
process.stdout.write(JSON.stringify(out));
