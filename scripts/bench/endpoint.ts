/**
 * The bench's model endpoint: an OpenAI-compatible `POST /v1/chat/completions` on loopback that answers
 * every request after a fixed latency, run as a process of its own so its CPU is measured apart. The reply
 * follows the `ChatCompletion` object of openai/openai-node (src/resources/chat/completions/completions.ts):
 * id, object `chat.completion`, created, model, choices[{ index, message { role, content }, finish_reason }],
 * usage { prompt_tokens, completion_tokens, total_tokens }. `GET /stats` answers what the endpoint saw:
 * requests, the first arrival and last answer (ms since the epoch), the peak of requests in flight, and every
 * arrival and answer time (for where a run's window stood empty: `windowLoss`).
 *
 *   node dist/scripts/bench/endpoint.js --latency 1000     (prints `listening <port>`)
 */
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';

/** What the endpoint saw since it started. */
export interface EndpointStats {
  requests: number;
  firstArrival: number;
  lastAnswer: number;
  peakInFlight: number;
  /** Arrival time of each request, in order (ms since the epoch). */
  arrivals: number[];
  /** Answer time of each request, in order. */
  answers: number[];
}

/** Where a window of C calls stood partly empty, as seconds of the whole window lost (slot-ms / C). */
export interface WindowLoss {
  /** From the first arrival until C calls were first in flight. */
  rampMs: number;
  /** Between the window first full and last full. */
  middleMs: number;
  /** From the window last full until the last answer. */
  tailMs: number;
  /** The window was never full: everything idle counts as ramp. */
  neverFull?: boolean;
}

/** Reads the endpoint's arrival and answer times against a window of `window` calls. */
export function windowLoss(stats: Pick<EndpointStats, 'arrivals' | 'answers'>, window: number): WindowLoss {
  const edges = [...stats.arrivals.map((t): [number, number] => [t, 1]), ...stats.answers.map((t): [number, number] => [t, -1])]
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const loss = { rampMs: 0, middleMs: 0, tailMs: 0 };
  if (edges.length === 0) return loss;
  const full = Math.min(window, stats.arrivals.length);
  let open = 0;
  let firstFull = -1;
  let lastFull = -1;
  for (const [t, d] of edges) {
    open += d;
    if (open >= full) {
      if (firstFull < 0) firstFull = t;
      lastFull = t;
    }
  }
  open = 0;
  let prev = edges[0][0];
  for (const [t, d] of edges) {
    const idle = (Math.max(0, full - open) * (t - prev)) / full;
    if (firstFull < 0 || t <= firstFull) loss.rampMs += idle;
    else if (prev >= lastFull) loss.tailMs += idle;
    else loss.middleMs += idle;
    open += d;
    prev = t;
  }
  return { rampMs: Math.round(loss.rampMs), middleMs: Math.round(loss.middleMs), tailMs: Math.round(loss.tailMs), ...(firstFull < 0 ? { neverFull: true } : {}) };
}

function answerOf(body: string): string {
  try {
    const req = JSON.parse(body) as { messages?: Array<{ content?: unknown }> };
    const nums = String(req.messages?.[req.messages.length - 1]?.content ?? '').match(/\d+/g) ?? ['0'];
    return nums[nums.length - 1];
  } catch {
    return '0';
  }
}

function serve(latencyMs: number): void {
  const stats: EndpointStats = { requests: 0, firstArrival: 0, lastAnswer: 0, peakInFlight: 0, arrivals: [], answers: [] };
  let inFlight = 0;
  const completion = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    stats.requests += 1;
    if (stats.firstArrival === 0) stats.firstArrival = Date.now();
    stats.arrivals.push(Date.now());
    inFlight += 1;
    stats.peakInFlight = Math.max(stats.peakInFlight, inFlight);
    setTimeout(() => {
      const text = answerOf(body);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        id: `bench-${stats.requests}`, object: 'chat.completion', created: Math.floor(Date.now() / 1000), model: 'bench',
        choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 12, completion_tokens: 1, total_tokens: 13 },
      }));
      inFlight -= 1;
      stats.lastAnswer = Date.now();
      stats.answers.push(stats.lastAnswer);
    }, latencyMs);
  };
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/stats') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify(stats));
    }
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/chat/completions') return completion(req, res, body);
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}`, type: 'invalid_request_error' } }));
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`));
}

/** A running endpoint process. */
export interface EndpointProc {
  pid: number;
  baseUrl: string;
  stats(): Promise<EndpointStats>;
  stop(): Promise<void>;
}

/** Starts the endpoint as a child process with a fixed latency and waits for its port. */
export async function startEndpoint(latencyMs: number): Promise<EndpointProc> {
  const proc = spawn(process.execPath, [__filename, '--latency', String(latencyMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    proc.once('exit', (code) => reject(new Error(`the bench endpoint exited (${code}) before listening`)));
  });
  const origin = `http://127.0.0.1:${port}`;
  return {
    pid: proc.pid as number,
    baseUrl: `${origin}/v1`,
    stats: async () => (await (await fetch(`${origin}/stats`)).json()) as EndpointStats,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

if (require.main === module) {
  const { values } = parseArgs({ options: { latency: { type: 'string', default: '1000' } } });
  serve(Number(values.latency));
}
