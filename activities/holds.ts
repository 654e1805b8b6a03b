import { HOLD_FLAGS_MAX_AGE_MS } from '../src/contracts';
import type { ActivityDeps } from './deps';
import { holdOf, type Hold } from './infer';

/**
 * The pause and cancel flags of assignments, read at most every HOLD_FLAGS_MAX_AGE_MS per assignment by this
 * process: shared by the shard runners and the local model calls of the process, so a thousand calls in
 * flight cost one read of MongoDB per assignment every half second.
 */
export class HoldCache {
  private readonly entries = new Map<string, { at: number; hold: Promise<Hold> }>();

  constructor(private readonly deps: ActivityDeps) {}

  /** The assignment's flags, at most HOLD_FLAGS_MAX_AGE_MS old; a failed read counts as not held. */
  get(assignmentId: string): Promise<Hold> {
    const hit = this.entries.get(assignmentId);
    if (hit && Date.now() - hit.at < HOLD_FLAGS_MAX_AGE_MS) return hit.hold;
    const hold = holdOf(this.deps, assignmentId).catch(() => ({ paused: false, cancelRequested: false, budgetStopped: false }));
    if (this.entries.size > 256) this.entries.clear();
    this.entries.set(assignmentId, { at: Date.now(), hold });
    return hold;
  }
}

/** Whether the assignment is stopping: a cancel was requested or its budget is spent. */
export function isStopping(hold: Hold): boolean {
  return hold.cancelRequested || hold.budgetStopped;
}

/**
 * Aborts the returned signal when the assignment is seen stopping (checked every HOLD_FLAGS_MAX_AGE_MS) or
 * when `parent` aborts; `stopped()` tells the first from the second. Call `end()` when the work is done.
 */
export function watchHold(holds: HoldCache, assignmentId: string, parent: AbortSignal): { signal: AbortSignal; stopped(): boolean; end(): void } {
  const controller = new AbortController();
  let stopped = false;
  const onParent = (): void => controller.abort(parent.reason);
  parent.addEventListener('abort', onParent, { once: true });
  const timer = setInterval(() => {
    void holds.get(assignmentId).then((hold) => {
      if (!isStopping(hold) || controller.signal.aborted) return;
      stopped = true;
      controller.abort(new Error(`assignment ${assignmentId} is stopping`));
    });
  }, HOLD_FLAGS_MAX_AGE_MS);
  return {
    signal: controller.signal,
    stopped: () => stopped,
    end: () => {
      clearInterval(timer);
      parent.removeEventListener('abort', onParent);
    },
  };
}
