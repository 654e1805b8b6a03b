import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { ModelConfigSchema } from '../../../src/config/schema';
import { SecretMissingError } from '../../../src/config/env-refs';
import { ErrorTypes } from '../../../src/contracts/errors';
import { createProvider, ProviderError } from '../../../src/providers';
import type { InferenceRequest, Provider } from '../../../src/providers';
import { waitFor } from '../../helpers/wait';

interface Seen {
  path: string;
  auth: string | undefined;
  body: Record<string, unknown>;
}
const seen: Seen[] = [];
const sockets = new Set<Socket>();
let server: Server;
let baseUrl = '';

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** An OpenAI-compatible server whose behaviour is picked by the requested model name. */
function handle(req: IncomingMessage, res: ServerResponse, raw: string): void {
  const body = JSON.parse(raw) as Record<string, unknown>;
  seen.push({ path: req.url ?? '', auth: req.headers.authorization, body });
  const usage = { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 };
  switch (body.model) {
    case 'ok':
      if (req.url?.endsWith('/completions') && !req.url.includes('chat')) {
        return json(res, 200, { id: 'c', object: 'text_completion', created: 0, model: 'ok', choices: [{ index: 0, text: ' Paris', finish_reason: 'stop' }], usage });
      }
      return json(res, 200, {
        id: 'c', object: 'chat.completion', created: 0, model: 'ok-2024',
        choices: [{ index: 0, message: { role: 'assistant', content: 'Paris' }, finish_reason: 'stop' }], usage,
      });
    case 'ratelimit':
      return json(res, 429, { error: { message: 'slow down', type: 'rate_limit' } }, { 'retry-after': '7' });
    case 'ratelimit-date':
      return json(res, 429, { error: { message: 'slow down' } }, { 'retry-after': new Date(Date.now() + 30_000).toUTCString() });
    case 'ratelimit-ms':
      return json(res, 429, { error: { message: 'slow down' } }, { 'retry-after-ms': '250', 'retry-after': '9' });
    case 'boom':
      return json(res, 500, { error: { message: 'internal failure' } });
    case 'bad':
      return json(res, 400, { error: { message: "'messages' must not be empty", type: 'invalid_request_error' } });
    case 'context':
      // The body llama.cpp's server (xllamacpp 2026.10.11549) answers for a prompt longer than its context.
      return json(res, 400, {
        error: { code: 400, message: 'request (1042 tokens) exceeds the available context size (512 tokens), try increasing it', type: 'exceed_context_size_error', n_prompt_tokens: 1042, n_ctx: 512 },
      });
    case 'missing':
      return json(res, 404, { error: { message: 'The model `missing` does not exist' } });
    case 'reset':
      req.socket.destroy();
      return;
    case 'hang':
      return; // never answers
  }
}

before(async () => {
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => handle(req, res, raw));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const provider = (name: string, over: Record<string, unknown> = {}, providerOver: Record<string, unknown> = {}): Provider =>
  createProvider(
    ModelConfigSchema.parse({
      id: 'm',
      provider: { kind: 'openai', baseUrl, model: name, apiKey: '${TEST_OPENAI_KEY}', ...providerOver },
      params: { temperature: 0.2, maxTokens: 16, stop: ['\n'] },
      ...over,
    }),
  );
const req: InferenceRequest = { sampleKey: 'k', messages: [{ role: 'user', content: 'Capital of France?' }], prompt: 'Capital of France?', params: { temperature: 0.2, maxTokens: 16, stop: ['\n'] } };
const env = { TEST_OPENAI_KEY: 'sk-test-123' };
const ctx = (signal: AbortSignal = new AbortController().signal) => ({ signal, env });

function rejectsWith(p: Promise<unknown>, check: (err: ProviderError) => void): Promise<void> {
  return assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ProviderError, `expected ProviderError, got ${String(err)}`);
    check(err);
    return true;
  });
}

