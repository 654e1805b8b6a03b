import { Context, CancelledFailure, sleep } from '@temporalio/activity';

/**
 * Heartbeats the current activity; a no-op in a local activity, which has no heartbeat (the SDK's core
 * would log a failed heartbeat for each call). Code shared by activities and local activities calls this.
 */
export function beat(details?: unknown): void {
  const ctx = Context.current();
  if (!ctx.info.isLocal) ctx.heartbeat(details);
}

/**
 * Runs work while heartbeating every second (with `details`, which the next attempt reads back), so a cancel or a lost worker is noticed within seconds
 * (the worker's heartbeat throttle decides how often the server actually hears of it).
 */
export async function withHeartbeat<T>(work: (signal: AbortSignal) => Promise<T>, details?: unknown): Promise<T> {
  const ctx = Context.current();
  const timer = setInterval(() => beat(details), 1_000);
  try {
    beat(details);
    return await work(ctx.cancellationSignal);
  } catch (err) {
    // An abort caused by cancellation must reach the SDK as a cancellation, not as a provider error.
    if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason instanceof CancelledFailure ? ctx.cancellationSignal.reason : new CancelledFailure('cancelled');
    throw err;
  } finally {
    clearInterval(timer);
  }
}

/** Waits, heartbeating, while `blocked()` holds (a paused or cancelling assignment); cancellation ends the wait. */
export async function waitWhile(blocked: () => Promise<boolean>, pollMs = 500): Promise<void> {
  while (await blocked()) {
    beat();
    await sleep(pollMs);
  }
}
