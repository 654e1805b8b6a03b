/**
 * Delivers one notification over HTTP: POST JSON, retried with exponential backoff (honouring
 * Retry-After), each attempt under its own timeout and all attempts under one total budget. It never
 * throws: the caller gets a result saying what happened, because a notification must not fail a run.
 */

/** How hard to try. Defaults fit "tell people, but never hold up the ending": at most ~10 s in all. */
export interface DeliveryOptions {
  /** Attempts, the first included. */
  attempts?: number;
  /** Timeout of one attempt (connect, send, read the reply). */
  timeoutMs?: number;
  /** Wait before the first retry; doubles each time up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Deadline for everything, retries and waits included. */
  budgetMs?: number;
  /** Injected for tests; default the global fetch. */
  fetch?: typeof fetch;
  /** Injected for tests; default a timer. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** Decides from a reply whether it was accepted (default: any 2xx). */
  accept?: (status: number, body: string) => Verdict;
}

/** How one reply is judged: accepted, or refused and worth retrying or not. */
export interface Verdict {
  ok: boolean;
  retry?: boolean;
  reason?: string;
}

/** What happened to one delivery. */
export interface DeliveryResult {
  ok: boolean;
  attempts: number;
  status?: number;
  error?: string;
  elapsedMs: number;
}

/** Default limits. */
export const DELIVERY_DEFAULTS = { attempts: 4, timeoutMs: 3_000, backoffMs: 250, maxBackoffMs: 2_000, budgetMs: 10_000 } as const;

/** Statuses worth another attempt: timeouts, "too early", rate limits and server errors. */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/** Default judgement: 2xx is accepted; otherwise retry per retryableStatus. */
export function acceptHttp(status: number, body: string): Verdict {
  if (status >= 200 && status < 300) return { ok: true };
  return { ok: false, retry: retryableStatus(status), reason: `HTTP ${status}${body ? `: ${body.slice(0, 200)}` : ''}` };
}

/** Lark answers HTTP 200 with `{code, msg}`; a non-zero code is a refusal (bad token, bad signature, bad body). */
export function acceptLark(status: number, body: string): Verdict {
  const http = acceptHttp(status, body);
  if (!http.ok) return http;
  try {
    const parsed = JSON.parse(body) as { code?: unknown; StatusCode?: unknown; msg?: unknown };
    const code = typeof parsed.code === 'number' ? parsed.code : typeof parsed.StatusCode === 'number' ? parsed.StatusCode : 0;
    return code === 0 ? { ok: true } : { ok: false, retry: false, reason: `lark code ${code}: ${String(parsed.msg ?? '')}` };
  } catch {
    return { ok: true };
  }
}

/** Seconds or an HTTP date in Retry-After, as milliseconds; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const secs = Number(header);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

interface Attempt {
  verdict: Verdict;
  status?: number;
  waitMs?: number;
}

async function attemptOnce(url: string, payload: string, timeoutMs: number, opts: Required<Pick<DeliveryOptions, 'fetch' | 'accept' | 'now'>>): Promise<Attempt> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
  try {
    const res = await opts.fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload, signal: ctl.signal, redirect: 'error' });
    const body = await res.text();
    return { verdict: opts.accept(res.status, body), status: res.status, waitMs: retryAfterMs(res.headers.get('retry-after'), opts.now()) };
  } catch (err) {
    const reason = ctl.signal.aborted ? `timed out after ${timeoutMs} ms` : describeError(err);
    return { verdict: { ok: false, retry: true, reason } };
  } finally {
    clearTimeout(timer);
  }
}

/** A fetch error's message with its cause (Node puts ECONNREFUSED there). */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as Error & { cause?: unknown }).cause;
  const code = cause && typeof cause === 'object' && 'code' in cause ? ` (${String((cause as { code: unknown }).code)})` : '';
  return `${err.message}${code}`;
}

/** POSTs `body` as JSON to `url` until accepted, refused for good, out of attempts or out of budget. */
export async function deliver(url: string, body: unknown, options: DeliveryOptions = {}): Promise<DeliveryResult> {
  const o = { ...DELIVERY_DEFAULTS, ...stripUndefined(options) };
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const io = { fetch: options.fetch ?? fetch, accept: options.accept ?? acceptHttp, now };
  const started = now();
  const left = (): number => o.budgetMs - (now() - started);
  const payload = JSON.stringify(body);
  let last: Attempt = { verdict: { ok: false, reason: 'not attempted' } };
  let attempts = 0;
  let backoff = o.backoffMs;
  while (attempts < o.attempts && left() > 0) {
    attempts += 1;
    last = await attemptOnce(url, payload, Math.max(1, Math.min(o.timeoutMs, left())), io);
    if (last.verdict.ok || last.verdict.retry === false || attempts >= o.attempts) break;
    const wait = Math.min(last.waitMs ?? backoff, o.maxBackoffMs * 4);
    if (wait >= left()) break;
    await sleep(wait);
    backoff = Math.min(backoff * 2, o.maxBackoffMs);
  }
  const result: DeliveryResult = { ok: last.verdict.ok, attempts, elapsedMs: now() - started };
  if (last.status !== undefined) result.status = last.status;
  if (!last.verdict.ok) result.error = last.verdict.reason ?? 'refused';
  return result;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
