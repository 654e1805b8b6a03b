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
