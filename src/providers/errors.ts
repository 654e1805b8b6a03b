import { ErrorTypes } from '../contracts/errors';

/**
 * A failed model call, as data the activity layer maps onto ApplicationFailure: `type` is an ErrorTypes
 * name, `retryable` says whether retrying can help, `retryAfterMs` is the server's requested wait.
 */
export class ProviderError extends Error {
  override name = 'ProviderError';
  readonly type: string;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  readonly status?: number;
  constructor(message: string, opts: { type?: string; retryable: boolean; retryAfterMs?: number; status?: number; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.retryable = opts.retryable;
    this.type = opts.type ?? (opts.retryable ? ErrorTypes.ProviderRetryable : ErrorTypes.ProviderPermanent);
    if (opts.retryAfterMs !== undefined) this.retryAfterMs = opts.retryAfterMs;
    if (opts.status !== undefined) this.status = opts.status;
  }
}

/** The call was aborted (activity cancelled): not a model failure, and never retried by us. */
export function abortedError(what: string): ProviderError {
  return new ProviderError(`${what} aborted`, { type: ErrorTypes.Canceled, retryable: false });
}

/** HTTP statuses that mean the request itself is wrong: retrying cannot help. */
export const PERMANENT_STATUSES: ReadonlySet<number> = new Set([400, 401, 403, 404, 405, 409, 413, 422]);

/** Whether an HTTP status is worth retrying: 408, 425, 429 and every 5xx. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/**
 * Milliseconds to wait from `retry-after-ms` or `Retry-After` (delta seconds or an HTTP date).
 * Undefined when absent or unparseable; never negative.
 */
export function parseRetryAfter(headers: { get(name: string): string | null } | undefined, now: number = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '' && Number.isFinite(Number(ms))) return Math.max(0, Math.round(Number(ms)));
  const value = headers.get('retry-after');
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
