import { ApplicationFailure } from '@temporalio/activity';

/** An error that says itself whether a retry can help: providers, datasets, scorers and secrets throw these. */
interface ClassifiedError {
  message: string;
  type: string;
  retryable: boolean;
  retryAfterMs?: number;
}

function isClassified(err: unknown): err is ClassifiedError {
  if (!(err instanceof Error)) return false;
  const e = err as Error & Partial<ClassifiedError>;
  return typeof e.type === 'string' && typeof e.retryable === 'boolean';
}

/**
 * Turns a domain error into the failure Temporal's retry policy acts on: permanent ones non-retryable, a
 * Retry-After honoured as the next retry delay. Unclassified errors are rethrown and retried.
 */
export function toFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure || !isClassified(err)) return err;
  return ApplicationFailure.create({
    message: err.message,
    type: err.type,
    nonRetryable: !err.retryable,
    nextRetryDelay: err.retryable && err.retryAfterMs ? err.retryAfterMs : undefined,
  });
}

/** A permanent failure with one of the ErrorTypes names. */
export function permanent(message: string, type: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, type);
}

/** Whether a MongoDB error is a duplicate key (a racing upsert lost, which is fine for idempotent writes). */
export function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;
}

/**
 * Whether another attempt of a failed call can help, and how soon: what Temporal's retry policy would
 * decide for the activity, for code that retries calls itself (the shard runner).
 */
export function retryAdvice(err: unknown, nonRetryableTypes: readonly string[]): { retryable: boolean; afterMs?: number } {
  if (err instanceof ApplicationFailure) return { retryable: !err.nonRetryable && !nonRetryableTypes.includes(err.type ?? ''), afterMs: undefined };
  if (!isClassified(err)) return { retryable: true };
  return { retryable: err.retryable && !nonRetryableTypes.includes(err.type), afterMs: err.retryAfterMs };
}
