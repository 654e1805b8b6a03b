import { ApplicationFailure, Context } from '@temporalio/activity';

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

/** What a failure's details carry, so the workflow that records a failed sample knows the attempts made. */
export interface FailureDetails {
  attempt: number;
}

/** The attempt of the running activity, or undefined outside one. */
function currentAttempt(): number | undefined {
  try {
    return Context.current().info.attempt;
  } catch {
    return undefined;
  }
}

/**
 * Turns a domain error into the failure Temporal's retry policy acts on: permanent ones non-retryable, a
 * Retry-After honoured as the next retry delay. Unclassified errors keep their name as type and stay
 * retryable. Inside an activity the failure carries the attempt it ended (FailureDetails).
 */
export function toFailure(err: unknown): unknown {
  const attempt = currentAttempt();
  const details: FailureDetails[] | undefined = attempt === undefined ? undefined : [{ attempt }];
  if (err instanceof ApplicationFailure) {
    if (!details || (err.details && err.details.length > 0)) return err;
    return ApplicationFailure.create({ message: err.message, type: err.type ?? undefined, nonRetryable: err.nonRetryable ?? undefined, nextRetryDelay: err.nextRetryDelay ?? undefined, details, cause: err.cause });
  }
  if (!isClassified(err)) {
    if (!details || !(err instanceof Error) || err.name === 'CancelledFailure' || err.name === 'AbortError') return err;
    return ApplicationFailure.create({ message: err.message, type: err.name, nonRetryable: false, details, cause: err });
  }
  return ApplicationFailure.create({
    message: err.message,
    type: err.type,
    nonRetryable: !err.retryable,
    nextRetryDelay: err.retryable && err.retryAfterMs ? err.retryAfterMs : undefined,
    details,
  });
}

/** The error type of a failure: an ApplicationFailure's or a classified error's type, else the error's name. */
export function errorTypeOf(err: unknown): string | null {
  if (err instanceof ApplicationFailure) return err.type ?? null;
  if (isClassified(err)) return err.type;
  return err instanceof Error ? err.name : null;
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
