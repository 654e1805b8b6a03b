import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A local OpenAI-compatible endpoint for tests: chat and completions answers in the shapes of OpenAI's API
 * (openai/openai-node src/resources/chat/completions), errors as the endpoints evalctl meets answer them.
 * `maxInFlight` answers like LiteLLM's proxy with `max_parallel_requests` set (BerriAI/litellm
 * litellm/proxy/hooks/parallel_request_limiter.py): once a key's requests in flight reach the limit, the
 * next one gets 429 "Max parallel request limit reached." as a FastAPI HTTPException body ({"detail": ...}),
 * here with a Retry-After in delta-seconds (RFC 9110 section 10.2.3) as later versions of that hook send.
 */

/** One request the fake endpoint answered, as the tests inspect it. */
export interface SeenRequest {
  path: string;
  auth: string | undefined;
  /** The HTTP status the endpoint answered with. */
  status: number;
  /** The last user message (chat) or the prompt (completions): identifies the sample. */
  prompt: string;
  t: number;
  /** Requests in flight when this one arrived, itself included. */
  inFlight: number;
}

/** How the fake endpoint decides to fail a request; undefined means answer normally. */
export type FaultPlan = (n: number) => { status: number; retryAfter?: string } | undefined;

/** Options of the fake endpoint. */
export interface FakeOpenAIOptions {
  /** The only `Authorization: Bearer <key>` accepted; anything else gets 401. */
  apiKey?: string;
  /** Fails some requests (429, 5xx) by their sequence number; see `failHalf`. */
  faults?: FaultPlan;
  /** Milliseconds before each answer (default 0). */
  latencyMs?: number;
  /** A request arriving with `limit` others in flight gets 429 with `retryAfter` (seconds), as LiteLLM's max_parallel_requests. */
  maxInFlight?: { limit: number; retryAfter: string };
}

/** A local OpenAI-compatible endpoint answering chat and completions calls with the last number of the prompt. */
export interface FakeOpenAI {
  baseUrl: string;
  seen: SeenRequest[];
  /** Most requests in flight at once so far. */
  peakInFlight(): number;
  /** Replaces the fault plan (say, to end an outage). */
  setFaults(plan: FaultPlan | undefined): void;
  close(): Promise<void>;
}

/** Fails every other request, alternating 429 (with Retry-After: 0) and 503, while `active()` holds. */
export function failHalf(active: () => boolean): FaultPlan {
  return (n) => {
    if (!active() || n % 2 === 0) return undefined;
    return n % 4 === 1 ? { status: 429, retryAfter: '0' } : { status: 503 };
  };
}

function promptOf(body: string): string {
  try {
    const req = JSON.parse(body) as { prompt?: unknown; messages?: Array<{ content?: unknown }> };
    return String(req.messages?.[req.messages.length - 1]?.content ?? req.prompt ?? '');
  } catch {
    return '';
  }
}

function answerFor(prompt: string): string {
  const nums = prompt.match(/\d+/g) ?? ['0'];
  return nums[nums.length - 1];
}

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** Starts the fake endpoint on 127.0.0.1 and a free port. */
export async function startFakeOpenAI(opts: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const seen: SeenRequest[] = [];
  let faults = opts.faults;
  let n = 0;
  let inFlight = 0;
  let peak = 0;
  const handle = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    const prompt = promptOf(body);
    inFlight += 1;
    peak = Math.max(peak, inFlight);
    res.once('close', () => void (inFlight -= 1));
    const entry: SeenRequest = { path: req.url ?? '', auth: req.headers.authorization, status: 200, t: Date.now(), prompt, inFlight };
    seen.push(entry);
    if (opts.maxInFlight && inFlight > opts.maxInFlight.limit) {
      entry.status = 429;
      return reply(res, 429, { detail: 'Max parallel request limit reached.' }, { 'retry-after': opts.maxInFlight.retryAfter });
    }
    if (opts.latencyMs) {
      setTimeout(() => answer(req, res, entry, prompt), opts.latencyMs);
      return;
    }
    answer(req, res, entry, prompt);
  };
  const answer = (req: IncomingMessage, res: ServerResponse, entry: SeenRequest, prompt: string): void => {
    if (opts.apiKey !== undefined && req.headers.authorization !== `Bearer ${opts.apiKey}`) {
      entry.status = 401;
      return reply(res, 401, { error: { message: 'invalid api key', type: 'invalid_request_error' } });
    }
    const fault = faults?.(n++);
    if (fault) {
      entry.status = fault.status;
      return reply(res, fault.status, { error: { message: `injected ${fault.status}` } }, fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
    }
    const text = answerFor(prompt);
    const usage = { prompt_tokens: 10, completion_tokens: 1, total_tokens: 11 };
    if (req.url?.endsWith('/completions') && !req.url.endsWith('/chat/completions')) {
      return reply(res, 200, { id: 'c', object: 'text_completion', created: 0, model: 'fake', choices: [{ index: 0, text, finish_reason: 'stop' }], usage });
    }
    return reply(res, 200, {
      id: 'c', object: 'chat.completion', created: 0, model: 'fake',
      choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }], usage,
    });
  };
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => handle(req, res, raw));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    seen,
    peakInFlight: () => peak,
    setFaults: (plan) => void (faults = plan),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
