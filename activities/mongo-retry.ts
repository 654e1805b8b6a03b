import { sleep } from '@temporalio/activity';
import { beat } from './heartbeat';

/** Whether a MongoDB error means the server is away for now (restarting, unreachable), not a bad request. */
export function isTransientMongoError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const labels = (err as { errorLabels?: Set<string> | string[] }).errorLabels;
  const hasLabel = labels ? [...labels].includes('RetryableWriteError') || [...labels].includes('TransientTransactionError') : false;
  return hasLabel || /^Mongo(Network|NetworkTimeout|ServerSelection|PoolCleared|TopologyClosed)Error$/.test(err.name);
}

/**
 * Retries a MongoDB write inside the activity while the server is away, heartbeating, instead of failing
 * the activity: a model call's prediction is never thrown away (and paid for again) because storing it
 * hit a database restart. The activity's own timeout still bounds the wait.
 */
export async function untilStored<T>(write: () => Promise<T>, pollMs = 1_000): Promise<T> {
  for (;;) {
    try {
      return await write();
    } catch (err) {
      if (!isTransientMongoError(err)) throw err;
      beat();
      await sleep(pollMs);
    }
  }
}