describe('openai provider against a local OpenAI-compatible server', () => {
  it('chat: returns text and usage; sends the resolved key and params in the wire format', async () => {
    const p = await provider('ok').infer(req, ctx());
    assert.deepEqual({ text: p.text, usage: p.usage, model: p.model }, { text: 'Paris', usage: { inputTokens: 12, outputTokens: 3 }, model: 'ok-2024' });
    const last = seen[seen.length - 1];
    assert.equal(last.path, '/v1/chat/completions');
    assert.equal(last.auth, 'Bearer sk-test-123');
    assert.deepEqual([last.body.temperature, last.body.max_tokens, last.body.stop], [0.2, 16, ['\n']]);
  });

  it('completions api sends the flattened prompt', async () => {
    const p = await provider('ok', {}, { api: 'completions' }).infer(req, ctx());
    assert.equal(p.text, ' Paris');
    assert.equal(seen[seen.length - 1].body.prompt, 'Capital of France?');
  });

  it('429 is retryable and carries Retry-After (seconds, HTTP date, retry-after-ms)', async () => {
    await rejectsWith(provider('ratelimit').infer(req, ctx()), (e) => {
      assert.deepEqual([e.retryable, e.status, e.retryAfterMs, e.type], [true, 429, 7000, ErrorTypes.ProviderRetryable]);
    });
    await rejectsWith(provider('ratelimit-date').infer(req, ctx()), (e) => assert.ok(e.retryAfterMs !== undefined && e.retryAfterMs > 20_000 && e.retryAfterMs <= 30_000));
    await rejectsWith(provider('ratelimit-ms').infer(req, ctx()), (e) => assert.equal(e.retryAfterMs, 250));
  });

  it('500 and dropped connections are retryable; no retries inside the client', async () => {
    const before = seen.length;
    await rejectsWith(provider('boom').infer(req, ctx()), (e) => assert.deepEqual([e.retryable, e.status], [true, 500]));
    assert.equal(seen.length, before + 1, 'the client must not retry by itself');
    await rejectsWith(provider('reset').infer(req, ctx()), (e) => {
      assert.equal(e.retryable, true);
      assert.match(e.message, /connection failed/);
    });
  });

  it('400 and 404 are permanent with the endpoint message', async () => {
    await rejectsWith(provider('bad').infer(req, ctx()), (e) => {
      assert.deepEqual([e.retryable, e.status, e.type], [false, 400, ErrorTypes.ProviderPermanent]);
      assert.match(e.message, /'messages' must not be empty/);
    });
    await rejectsWith(provider('missing').infer(req, ctx()), (e) => assert.deepEqual([e.retryable, e.status], [false, 404]));
  });

  it("a context-length error is permanent and says the server's message once, with its type", async () => {
    await rejectsWith(provider('context').infer(req, ctx()), (e) => {
      assert.deepEqual([e.retryable, e.status, e.type], [false, 400, ErrorTypes.ProviderPermanent]);
      assert.equal(e.message, `model m (${baseUrl}): HTTP 400 (exceed_context_size_error): request (1042 tokens) exceeds the available context size (512 tokens), try increasing it`);
    });
    await rejectsWith(provider('missing').infer(req, ctx()), (e) => assert.equal(e.message, `model m (${baseUrl}): HTTP 404: The model \`missing\` does not exist`));
  });

  it('a hanging request hits its timeout and is retryable', async () => {
    const started = Date.now();
    await rejectsWith(provider('hang', { timeoutMs: 400 }).infer(req, ctx()), (e) => {
      assert.equal(e.retryable, true);
      assert.match(e.message, /timed out/);
    });
    assert.ok(Date.now() - started < 5000);
  });

  it('an abort mid-request rejects at once as canceled', async () => {
    const controller = new AbortController();
    const count = seen.length;
    const call = provider('hang', { timeoutMs: 60_000 }).infer(req, ctx(controller.signal));
    await waitFor(() => seen.length > count, { message: 'request reached the server' });
    const abortedAt = Date.now();
    controller.abort();
    await rejectsWith(call, (e) => assert.deepEqual([e.type, e.retryable], [ErrorTypes.Canceled, false]));
    assert.ok(Date.now() - abortedAt < 2000);
  });

  it('a missing key variable is a non-retryable SecretMissing error, before any request', async () => {
    const count = seen.length;
    await assert.rejects(provider('ok').infer(req, { signal: new AbortController().signal, env: {} }), (err: unknown) => err instanceof SecretMissingError && /TEST_OPENAI_KEY/.test(err.message));
    assert.equal(seen.length, count);
  });
});
